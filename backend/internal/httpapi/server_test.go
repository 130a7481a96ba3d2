package httpapi_test

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/todo-app/todo-app/backend/internal/auth"
	"github.com/todo-app/todo-app/backend/internal/chat"
	"github.com/todo-app/todo-app/backend/internal/httpapi"
	"github.com/todo-app/todo-app/backend/internal/store"
	"github.com/todo-app/todo-app/backend/internal/tasks"
	"github.com/todo-app/todo-app/backend/testkit/authtest"
	"github.com/todo-app/todo-app/backend/testkit/pgtemp"
)

var (
	cluster *pgtemp.Cluster
	issuer  *authtest.Issuer
)

func TestMain(m *testing.M) {
	var err error
	if cluster, err = pgtemp.Start(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if issuer, err = authtest.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	issuer.Close()
	cluster.Stop()
	os.Exit(code)
}

type api struct {
	t       testing.TB
	url     string
	db      *store.DB
	handler http.Handler
}

type options struct {
	ratePerMinute float64
	burst         int
	maxBody       int64
	cors          []string
	migrate       bool
	jwksURL       string // the issuer's when empty
}

func defaults() options {
	return options{ratePerMinute: 600, burst: 100, maxBody: 64 << 10, migrate: true}
}

func newAPI(t testing.TB, dbURL string, o options) *api {
	t.Helper()
	db, err := store.Open(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if o.migrate {
		if _, err := db.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	ts := tasks.NewService(tasks.NewListCache(db, 1<<20)) // as the server runs by default
	srv := httpapi.New(httpapi.Options{
		Tasks: ts, Chat: chat.NewService(db, ts, chat.Local{}),
		Verifier: auth.NewVerifier(auth.Options{JWKSURL: cmp.Or(o.jwksURL, issuer.JWKSURL), Issuer: issuer.Name, Audience: issuer.Name}),
		Ready:    db.Ready, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		ChatRatePerMinute: o.ratePerMinute, ChatRateBurst: o.burst, CORSOrigins: o.cors, MaxBodyBytes: o.maxBody,
	})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &api{t: t, url: hs.URL, db: db, handler: srv}
}

func pgURL(t testing.TB) string {
	u, err := cluster.NewDatabase(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func sqliteURL(t testing.TB) string { return "sqlite://" + filepath.Join(t.TempDir(), "api.db") }

// forEachStore runs test against the API backed by PostgreSQL and by SQLite.
func forEachStore(t *testing.T, test func(t *testing.T, a *api)) {
	for name, url := range map[string]func(testing.TB) string{"postgres": pgURL, "sqlite": sqliteURL} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			test(t, newAPI(t, url(t), defaults()))
		})
	}
}

func token(t testing.TB, user string) string {
	tok, err := issuer.Token(user, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// errorCode returns the error code of a JSON error body, failing on any other shape.
func (r response) errorCode(t testing.TB) string {
	t.Helper()
	var e struct {
		Error struct{ Code, Message, RequestID string }
	}
	r.json(t, &e)
	if e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("not an API error body: %s", r.body)
	}
	return e.Error.Code
}

func (a *api) do(method, path, user string, body any, headers ...string) response {
	a.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, a.url+path, rd)
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+token(a.t, user))
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, b}
}

func (a *api) createTask(user, title string) tasks.Task {
	a.t.Helper()
	r := a.do("POST", "/api/tasks", user, map[string]string{"title": title})
	if r.status != http.StatusCreated {
		a.t.Fatalf("create %q: %d %s", title, r.status, r.body)
	}
	var task tasks.Task
	r.json(a.t, &task)
	return task
}

func TestHealthReadyMetrics(t *testing.T) {
	a := newAPI(t, pgURL(t), defaults())
	if r := a.do("GET", "/health", "", nil); r.status != 200 || strings.TrimSpace(string(r.body)) != `{"status":"ok"}` {
		t.Fatalf("/health = %d %s", r.status, r.body)
	}
	if r := a.do("GET", "/ready", "", nil); r.status != 200 || strings.TrimSpace(string(r.body)) != `{"status":"ready"}` {
		t.Fatalf("/ready = %d %s", r.status, r.body)
	}
	a.do("GET", "/api/tasks", "u", nil)
	r := a.do("GET", "/metrics", "", nil)
	if r.status != 200 || !strings.Contains(string(r.body), `todo_http_requests_total{method="GET",route="GET /api/tasks",status="200"} 1`) {
		t.Fatalf("/metrics lacks the request counter:\n%s", r.body)
	}
}

