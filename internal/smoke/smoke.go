// Package smoke checks a running todo-app end to end through its public URL,
// as a user would: health, sign-up through Better Auth, a token, the task API,
// a task added through chat, and a second user who sees none of it.
package smoke

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strconv"
	"strings"
	"time"
)

// Step is one check and how it went.
type Step struct {
	Name     string
	Duration time.Duration
	Err      error
	// Note says what the step's time includes besides the check: a wait the
	// app asked for.
	Note string
}

// Report lists every step run; it stops at the first failure.
type Report struct {
	Steps []Step
}

// Err is the first failure, or nil.
func (r Report) Err() error {
	for _, s := range r.Steps {
		if s.Err != nil {
			return fmt.Errorf("smoke step %q: %w", s.Name, s.Err)
		}
	}
	return nil
}

// String prints one line per step.
func (r Report) String() string {
	var b strings.Builder
	passed := 0
	for _, s := range r.Steps {
		status := "ok"
		if s.Err != nil {
			status = "FAILED: " + s.Err.Error()
		} else {
			passed++
		}
		if s.Note != "" {
			status += " (" + s.Note + ")"
		}
		fmt.Fprintf(&b, "%-38s %8s  %s\n", s.Name, s.Duration.Round(time.Millisecond), status)
	}
	fmt.Fprintf(&b, "%d of %d steps passed\n", passed, len(r.Steps))
	return b.String()
}

// Options tune a run.
type Options struct {
	// Host overrides the Host header (an Ingress rule's host reached by IP).
	Host string
	// Client is the HTTP client; a 15 s timeout client when nil.
	Client *http.Client
	// Reachable is how long the first check of each app (the frontend's
	// health, the backend's refusal without a token) keeps asking while it is
	// not reachable or not routed yet (an Ingress controller still programming
	// a new rule answers 404 or 503); 0 asks once.
	Reachable time.Duration
}

// retryInterval paces the first check while it waits for the app.
const retryInterval = time.Second

// maxRateLimitWait bounds what one request waits in all when the app answers
// 429 with the time to wait: Better Auth lets one address sign up 3 times in
// 10 s, and two smoke runs from one machine (deploy's, then the host's) sign
// up 4 times. A longer wait fails the step with the app's answer.
const maxRateLimitWait = 30 * time.Second

// Run checks the app at baseURL.
func Run(ctx context.Context, baseURL string, o Options) Report {
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 15 * time.Second}
	}
	base := strings.TrimSuffix(baseURL, "/")
	var r Report
	alice, bob := newUser(base, o), newUser(base, o)
	step := func(name string, f func() error) bool {
		start, waited := time.Now(), alice.rateLimited+bob.rateLimited
		err := f()
		s := Step{Name: name, Duration: time.Since(start), Err: err}
		if w := alice.rateLimited + bob.rateLimited - waited; w > 0 {
			s.Note = fmt.Sprintf("rate limited: waited %s as the app asked", w.Round(time.Second))
		}
		r.Steps = append(r.Steps, s)
		return err == nil
	}
	var taskID float64
	_ = step("frontend health", func() error { return alice.awaitFrontend(ctx, o.Reachable) }) &&
		step("API refuses a request without a token", func() error { return alice.awaitBackend(ctx, o.Reachable) }) &&
		step("sign up through Better Auth", func() error { return alice.signUp(ctx) }) &&
		step("get a JWT", func() error { return alice.fetchToken(ctx) }) &&
		step("create a task", func() error {
			var t map[string]any
			err := alice.expect(ctx, "POST", "/api/tasks", map[string]string{"title": "smoke test task"}, 201, &t)
			taskID, _ = t["id"].(float64)
			return err
		}) &&
		step("list tasks", func() error { return alice.expectTitles(ctx, "all", []string{"smoke test task"}) }) &&
		step("complete the task", func() error {
			return alice.expect(ctx, "PATCH", fmt.Sprintf("/api/tasks/%d", int64(taskID)), map[string]bool{"completed": true}, 200, nil)
		}) &&
		step("list completed tasks", func() error { return alice.expectTitles(ctx, "completed", []string{"smoke test task"}) }) &&
		step("delete the task", func() error {
			return alice.expect(ctx, "DELETE", fmt.Sprintf("/api/tasks/%d", int64(taskID)), nil, 204, nil)
		}) &&
		step("add a task through chat", func() error {
			var reply struct {
				ToolCalls []struct{ Name string } `json:"tool_calls"`
			}
			if err := alice.expect(ctx, "POST", "/api/chat", map[string]string{"message": "add buy milk"}, 200, &reply); err != nil {
				return err
			}
			if len(reply.ToolCalls) == 0 || reply.ToolCalls[0].Name != "add_task" {
				return fmt.Errorf("the assistant ran %+v, want add_task", reply.ToolCalls)
			}
			return alice.expectTitles(ctx, "all", []string{"buy milk"})
		}) &&
		step("a second user sees none of it", func() error {
			if err := bob.signUp(ctx); err != nil {
				return err
			}
			if err := bob.fetchToken(ctx); err != nil {
				return err
			}
			return bob.expectTitles(ctx, "all", nil)
		})
	return r
}

