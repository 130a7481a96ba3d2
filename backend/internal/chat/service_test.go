package chat_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/todo-app/todo-app/backend/internal/chat"
	"github.com/todo-app/todo-app/backend/internal/store"
	"github.com/todo-app/todo-app/backend/internal/tasks"
)

type env struct {
	db    *store.DB
	tasks *tasks.Service
	chat  *chat.Service
}

func newEnv(t *testing.T, a chat.Assistant) env {
	t.Helper()
	db, err := store.Open(t.Context(), "sqlite://"+filepath.Join(t.TempDir(), "chat.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	ts := tasks.NewService(db)
	return env{db, ts, chat.NewService(db, ts, a)}
}

func (e env) send(t *testing.T, user string, conv int64, msg string) chat.Reply {
	t.Helper()
	r, err := e.chat.Send(t.Context(), user, chat.Request{ConversationID: conv, Message: msg}, nil)
	if err != nil {
		t.Fatalf("Send(%q): %v", msg, err)
	}
	return r
}

func (e env) titles(t *testing.T, user string, status tasks.Status) []string {
	t.Helper()
	list, err := e.tasks.List(t.Context(), user, status)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, x := range list {
		out = append(out, x.Title)
	}
	return out
}

func TestLocalAssistantConversation(t *testing.T) {
	e := newEnv(t, chat.Local{})
	r := e.send(t, "alice", 0, "add buy milk")
	if r.ConversationID == 0 || len(r.ToolCalls) != 1 || r.ToolCalls[0].Name != chat.ToolAddTask {
		t.Fatalf("add reply = %+v", r)
	}
	var res map[string]any
	json.Unmarshal(r.ToolCalls[0].Result, &res)
	if res["status"] != "created" || res["title"] != "buy milk" || res["task_id"] == nil {
		t.Fatalf("add_task result = %v", res)
	}
	conv := r.ConversationID
	e.send(t, "alice", conv, "remind me to call mom tomorrow")
	e.send(t, "alice", conv, "add buy milk and eggs")

	r = e.send(t, "alice", conv, "what's pending?")
	if !strings.Contains(r.Response, "3 pending tasks") || !strings.Contains(r.Response, "call mom tomorrow") {
		t.Fatalf("list reply = %q", r.Response)
	}

	// "buy milk" is an exact title, so it wins over "buy milk and eggs".
	r = e.send(t, "alice", conv, "complete buy milk")
	if !strings.Contains(r.Response, "as done") {
		t.Fatalf("complete reply = %q", r.Response)
	}
	if got := e.titles(t, "alice", tasks.StatusCompleted); len(got) != 1 || got[0] != "buy milk" {
		t.Fatalf("completed = %v", got)
	}

	// "buy" matches two tasks: a question, not a guess.
	r = e.send(t, "alice", conv, "delete buy")
	if !strings.Contains(r.Response, "Which one") || !strings.Contains(r.Response, "buy milk and eggs") {
		t.Fatalf("ambiguous delete reply = %q", r.Response)
	}
	if n := len(e.titles(t, "alice", tasks.StatusAll)); n != 3 {
		t.Fatalf("an ambiguous delete removed something: %d tasks left", n)
	}

	r = e.send(t, "alice", conv, "delete the call mom task")
	if !strings.Contains(r.Response, "Deleted") {
		t.Fatalf("delete reply = %q", r.Response)
	}
	list, _ := e.tasks.List(t.Context(), "alice", tasks.StatusAll)
	r = e.send(t, "alice", conv, "rename task "+itoa(list[0].ID)+" to pay rent")
	if got := e.titles(t, "alice", tasks.StatusAll); got[0] != "pay rent" {
		t.Fatalf("after rename: %v (%q)", got, r.Response)
	}
	r = e.send(t, "alice", conv, "tell me a joke")
	if !strings.Contains(r.Response, "add buy milk") {
		t.Fatalf("unknown request should explain what works: %q", r.Response)
	}

	msgs, err := e.chat.Messages(t.Context(), "alice", conv, 100)
	if err != nil || len(msgs) != 18 {
		t.Fatalf("stored %d messages (%v), want 18 (9 turns)", len(msgs), err)
	}
	if msgs[0].Content != "add buy milk" || len(msgs[1].ToolCalls) != 1 {
		t.Fatalf("first turn stored as %+v / %+v", msgs[0], msgs[1])
	}
}

func TestToolsNeverReachAnotherUsersTasks(t *testing.T) {
	e := newEnv(t, chat.Local{})
	secret, _ := e.tasks.Create(t.Context(), "alice", tasks.NewTask{Title: "alice's secret"})
	id := itoa(secret.ID)
	for _, msg := range []string{"mark task " + id + " as done", "delete task " + id,
		"rename task " + id + " to pwned", "complete alice's secret"} {
		r := e.send(t, "bob", 0, msg)
		if strings.Contains(r.Response, "#"+id) {
			t.Errorf("bob's %q reached alice's task: %q", msg, r.Response)
		}
	}
	if r := e.send(t, "bob", 0, "show my tasks"); r.Response != "You have no tasks." {
		t.Errorf("bob's list = %q", r.Response)
	}
	got, err := e.tasks.Get(t.Context(), "alice", secret.ID)
	if err != nil || got != secret {
		t.Fatalf("alice's task after bob's attempts = %+v, %v; want unchanged", got, err)
	}
	// A conversation is private too.
	r := e.send(t, "alice", 0, "hello")
	if _, err := e.chat.Send(t.Context(), "bob", chat.Request{ConversationID: r.ConversationID, Message: "hi"}, nil); !errors.Is(err, chat.ErrConversationNotFound) {
		t.Fatalf("bob writing into alice's conversation: %v", err)
	}
}

func TestSendValidatesMessage(t *testing.T) {
	e := newEnv(t, chat.Local{})
	for _, msg := range []string{"", "   ", strings.Repeat("x", chat.MaxMessageLen+1), "a\x00b"} {
		_, err := e.chat.Send(t.Context(), "u", chat.Request{Message: msg}, nil)
		var ve *tasks.ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("Send(%d chars): %v, want a validation error", len(msg), err)
		}
	}
	if _, err := e.chat.Send(t.Context(), "u", chat.Request{Message: strings.Repeat("é", chat.MaxMessageLen)}, nil); err != nil {
		t.Errorf("a message of exactly %d characters: %v", chat.MaxMessageLen, err)
	}
}

// failing runs one tool and then fails, like a provider dropping mid-reply.
type failing struct{}

func (failing) Respond(ctx context.Context, _ []chat.Message, tools *chat.Toolbox, _ chat.Events) (string, error) {
	if _, err := tools.Call(ctx, chat.ToolAddTask, json.RawMessage(`{"title":"half done"}`)); err != nil {
		return "", err
	}
	return "", errors.New("provider went away")
}

func TestFailedReplyStillRecordsToolCalls(t *testing.T) {
	e := newEnv(t, failing{})
	r, err := e.chat.Send(t.Context(), "u", chat.Request{Message: "add half done"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.ToolCalls) != 1 || !strings.Contains(r.Response, "could not finish") {
		t.Fatalf("reply = %+v", r)
	}
	msgs, _ := e.chat.Messages(t.Context(), "u", r.ConversationID, 10)
	if len(msgs) != 2 || len(msgs[1].ToolCalls) != 1 {
		t.Fatalf("stored = %+v; the tool call that ran must be recorded", msgs)
	}
}

type broken struct{}

func (broken) Respond(context.Context, []chat.Message, *chat.Toolbox, chat.Events) (string, error) {
	return "", errors.New("boom")
}

func TestProviderFailureStoresNothing(t *testing.T) {
	e := newEnv(t, broken{})
	if _, err := e.chat.Send(t.Context(), "u", chat.Request{Message: "hi"}, nil); !errors.Is(err, chat.ErrAssistant) {
		t.Fatalf("err = %v, want ErrAssistant", err)
	}
	if convs, _ := e.chat.Conversations(t.Context(), "u"); len(convs) != 0 {
		t.Fatalf("a failed first message left %d conversations", len(convs))
	}
}

func TestToolboxBadArguments(t *testing.T) {
	e := newEnv(t, chat.Local{})
	// Each case gets a fresh toolbox, so the per-message call limit stays out of the way.
	box := func() *chat.Toolbox {
		var tb *chat.Toolbox
		spy := assistantFunc(func(_ context.Context, b *chat.Toolbox) { tb = b })
		chat.NewService(e.db, e.tasks, spy).Send(t.Context(), "u", chat.Request{Message: "x"}, nil)
		return tb
	}
	tests := []struct{ name, args, wantErr string }{
		{chat.ToolAddTask, `{}`, "title is required"},
		{chat.ToolAddTask, `{"title":"   "}`, "title: is required"},
		{chat.ToolAddTask, `{"title":"` + strings.Repeat("x", 201) + `"}`, "at most 200"},
		{chat.ToolCompleteTask, `{"task_id":"abc"}`, "positive integer"},
		{chat.ToolCompleteTask, `{"task_id":-1}`, "positive integer"},
		{chat.ToolCompleteTask, `{}`, "task_id is required"},
		{chat.ToolDeleteTask, `{"task_id":999}`, "task not found"},
		{chat.ToolUpdateTask, `{"task_id":1}`, "new title or description"},
		{chat.ToolListTasks, `{"status":"someday"}`, "status"},
		{chat.ToolListTasks, `not json`, "JSON object"},
		{"drop_database", `{}`, "unknown tool"},
	}
	for _, tt := range tests {
		call, err := box().Call(t.Context(), tt.name, json.RawMessage(tt.args))
		if err != nil {
			t.Fatalf("%s(%s): %v", tt.name, tt.args, err)
		}
		var res struct{ Error string }
		json.Unmarshal(call.Result, &res)
		if !strings.Contains(res.Error, tt.wantErr) {
			t.Errorf("%s(%s) result = %s, want error containing %q", tt.name, tt.args, call.Result, tt.wantErr)
		}
		if !json.Valid(call.Arguments) {
			t.Errorf("%s: recorded arguments are not JSON: %s", tt.name, call.Arguments)
		}
	}
	// A string task id is accepted, as models send both.
	task, _ := e.tasks.Create(t.Context(), "u", tasks.NewTask{Title: "t"})
	call, _ := box().Call(t.Context(), chat.ToolCompleteTask, json.RawMessage(`{"task_id":"`+itoa(task.ID)+`"}`))
	if !strings.Contains(string(call.Result), `"completed"`) {
		t.Fatalf("complete_task with a string id = %s", call.Result)
	}
}

func TestToolCallLimit(t *testing.T) {
	e := newEnv(t, nil)
	spy := assistantFunc(func(ctx context.Context, tb *chat.Toolbox) {
		for range chat.MaxToolCalls + 5 {
			tb.Call(ctx, chat.ToolAddTask, json.RawMessage(`{"title":"spam"}`))
		}
	})
	chat.NewService(e.db, e.tasks, spy).Send(t.Context(), "u", chat.Request{Message: "x"}, nil)
	if n := len(e.titles(t, "u", tasks.StatusAll)); n != chat.MaxToolCalls {
		t.Fatalf("a runaway model created %d tasks, want at most %d", n, chat.MaxToolCalls)
	}
}

type assistantFunc func(ctx context.Context, tb *chat.Toolbox)

func (f assistantFunc) Respond(ctx context.Context, _ []chat.Message, tb *chat.Toolbox, _ chat.Events) (string, error) {
	f(ctx, tb)
	return "ok", nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