func TestNotReadyUntilMigrated(t *testing.T) {
	o := defaults()
	o.migrate = false
	a := newAPI(t, pgURL(t), o)
	if r := a.do("GET", "/ready", "", nil); r.status != 503 || r.errorCode(t) != "not_ready" {
		t.Fatalf("/ready before migrations = %d %s", r.status, r.body)
	}
	if r := a.do("GET", "/health", "", nil); r.status != 200 {
		t.Fatalf("/health must not depend on the database: %d", r.status)
	}
	a.db.Migrate(t.Context())
	if r := a.do("GET", "/ready", "", nil); r.status != 200 {
		t.Fatalf("/ready after migrations = %d %s", r.status, r.body)
	}
}

// routes lists every /api route, with a body where it takes one.
func routes(taskID, convID int64) [][3]any {
	tid, cid := strconv.FormatInt(taskID, 10), strconv.FormatInt(convID, 10)
	return [][3]any{
		{"GET", "/api/tasks", nil},
		{"POST", "/api/tasks", map[string]string{"title": "x"}},
		{"GET", "/api/tasks/" + tid, nil},
		{"PATCH", "/api/tasks/" + tid, map[string]any{"completed": true}},
		{"DELETE", "/api/tasks/" + tid, nil},
		{"POST", "/api/chat", map[string]string{"message": "show my tasks"}},
		{"GET", "/api/conversations", nil},
		{"GET", "/api/conversations/" + cid + "/messages", nil},
		{"DELETE", "/api/conversations/" + cid, nil},
	}
}

func TestEveryAPIRouteNeedsAValidToken(t *testing.T) {
	a := newAPI(t, sqliteURL(t), defaults())
	expired, _ := issuer.Token("u", -time.Hour)
	other, _ := authtest.Start() // a different key: valid-looking, wrong signer
	defer other.Close()
	forged, _ := other.Token("u", time.Hour)
	for _, rt := range routes(1, 1) {
		for name, header := range map[string]string{
			"none": "", "not bearer": "Basic dTpw", "empty bearer": "Bearer ", "garbage": "Bearer x.y.z",
			"expired": "Bearer " + expired, "forged": "Bearer " + forged,
		} {
			var r response
			if header == "" {
				r = a.do(rt[0].(string), rt[1].(string), "", rt[2])
			} else {
				r = a.do(rt[0].(string), rt[1].(string), "", rt[2], "Authorization", header)
			}
			if r.status != 401 || r.errorCode(t) != "unauthorized" || r.header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s %s with %s token: %d %s", rt[0], rt[1], name, r.status, r.body)
			}
		}
	}
}

// A token that cannot be checked because the JWKS is unreachable (the
// frontend's pods gone) is not refused: a 401 would tell the client to sign
// in again. The answer is 503, to be retried.
func TestUnreachableKeysAreUnavailableNotUnauthorized(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close() // nothing listens there any more
	o := defaults()
	o.jwksURL = down.URL + "/api/auth/jwks"
	a := newAPI(t, sqliteURL(t), o)
	for _, rt := range routes(1, 1) {
		r := a.do(rt[0].(string), rt[1].(string), "alice", rt[2])
		if r.status != 503 || r.errorCode(t) != "unavailable" || r.header.Get("Retry-After") == "" || r.header.Get("WWW-Authenticate") != "" {
			t.Errorf("%s %s with the JWKS down: %d %v %s", rt[0], rt[1], r.status, r.header, r.body)
		}
	}
}

