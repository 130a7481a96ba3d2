package proof

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/todo-app/todo-app/internal/smoke"
)

// What users do while a proof disturbs the app, each kind counted on its
// own: loading the page (server rendering through Better Auth), asking the
// auth API for the session, reading tasks, writing them (every acknowledged
// write is looked for afterwards) and chatting, each reply streamed to its
// end. The page and the auth API are the frontend's; the rest, the backend's.

// kind is one kind of request, sent by its workers one after another.
type kind struct {
	name    string
	workers int
	// pace is the least time between the starts of a worker's requests: the
	// auth API stays under Better Auth's limiter (a 429 is a failure), chat
	// under the backend's, and writes do not grow the list without bound.
	pace time.Duration
	// send makes one request and checks its answer.
	send func(ctx context.Context) error

	mu                  sync.Mutex
	latencies           []time.Duration
	failures            int
	errs                []string  // the first few failures, to say what they were
	lastErr             string    // and the last, which says what a long window ended on
	firstFail, lastFail time.Time // when the first and the last failed request ended
}

func (k *kind) record(took time.Duration, err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.latencies = append(k.latencies, took)
	if err != nil {
		k.failures++
		now := time.Now()
		if k.firstFail.IsZero() {
			k.firstFail = now
		}
		k.lastFail = now
		if len(k.errs) < 3 {
			k.errs = append(k.errs, err.Error())
		} else {
			k.lastErr = err.Error()
		}
	}
}

// userTraffic runs every kind until finish.
type userTraffic struct {
	kinds   []*kind
	writes  *writeLog
	started time.Time
	stop    chan struct{}  // closed by finish: workers end after their current request
	cancel  func()         // ends requests that outlast finish's grace
	wg      sync.WaitGroup // the workers
}

// startUserTraffic signs up two users (one reads, loads the page and chats;
// one writes, so that reads stay small) and starts their traffic.
func startUserTraffic(ctx context.Context, env Env) (*userTraffic, error) {
	reader, err := signUp(ctx, env)
	if err != nil {
		return nil, fmt.Errorf("sign up: %w", err)
	}
	writer, err := signUp(ctx, env)
	if err != nil {
		return nil, fmt.Errorf("sign up: %w", err)
	}
	writes := &writeLog{session: writer, client: writer.Client()}
	rc := reader.Client()
	t := &userTraffic{writes: writes, stop: make(chan struct{}), kinds: []*kind{
		{name: "page", workers: 1, pace: 200 * time.Millisecond, send: func(ctx context.Context) error {
			body, err := exchange(ctx, rc, reader, http.MethodGet, "/", nil, http.StatusOK)
			if err == nil && !strings.Contains(body, smoke.Name) {
				err = errors.New("GET /: the page does not greet the signed-in user")
			}
			return err
		}},
		{name: "auth", workers: 1, pace: 500 * time.Millisecond, send: func(ctx context.Context) error {
			body, err := exchange(ctx, rc, reader, http.MethodGet, "/api/auth/get-session", nil, http.StatusOK)
			var s struct{ Session *struct{ ID string } }
			if err == nil && (json.Unmarshal([]byte(body), &s) != nil || s.Session == nil || s.Session.ID == "") {
				err = fmt.Errorf("GET /api/auth/get-session: no session in %.80q", body)
			}
			return err
		}},
		{name: "reads", workers: 2, send: func(ctx context.Context) error {
			_, err := exchange(ctx, rc, reader, http.MethodGet, "/api/tasks", nil, http.StatusOK)
			return err
		}},
		{name: "writes", workers: 1, pace: 20 * time.Millisecond, send: writes.next},
		{name: "chat", workers: 1, pace: 2500 * time.Millisecond, send: func(ctx context.Context) error {
			return streamedChat(ctx, rc, reader)
		}},
	}}
	ctx, t.cancel = context.WithCancel(context.WithoutCancel(ctx))
	t.started = time.Now()
	for _, k := range t.kinds {
		for range k.workers {
			t.wg.Go(func() { t.work(ctx, k) })
		}
	}
	return t, nil
}

func (t *userTraffic) work(ctx context.Context, k *kind) {
	for {
		select {
		case <-t.stop:
			return
		default:
		}
		start := time.Now()
		err := k.send(ctx)
		if ctx.Err() != nil {
			return // cut by finish after its grace: neither served nor failed
		}
		k.record(time.Since(start), err)
		select {
		case <-t.stop:
			return
		case <-time.After(k.pace - time.Since(start)):
		}
	}
}

