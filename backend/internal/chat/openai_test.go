package chat_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/todo-app/todo-app/backend/internal/chat"
	"github.com/todo-app/todo-app/backend/internal/tasks"
)

// fakeModel speaks the Chat Completions streaming protocol. When the last
// message is the user's it calls the tool from script; once a tool result
// comes back it answers in text.
type fakeModel struct {
	t        *testing.T
	mu       sync.Mutex
	requests []map[string]any
	tool     string
	args     string
	answer   string
}

func (f *fakeModel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/chat/completions" || r.Header.Get("Authorization") != "Bearer test-key" {
		http.Error(w, `{"error":{"message":"bad request"}}`, http.StatusBadRequest)
		return
	}
	var req map[string]any
	json.NewDecoder(r.Body).Decode(&req)
	f.mu.Lock()
	f.requests = append(f.requests, req)
	f.mu.Unlock()

	msgs := req["messages"].([]any)
	last := msgs[len(msgs)-1].(map[string]any)
	w.Header().Set("Content-Type", "text/event-stream")
	send := func(delta map[string]any, finish any) {
		chunk := map[string]any{"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "fake",
			"choices": []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish}}}
		b, _ := json.Marshal(chunk)
		fmt.Fprintf(w, "data: %s\n\n", b)
		w.(http.Flusher).Flush()
	}
	if last["role"] == "tool" {
		for _, word := range strings.SplitAfter(f.answer, " ") {
			send(map[string]any{"role": "assistant", "content": word}, nil)
		}
		send(map[string]any{}, "stop")
	} else {
		// Arguments arrive in fragments, as real models stream them.
		half := len(f.args) / 2
		send(map[string]any{"role": "assistant", "tool_calls": []any{map[string]any{"index": 0, "id": "call_1",
			"type": "function", "function": map[string]any{"name": f.tool, "arguments": f.args[:half]}}}}, nil)
		send(map[string]any{"tool_calls": []any{map[string]any{"index": 0, "function": map[string]any{"arguments": f.args[half:]}}}}, nil)
		send(map[string]any{}, "tool_calls")
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
}

type recorder struct {
	tokens []string
	calls  []chat.ToolCall
}

func (r *recorder) Token(s string)           { r.tokens = append(r.tokens, s) }
func (r *recorder) ToolCall(c chat.ToolCall) { r.calls = append(r.calls, c) }

func TestOpenAIProviderRunsToolsAndStreams(t *testing.T) {
	model := &fakeModel{t: t, tool: chat.ToolAddTask,
		args: `{"title":"buy milk","user_id":"bob"}`, answer: "Added buy milk to your list."}
	srv := httptest.NewServer(model)
	defer srv.Close()
	provider := chat.NewOpenAI(chat.OpenAIOptions{APIKey: "test-key", BaseURL: srv.URL + "/v1", Model: "fake"})
	e := newEnv(t, provider)

	var rec recorder
	r, err := e.chat.Send(t.Context(), "alice", chat.Request{Message: "add buy milk"}, &rec)
	if err != nil {
		t.Fatal(err)
	}
	if r.Response != model.answer || strings.Join(rec.tokens, "") != model.answer || len(rec.tokens) < 2 {
		t.Fatalf("response %q streamed as %q", r.Response, rec.tokens)
	}
	if len(r.ToolCalls) != 1 || len(rec.calls) != 1 || r.ToolCalls[0].Name != chat.ToolAddTask {
		t.Fatalf("tool calls = %+v (events %+v)", r.ToolCalls, rec.calls)
	}
	// The user id comes from the server, never from the model's arguments.
	if got := e.titles(t, "alice", tasks.StatusAll); len(got) != 1 || got[0] != "buy milk" {
		t.Fatalf("alice's tasks = %v", got)
	}
	if got := e.titles(t, "bob", tasks.StatusAll); len(got) != 0 {
		t.Fatalf("the model's user_id argument reached bob: %v", got)
	}

	// Request 1 offers the five tools; request 2 carries the tool result.
	if len(model.requests) != 2 {
		t.Fatalf("model called %d times, want 2", len(model.requests))
	}
	if tools := model.requests[0]["tools"].([]any); len(tools) != 5 {
		t.Fatalf("offered %d tools, want 5", len(tools))
	}
	second := model.requests[1]["messages"].([]any)
	toolMsg := second[len(second)-1].(map[string]any)
	if toolMsg["role"] != "tool" || toolMsg["tool_call_id"] != "call_1" || !strings.Contains(toolMsg["content"].(string), `"status":"created"`) {
		t.Fatalf("tool result message = %v", toolMsg)
	}

	// The next turn replays the history, tool calls and results included.
	model.tool, model.args, model.answer = chat.ToolListTasks, `{}`, "You have 1 task."
	if _, err := e.chat.Send(t.Context(), "alice", chat.Request{ConversationID: r.ConversationID, Message: "show my tasks"}, nil); err != nil {
		t.Fatal(err)
	}
	var roles []string
	for _, m := range model.requests[2]["messages"].([]any) {
		roles = append(roles, m.(map[string]any)["role"].(string))
	}
	if want := "system,user,assistant,tool,assistant,user"; strings.Join(roles, ",") != want {
		t.Fatalf("replayed roles = %v, want %s", roles, want)
	}
}

func TestOpenAIProviderError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":{"message":"Incorrect API key","type":"invalid_request_error"}}`)
	}))
	defer srv.Close()
	e := newEnv(t, chat.NewOpenAI(chat.OpenAIOptions{APIKey: "wrong", BaseURL: srv.URL, Model: "m"}))
	_, err := e.chat.Send(t.Context(), "u", chat.Request{Message: "hi"}, nil)
	if err == nil || !strings.Contains(err.Error(), "assistant unavailable") {
		t.Fatalf("err = %v", err)
	}
}