func TestTasksAPI(t *testing.T) {
	forEachStore(t, func(t *testing.T, a *api) {
		r := a.do("POST", "/api/tasks", "alice", map[string]string{"title": "  buy milk  ", "description": "2 litres"})
		if r.status != 201 {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		var created map[string]any
		r.json(t, &created)
		for _, k := range []string{"id", "title", "description", "completed", "created_at", "updated_at"} {
			if _, ok := created[k]; !ok {
				t.Errorf("task lacks %q: %s", k, r.body)
			}
		}
		if created["title"] != "buy milk" || created["completed"] != false {
			t.Fatalf("created = %s", r.body)
		}
		if _, err := time.Parse(time.RFC3339, created["created_at"].(string)); err != nil {
			t.Errorf("created_at not RFC 3339: %v", err)
		}
		id := int64(created["id"].(float64))
		if loc := r.header.Get("Location"); loc != "/api/tasks/"+strconv.FormatInt(id, 10) {
			t.Errorf("Location = %q", loc)
		}
		second := a.createTask("alice", "call mom")

		r = a.do("PATCH", fmt.Sprintf("/api/tasks/%d", id), "alice", map[string]any{"completed": true})
		var patched tasks.Task
		r.json(t, &patched)
		if r.status != 200 || !patched.Completed || patched.Title != "buy milk" || patched.Description != "2 litres" {
			t.Fatalf("patch completed: %d %s", r.status, r.body)
		}
		r = a.do("PATCH", fmt.Sprintf("/api/tasks/%d", id), "alice", map[string]any{"title": "buy oat milk", "description": ""})
		r.json(t, &patched)
		if patched.Title != "buy oat milk" || patched.Description != "" || !patched.Completed {
			t.Fatalf("patch title: %s", r.body)
		}

		for status, want := range map[string][]int64{"": {second.ID, id}, "all": {second.ID, id}, "pending": {second.ID}, "completed": {id}} {
			var list struct{ Tasks []tasks.Task }
			r := a.do("GET", "/api/tasks?status="+status, "alice", nil)
			r.json(t, &list)
			var got []int64
			for _, x := range list.Tasks {
				got = append(got, x.ID)
			}
			if r.status != 200 || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("list status=%q: %d %v, want %v", status, r.status, got, want)
			}
		}
		if r := a.do("GET", "/api/tasks?status=later", "alice", nil); r.status != 400 || r.errorCode(t) != "validation_error" {
			t.Errorf("bad status filter: %d %s", r.status, r.body)
		}

		if r := a.do("DELETE", fmt.Sprintf("/api/tasks/%d", id), "alice", nil); r.status != 204 || len(r.body) != 0 {
			t.Fatalf("delete: %d %s", r.status, r.body)
		}
		if r := a.do("GET", fmt.Sprintf("/api/tasks/%d", id), "alice", nil); r.status != 404 || r.errorCode(t) != "not_found" {
			t.Fatalf("get deleted: %d %s", r.status, r.body)
		}
		var empty struct{ Tasks []tasks.Task }
		a.do("GET", "/api/tasks", "nobody", nil).json(t, &empty)
		if empty.Tasks == nil {
			t.Error(`an empty list must be "tasks": [], not null`)
		}
	})
}