type user struct {
	base, email, token string
	o                  Options
	client             *http.Client
	// rateLimited is how long the user's requests waited on 429 answers.
	rateLimited time.Duration
}

func newUser(base string, o Options) *user {
	jar, _ := cookiejar.New(nil)
	c := *o.Client
	c.Jar = jar
	return &user{base: base, email: "smoke-" + strings.ToLower(rand.Text()[:12]) + "@example.com", o: o, client: &c}
}

// do sends a request; on a 429 that says how long to wait, within
// maxRateLimitWait in all, it waits and sends it again (a 429 was not served,
// so sending again is safe whatever the method).
func (u *user) do(ctx context.Context, method, path string, body any) (*http.Response, []byte, error) {
	var payload []byte
	if body != nil {
		payload, _ = json.Marshal(body)
	}
	var waited time.Duration
	for {
		resp, b, err := u.send(ctx, method, path, payload)
		if err != nil || resp.StatusCode != http.StatusTooManyRequests {
			return resp, b, err
		}
		wait, ok := retryAfter(resp.Header)
		if !ok || waited+wait > maxRateLimitWait {
			return resp, b, err
		}
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-time.After(wait):
		}
		waited += wait
		u.rateLimited += wait
	}
}

// retryAfter is the wait a 429 asks for: Better Auth's X-Retry-After or the
// standard Retry-After, in seconds; at least a second, so that a wait that
// rounds to zero does not resend at once.
func retryAfter(h http.Header) (time.Duration, bool) {
	for _, name := range []string{"X-Retry-After", "Retry-After"} {
		if secs, err := strconv.Atoi(strings.TrimSpace(h.Get(name))); err == nil && secs >= 0 {
			return max(time.Duration(secs)*time.Second, time.Second), true
		}
	}
	return 0, false
}

func (u *user) send(ctx context.Context, method, path string, payload []byte) (*http.Response, []byte, error) {
	req, err := u.newRequest(ctx, method, path, payload)
	if err != nil {
		return nil, nil, err
	}
	resp, err := u.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp, b, err
}

// newRequest is a request as the app's page sends it: to the Host the
// Ingress answers for, with the Origin Better Auth expects and, to the
// backend's API, the bearer token (once fetched).
func (u *user) newRequest(ctx context.Context, method, path string, payload []byte) (*http.Request, error) {
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.base+path, rd)
	if err != nil {
		return nil, err
	}
	if u.o.Host != "" {
		req.Host = u.o.Host
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	// Better Auth checks the Origin of state-changing requests against its own
	// URL: the Ingress host when one is addressed by IP, else the base URL.
	req.Header.Set("Origin", u.origin())
	if u.token != "" && strings.HasPrefix(path, "/api/") && !strings.HasPrefix(path, "/api/auth/") {
		req.Header.Set("Authorization", "Bearer "+u.token)
	}
	return req, nil
}

func (u *user) origin() string {
	if u.o.Host == "" {
		return u.base
	}
	scheme, _, _ := strings.Cut(u.base, "://")
	return scheme + "://" + u.o.Host
}

func (u *user) expect(ctx context.Context, method, path string, body any, status int, out any) error {
	resp, b, err := u.do(ctx, method, path, body)
	if err != nil {
		return err
	}
	if resp.StatusCode != status {
		return fmt.Errorf("%s %s: %s, want %d: %s", method, path, resp.Status, status, truncate(b))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
	}
	return nil
}