// finishGrace bounds how long finish waits for the requests in flight.
const finishGrace = 30 * time.Second

// finish stops the traffic, letting each request in flight end (within
// finishGrace), and looks for every acknowledged write.
func (t *userTraffic) finish(ctx context.Context) trafficResult {
	close(t.stop)
	done := make(chan struct{})
	go func() { t.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(finishGrace):
		t.cancel()
		<-done
	}
	t.cancel()
	r := trafficResult{ran: time.Since(t.started)}
	for _, k := range t.kinds {
		r.kinds = append(r.kinds, k.result(t.started))
	}
	r.created, r.completed = len(t.writes.created), len(t.writes.completed)
	// Looked for even when ctx ended (Ctrl-C on todoctl load): the figures need it.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	r.lost, r.verifyErr = t.writes.lost(ctx)
	return r
}

// result is what the kind measured, its times from started.
func (k *kind) result(started time.Time) kindResult {
	k.mu.Lock()
	defer k.mu.Unlock()
	slices.Sort(k.latencies)
	kr := kindResult{name: k.name, requests: len(k.latencies), failures: k.failures,
		p50: percentile(k.latencies, 50), p99: percentile(k.latencies, 99), errs: k.errs, lastErr: k.lastErr}
	if k.failures > 0 {
		kr.failedFrom, kr.failedTo = k.firstFail.Sub(started), k.lastFail.Sub(started)
	}
	return kr
}

func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[(len(sorted)-1)*p/100]
}

// trafficResult is what the traffic measured, by kind.
type trafficResult struct {
	kinds              []kindResult
	created, completed int
	lost               int   // acknowledged writes not found afterwards
	verifyErr          error // the writes could not be looked for
	ran                time.Duration
}

type kindResult struct {
	name                 string
	requests, failures   int
	p50, p99             time.Duration
	errs                 []string
	lastErr              string        // "" when errs hold every failure
	failedFrom, failedTo time.Duration // from the traffic's start
}

// requests and failures are the totals over every kind.
func (r trafficResult) totals() (requests, failures int) {
	for _, k := range r.kinds {
		requests += k.requests
		failures += k.failures
	}
	return requests, failures
}

// summary is the traffic's part of a proof's line of figures.
func (r trafficResult) summary() string {
	requests, failures := r.totals()
	return fmt.Sprintf("failed %d of %d requests of %d kinds, writes lost %d of %d", failures, requests, len(r.kinds), r.lost, r.created+r.completed)
}

// lines are a line of figures per kind.
func (r trafficResult) lines() []string {
	var out []string
	for _, k := range r.kinds {
		line := fmt.Sprintf("%-7s failed %d of %d, p50 %s, p99 %s", k.name, k.failures, k.requests,
			k.p50.Round(100*time.Microsecond), k.p99.Round(100*time.Microsecond))
		switch k.name {
		case "writes":
			line += fmt.Sprintf("; %d tasks created and %d completed, acknowledged; lost %d", r.created, r.completed, r.lost)
		case "chat":
			line += "; each reply streamed to its done event"
		}
		if k.failures > 0 {
			line += fmt.Sprintf("; failures from +%s to +%s; first: %s", round(k.failedFrom), round(k.failedTo), strings.Join(k.errs, " | "))
			if k.lastErr != "" {
				line += "; last: " + k.lastErr
			}
		}
		out = append(out, line)
	}
	return out
}

// err says what the traffic shows went wrong: failed requests of any kind,
// a kind that sent none, a lost write.
func (r trafficResult) err(while string) error {
	var problems []string
	for _, k := range r.kinds {
		if k.requests > 0 && k.failures > 0 {
			problems = append(problems, fmt.Sprintf("%s: %d of %d failed %s", k.name, k.failures, k.requests, while))
		}
	}
	return errors.Join(errorOf(problems), r.integrityErr())
}

// integrityErr says what the traffic shows went wrong besides failed
// requests: a kind that sent none, a lost write.
func (r trafficResult) integrityErr() error {
	var problems []string
	for _, k := range r.kinds {
		if k.requests == 0 {
			problems = append(problems, k.name+": no request reached the app")
		}
	}
	if r.verifyErr != nil {
		problems = append(problems, "the writes could not be checked: "+r.verifyErr.Error())
	} else if r.lost > 0 {
		problems = append(problems, fmt.Sprintf("%d acknowledged writes lost", r.lost))
	}
	return errorOf(problems)
}