func TestBadInput(t *testing.T) {
	a := newAPI(t, sqliteURL(t), defaults())
	task := a.createTask("u", "ok")
	path := fmt.Sprintf("/api/tasks/%d", task.ID)
	tests := []struct {
		method, path string
		body         any
		status       int
		code         string
	}{
		{"POST", "/api/tasks", map[string]string{"title": ""}, 400, "validation_error"},
		{"POST", "/api/tasks", map[string]string{"title": "   "}, 400, "validation_error"},
		{"POST", "/api/tasks", map[string]string{"title": strings.Repeat("é", 201)}, 400, "validation_error"},
		{"POST", "/api/tasks", map[string]string{"title": "ok", "description": strings.Repeat("d", 1001)}, 400, "validation_error"},
		{"POST", "/api/tasks", map[string]string{"title": "nul\x00byte"}, 400, "validation_error"},
		{"POST", "/api/tasks", map[string]any{"title": 5}, 400, "validation_error"},
		{"POST", "/api/tasks", map[string]any{"title": "ok", "user_id": "bob"}, 400, "validation_error"},
		{"POST", "/api/tasks", `{"title":"ok"`, 400, "validation_error"},
		{"POST", "/api/tasks", `{"title":"a"}{"title":"b"}`, 400, "validation_error"},
		{"POST", "/api/tasks", ``, 400, "validation_error"},
		{"POST", "/api/tasks", `[]`, 400, "validation_error"},
		{"PATCH", path, map[string]any{"completed": "yes"}, 400, "validation_error"},
		{"PATCH", path, map[string]any{"title": ""}, 400, "validation_error"},
		{"GET", "/api/tasks/abc", nil, 404, "not_found"},
		{"GET", "/api/tasks/-1", nil, 404, "not_found"},
		{"GET", "/api/tasks/99999999999999999999", nil, 404, "not_found"},
		{"PUT", path, map[string]string{"title": "x"}, 405, "method_not_allowed"},
		{"GET", "/api/nope", nil, 404, "not_found"},
		{"GET", "/nope", nil, 404, "not_found"},
		{"POST", "/api/chat", map[string]string{"message": ""}, 400, "validation_error"},
		{"POST", "/api/chat", map[string]string{"message": strings.Repeat("m", 4001)}, 400, "validation_error"},
		{"POST", "/api/chat", map[string]any{"message": "hi", "conversation_id": -4}, 400, "validation_error"},
		{"GET", "/api/conversations/1/messages?limit=0", nil, 400, "validation_error"},
	}
	for _, tt := range tests {
		r := a.do(tt.method, tt.path, "u", tt.body)
		if r.status != tt.status || r.errorCode(t) != tt.code {
			t.Errorf("%s %s %v: %d %s; want %d %s", tt.method, tt.path, tt.body, r.status, r.body, tt.status, tt.code)
		}
	}
	got, _ := a.db.GetTask(t.Context(), "u", task.ID)
	if got != task {
		t.Fatalf("bad input changed the task: %+v, want %+v", got, task)
	}
}