// awaitAnswer asks for path until it answers want or limit has passed. Only
// what a not-yet-routed app looks like is asked again: connection errors,
// 404 and 502–504 (Traefik's "no available server" while it has not yet
// applied the endpoints of pods that just turned ready).
func (u *user) awaitAnswer(ctx context.Context, path string, want int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		resp, b, err := u.do(ctx, "GET", path, nil)
		if err == nil {
			switch resp.StatusCode {
			case want:
				return nil
			case http.StatusNotFound, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			default:
				return fmt.Errorf("GET %s: %s, want %d: %s", path, resp.Status, want, truncate(b))
			}
		}
		if time.Now().Add(retryInterval).After(deadline) {
			if err == nil {
				err = fmt.Errorf("%s", resp.Status)
			}
			return fmt.Errorf("GET %s: not answering after %s: %w", path, limit.Round(100*time.Millisecond), err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(retryInterval):
		}
	}
}

// awaitFrontend and awaitBackend wait for each app's route: the frontend's
// health, and the backend refusing a request without a token.
func (u *user) awaitFrontend(ctx context.Context, limit time.Duration) error {
	return u.awaitAnswer(ctx, "/api/health", http.StatusOK, limit)
}

func (u *user) awaitBackend(ctx context.Context, limit time.Duration) error {
	return u.awaitAnswer(ctx, "/api/tasks", http.StatusUnauthorized, limit)
}

// AwaitServing waits, within limit, until both apps answer at baseURL. After
// pods are replaced the Ingress controller routes to them a moment after they
// turn ready; a check that starts before would measure that moment, not the app.
func AwaitServing(ctx context.Context, baseURL string, o Options, limit time.Duration) error {
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 15 * time.Second}
	}
	u := newUser(strings.TrimSuffix(baseURL, "/"), o)
	deadline := time.Now().Add(limit)
	if err := u.awaitFrontend(ctx, limit); err != nil {
		return err
	}
	return u.awaitBackend(ctx, max(time.Until(deadline), 0))
}

func (u *user) signUp(ctx context.Context) error {
	return u.expect(ctx, "POST", "/api/auth/sign-up/email",
		map[string]string{"email": u.email, "password": "smoke-" + rand.Text(), "name": Name}, 200, nil)
}

func (u *user) fetchToken(ctx context.Context) error {
	var t struct{ Token string }
	if err := u.expect(ctx, "GET", "/api/auth/token", nil, 200, &t); err != nil {
		return err
	}
	if strings.Count(t.Token, ".") != 2 {
		return errors.New("/api/auth/token returned no JWT")
	}
	u.token = t.Token
	return nil
}

func (u *user) expectTitles(ctx context.Context, status string, want []string) error {
	var list struct {
		Tasks []struct{ Title string }
	}
	if err := u.expect(ctx, "GET", "/api/tasks?status="+status, nil, 200, &list); err != nil {
		return err
	}
	var got []string
	for _, t := range list.Tasks {
		got = append(got, t.Title)
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		return fmt.Errorf("tasks (%s) = %q, want %q", status, got, want)
	}
	return nil
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

// Session is a signed-up user with a token, for checks beyond the smoke test
// (the deploy-time proofs).
type Session struct{ u *user }

// SignUp creates a new user at baseURL and fetches its JWT.
func SignUp(ctx context.Context, baseURL string, o Options) (*Session, error) {
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 15 * time.Second}
	}
	u := newUser(strings.TrimSuffix(baseURL, "/"), o)
	if err := u.signUp(ctx); err != nil {
		return nil, err
	}
	if err := u.fetchToken(ctx); err != nil {
		return nil, err
	}
	return &Session{u}, nil
}

// Token is the session's bearer token.
func (s *Session) Token() string { return s.u.token }

// Expect sends a request and checks its status, decoding the answer into out
// when out is not nil.
func (s *Session) Expect(ctx context.Context, method, path string, body any, status int, out any) error {
	return s.u.expect(ctx, method, path, body, status, out)
}

// Name is the name the session's user signed up with, which the app's page
// greets them by.
const Name = "Smoke Test"

// NewRequest is a request of the session's user (see user.newRequest); its
// cookies (the Better Auth session) come from Client's jar.
func (s *Session) NewRequest(ctx context.Context, method, path string, body []byte) (*http.Request, error) {
	return s.u.newRequest(ctx, method, path, body)
}

// Client sends the session's requests with its cookies; it does not follow
// redirects, so that a page that sends the user to sign in shows as such.
func (s *Session) Client() *http.Client {
	c := *s.u.client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}