func errorOf(problems []string) error {
	if len(problems) == 0 {
		return nil
	}
	return errors.New(strings.Join(problems, "; "))
}

// exchange sends a request of s with client and checks its status; it
// returns the body.
func exchange(ctx context.Context, client *http.Client, s *smoke.Session, method, path string, body any, status int) (string, error) {
	var payload []byte
	if body != nil {
		payload, _ = json.Marshal(body)
	}
	req, err := s.NewRequest(ctx, method, path, payload)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return "", fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode != status {
		return "", fmt.Errorf("%s %s: %s, want %d: %.120s", method, path, resp.Status, status, b)
	}
	return string(b), nil
}

// streamedChat asks the assistant for a task, its reply streamed as
// Server-Sent Events, and reads the stream to its done event.
func streamedChat(ctx context.Context, client *http.Client, s *smoke.Session) error {
	payload, _ := json.Marshal(map[string]string{"message": "add a task the proof's chat asked for"})
	req, err := s.NewRequest(ctx, http.MethodPost, "/api/chat", payload)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("POST /api/chat: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("POST /api/chat: %s: %.120s", resp.Status, b)
	}
	lines := bufio.NewScanner(resp.Body)
	for lines.Scan() {
		switch event, _ := strings.CutPrefix(lines.Text(), "event: "); event {
		case "done":
			return nil
		case "error":
			lines.Scan()
			return fmt.Errorf("POST /api/chat: the stream ended in an error: %s", lines.Text())
		}
	}
	return fmt.Errorf("POST /api/chat: the stream ended before its done event: %v", lines.Err())
}

// writeLog creates tasks and completes each one it created, remembering what
// the app acknowledged.
type writeLog struct {
	session   *smoke.Session
	client    *http.Client
	mu        sync.Mutex
	pending   int64 // created, to complete next
	created   []int64
	completed []int64
}

// next creates a task, or completes the one created last.
func (w *writeLog) next(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pending != 0 {
		path := fmt.Sprintf("/api/tasks/%d", w.pending)
		if _, err := exchange(ctx, w.client, w.session, http.MethodPatch, path, map[string]bool{"completed": true}, http.StatusOK); err != nil {
			return err
		}
		w.completed, w.pending = append(w.completed, w.pending), 0
		return nil
	}
	body, err := exchange(ctx, w.client, w.session, http.MethodPost, "/api/tasks",
		map[string]string{"title": fmt.Sprintf("written during a proof, %d", len(w.created)+1)}, http.StatusCreated)
	if err != nil {
		return err
	}
	var task struct{ ID int64 }
	if err := json.Unmarshal([]byte(body), &task); err != nil || task.ID == 0 {
		return fmt.Errorf("POST /api/tasks: no task in %.80q", body)
	}
	w.created, w.pending = append(w.created, task.ID), task.ID
	return nil
}

// lost counts the acknowledged writes the app no longer shows: created tasks
// that are gone, completions that are undone. The listing is asked for again
// if it fails (the app may still be settling).
func (w *writeLog) lost(ctx context.Context) (int, error) {
	var list struct {
		Tasks []struct {
			ID        int64
			Completed bool
		}
	}
	var err error
	for range 5 {
		var body string
		if body, err = exchange(ctx, w.client, w.session, http.MethodGet, "/api/tasks?status=all", nil, http.StatusOK); err == nil {
			err = json.Unmarshal([]byte(body), &list)
		}
		if err == nil {
			break
		}
		time.Sleep(time.Second)
	}
	if err != nil {
		return 0, err
	}
	completed := map[int64]bool{}
	for _, t := range list.Tasks {
		completed[t.ID] = t.Completed
	}
	lost := 0
	for _, id := range w.created {
		if _, ok := completed[id]; !ok {
			lost++
		}
	}
	for _, id := range w.completed {
		if done, ok := completed[id]; ok && !done {
			lost++
		}
	}
	return lost, nil
}

// Load runs users' traffic of every kind against the app for d, or until ctx
// ends, and reports it as the proofs do: what an operator runs from outside
// while disturbing the app their own way (kubectl rollout restart, a node
// drain).
func Load(ctx context.Context, env Env, d time.Duration) Result {
	traffic, err := underTraffic(ctx, env, func(*userTraffic) error {
		select {
		case <-ctx.Done():
		case <-time.After(d):
		}
		return nil
	})
	r := judge(fmt.Sprintf("ran %s", traffic.ran.Round(100*time.Millisecond)), traffic, err, "")
	r.Name = "load"
	return r
}