func TestBodyLimit(t *testing.T) {
	o := defaults()
	o.maxBody = 4096
	a := newAPI(t, sqliteURL(t), o)
	big := `{"title":"` + strings.Repeat("x", 5000) + `"}`
	if r := a.do("POST", "/api/tasks", "u", big); r.status != 413 || r.errorCode(t) != "request_too_large" {
		t.Fatalf("oversized body: %d %s", r.status, r.body)
	}
	// Without Content-Length (chunked), the limit applies while reading.
	req, _ := http.NewRequest("POST", a.url+"/api/tasks", io.MultiReader(strings.NewReader(big)))
	req.ContentLength = -1
	req.Header.Set("Authorization", "Bearer "+token(t, "u"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Fatalf("chunked oversized body: %d", resp.StatusCode)
	}
}

func TestUserIsolationOnEveryRoute(t *testing.T) {
	forEachStore(t, func(t *testing.T, a *api) {
		task := a.createTask("alice", "alice's task")
		var chatReply chat.Reply
		a.do("POST", "/api/chat", "alice", map[string]string{"message": "add alice's secret"}).json(t, &chatReply)
		for _, rt := range routes(task.ID, chatReply.ConversationID) {
			method, path := rt[0].(string), rt[1].(string)
			if path == "/api/tasks" || path == "/api/conversations" {
				continue // collection routes: checked below
			}
			body := rt[2]
			if path == "/api/chat" {
				body = map[string]any{"message": "show my tasks", "conversation_id": chatReply.ConversationID}
			}
			if r := a.do(method, path, "bob", body); r.status != 404 {
				t.Errorf("bob %s %s: %d %s; want 404", method, path, r.status, r.body)
			}
		}
		var list struct{ Tasks []tasks.Task }
		a.do("GET", "/api/tasks", "bob", nil).json(t, &list)
		var convs struct{ Conversations []chat.Conversation }
		a.do("GET", "/api/conversations", "bob", nil).json(t, &convs)
		if len(list.Tasks) != 0 || len(convs.Conversations) != 0 {
			t.Errorf("bob sees %d tasks and %d conversations of alice", len(list.Tasks), len(convs.Conversations))
		}
		// Bob's chat cannot reach alice's tasks either.
		var reply chat.Reply
		a.do("POST", "/api/chat", "bob", map[string]string{"message": fmt.Sprintf("delete task %d", task.ID)}).json(t, &reply)
		got, err := a.db.GetTask(t.Context(), "alice", task.ID)
		if err != nil || got != task {
			t.Fatalf("alice's task after bob: %+v %v", got, err)
		}
		a.do("GET", "/api/tasks", "alice", nil).json(t, &list)
		if len(list.Tasks) != 2 {
			t.Fatalf("alice has %d tasks, want 2", len(list.Tasks))
		}
	})
}

func TestChatAPI(t *testing.T) {
	forEachStore(t, func(t *testing.T, a *api) {
		r := a.do("POST", "/api/chat", "alice", map[string]string{"message": "add buy milk"})
		var reply struct {
			ConversationID int64 `json:"conversation_id"`
			Response       string
			ToolCalls      []struct {
				Name      string
				Arguments map[string]any
				Result    map[string]any
			} `json:"tool_calls"`
		}
		r.json(t, &reply)
		if r.status != 200 || reply.ConversationID == 0 || len(reply.ToolCalls) != 1 ||
			reply.ToolCalls[0].Name != "add_task" || reply.ToolCalls[0].Arguments["title"] != "buy milk" ||
			reply.ToolCalls[0].Result["status"] != "created" {
			t.Fatalf("chat reply: %d %s", r.status, r.body)
		}
		var list struct{ Tasks []tasks.Task }
		a.do("GET", "/api/tasks", "alice", nil).json(t, &list)
		if len(list.Tasks) != 1 || list.Tasks[0].Title != "buy milk" {
			t.Fatalf("tasks after chat: %+v", list.Tasks)
		}
		r = a.do("POST", "/api/chat", "alice", map[string]any{"message": "mark buy milk done", "conversation_id": reply.ConversationID})
		if r.status != 200 || !strings.Contains(string(r.body), `"status":"completed"`) {
			t.Fatalf("complete via chat: %d %s", r.status, r.body)
		}

		var convs struct{ Conversations []chat.Conversation }
		a.do("GET", "/api/conversations", "alice", nil).json(t, &convs)
		if len(convs.Conversations) != 1 || convs.Conversations[0].Title != "add buy milk" {
			t.Fatalf("conversations: %+v", convs)
		}
		var msgs struct{ Messages []chat.Message }
		path := fmt.Sprintf("/api/conversations/%d/messages", reply.ConversationID)
		a.do("GET", path, "alice", nil).json(t, &msgs)
		if len(msgs.Messages) != 4 || msgs.Messages[0].Content != "add buy milk" || len(msgs.Messages[1].ToolCalls) != 1 {
			t.Fatalf("messages: %+v", msgs.Messages)
		}
		if r := a.do("DELETE", fmt.Sprintf("/api/conversations/%d", reply.ConversationID), "alice", nil); r.status != 204 {
			t.Fatalf("delete conversation: %d", r.status)
		}
		if r := a.do("GET", path, "alice", nil); r.status != 404 {
			t.Fatalf("messages of a deleted conversation: %d", r.status)
		}
		if r := a.do("POST", "/api/chat", "alice", map[string]any{"message": "hi", "conversation_id": 999999}); r.status != 404 {
			t.Fatalf("chat into a missing conversation: %d", r.status)
		}
	})
}

func TestChatStreaming(t *testing.T) {
	a := newAPI(t, sqliteURL(t), defaults())
	req, _ := http.NewRequest("POST", a.url+"/api/chat", strings.NewReader(`{"message":"add buy milk"}`))
	req.Header.Set("Authorization", "Bearer "+token(t, "alice"))
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("status %d, content type %q", resp.StatusCode, ct)
	}
	var events []string
	var tokens strings.Builder
	var done chat.Reply
	sc := bufio.NewScanner(resp.Body)
	var event string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
			events = append(events, event)
		case strings.HasPrefix(line, "data: "):
			data := []byte(strings.TrimPrefix(line, "data: "))
			switch event {
			case "token":
				var tok struct{ Text string }
				json.Unmarshal(data, &tok)
				tokens.WriteString(tok.Text)
			case "done":
				json.Unmarshal(data, &done)
			}
		}
	}
	if events[0] != "tool_call" || events[len(events)-1] != "done" || len(events) < 4 {
		t.Fatalf("events = %v; want tool_call, tokens…, done", events)
	}
	if tokens.String() != done.Response || done.ConversationID == 0 || len(done.ToolCalls) != 1 {
		t.Fatalf("streamed %q, done = %+v", tokens.String(), done)
	}
}

func TestChatRateLimit(t *testing.T) {
	o := defaults()
	o.ratePerMinute, o.burst = 1, 2
	a := newAPI(t, sqliteURL(t), o)
	for i := range 2 {
		if r := a.do("POST", "/api/chat", "alice", map[string]string{"message": "help"}); r.status != 200 {
			t.Fatalf("message %d within the burst: %d", i+1, r.status)
		}
	}
	r := a.do("POST", "/api/chat", "alice", map[string]string{"message": "help"})
	if r.status != 429 || r.errorCode(t) != "rate_limited" {
		t.Fatalf("over the limit: %d %s", r.status, r.body)
	}
	if secs, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || secs < 1 || secs > 60 {
		t.Fatalf("Retry-After = %q", r.header.Get("Retry-After"))
	}
	if r := a.do("POST", "/api/chat", "bob", map[string]string{"message": "help"}); r.status != 200 {
		t.Fatalf("the limit is per user, but bob got %d", r.status)
	}
	if r := a.do("GET", "/api/tasks", "alice", nil); r.status != 200 {
		t.Fatalf("the limit is for chat only, but tasks got %d", r.status)
	}
}

func TestRequestIDAndCORS(t *testing.T) {
	o := defaults()
	o.cors = []string{"http://localhost:3000"}
	a := newAPI(t, sqliteURL(t), o)
	r := a.do("GET", "/api/tasks", "u", nil, "X-Request-ID", "trace-abc-123")
	if r.header.Get("X-Request-ID") != "trace-abc-123" {
		t.Errorf("incoming request id not kept: %q", r.header.Get("X-Request-ID"))
	}
	r = a.do("GET", "/api/tasks", "u", nil, "X-Request-ID", "bad id with spaces")
	if id := r.header.Get("X-Request-ID"); id == "" || strings.Contains(id, " ") {
		t.Errorf("unsafe request id echoed: %q", id)
	}
	r = a.do("GET", "/api/nope", "u", nil)
	var e struct {
		Error struct {
			RequestID string `json:"request_id"`
		}
	}
	r.json(t, &e)
	if e.Error.RequestID == "" || e.Error.RequestID != r.header.Get("X-Request-ID") {
		t.Errorf("error body request id %q, header %q", e.Error.RequestID, r.header.Get("X-Request-ID"))
	}

	pre := a.do("OPTIONS", "/api/tasks", "", nil, "Origin", "http://localhost:3000", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "authorization,content-type")
	if pre.status != 204 || pre.header.Get("Access-Control-Allow-Origin") != "http://localhost:3000" ||
		!strings.Contains(pre.header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("preflight: %d %v", pre.status, pre.header)
	}
	evil := a.do("OPTIONS", "/api/tasks", "", nil, "Origin", "https://evil.example", "Access-Control-Request-Method", "POST")
	if evil.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("a foreign origin was allowed: %v", evil.header)
	}
}

// FuzzCreateTask sends arbitrary bodies: the API answers 201 or a 4xx JSON
// error, never 5xx, and what it stores is what it returned.
func FuzzCreateTask(f *testing.F) {
	for _, s := range []string{`{"title":"buy milk"}`, `{"title":"a","description":"b"}`, `{"title":""}`,
		`{"title":"x","completed":true}`, `null`, `{"title":"\u0000"}`, `{"title":"` + strings.Repeat("é", 200) + `"}`, `{`} {
		f.Add(s)
	}
	a := newAPI(f, sqliteURL(f), defaults())
	f.Fuzz(func(t *testing.T, body string) {
		a.t = t
		r := a.do("POST", "/api/tasks", "fuzz", body)
		switch {
		case r.status == 201:
			var task tasks.Task
			r.json(t, &task)
			stored, err := a.db.GetTask(context.Background(), "fuzz", task.ID)
			if err != nil || stored != task {
				t.Fatalf("returned %+v, stored %+v (%v)", task, stored, err)
			}
		case r.status >= 400 && r.status < 500:
			r.errorCode(t)
		default:
			t.Fatalf("body %q: status %d %s", body, r.status, r.body)
		}
	})
}
