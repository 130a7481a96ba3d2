package httpapi

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/todo-app/todo-app/backend/internal/chat"
)

// streamTimeout bounds one streamed chat reply, beyond the server's WriteTimeout.
const streamTimeout = 3 * time.Minute

type chatRequest struct {
	ConversationID int64  `json:"conversation_id"`
	Message        string `json:"message"`
}

func (s *Server) postChat(w http.ResponseWriter, r *http.Request) {
	user := userID(r.Context())
	if ok, wait := s.limiter.allow(user, time.Now()); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		writeError(w, r, http.StatusTooManyRequests, "rate_limited", "too many chat messages, retry later")
		return
	}
	var req chatRequest
	if err := decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.ConversationID < 0 {
		writeError(w, r, http.StatusBadRequest, "validation_error", "conversation_id: must be positive")
		return
	}
	creq := chat.Request{ConversationID: req.ConversationID, Message: req.Message}
	if strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		s.streamChat(w, r, creq)
		return
	}
	reply, err := s.chat.Send(r.Context(), user, creq, s.countTools())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, reply)
}

// sse writes Server-Sent Events: token, tool_call, then done or error.
// Events written in one burst go out in one write: a flush is scheduled
// flushDelay after the first unflushed event, and what is left when the
// handler returns is written then. A reply that is ready at once (the offline
// assistant's, a tool call's) is one write; a model's tokens go out at most
// flushDelay late.
type sse struct {
	mu      sync.Mutex
	w       http.ResponseWriter
	rc      *http.ResponseController
	started bool
	pending *time.Timer // the flush scheduled for what is unflushed; nil when none
	ended   bool
	tools   chat.Events
}

// flushDelay gathers a burst of events into one write. Besides fewer
// packets, it keeps the answer's first bytes off the wire while a proxy may
// still be sending the request: Traefik (Go's ReverseProxy, golang/go#40747)
// tears down its connection to the backend when the answer starts before its
// transport has finished with the request body, and cuts a streamed reply.
const flushDelay = 50 * time.Millisecond

func (e *sse) send(event string, data any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.started {
		h := e.w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Accel-Buffering", "no") // nginx ingress: do not buffer the stream
		e.w.WriteHeader(http.StatusOK)
		e.started = true
	}
	b, _ := json.Marshal(data)
	fmt.Fprintf(e.w, "event: %s\ndata: %s\n\n", event, b)
	if e.pending == nil && !e.ended {
		e.pending = time.AfterFunc(flushDelay, e.flush)
	}
}

func (e *sse) flush() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ended {
		return
	}
	e.pending = nil
	_ = e.rc.Flush() // a client that went away shows up as a cancelled context
}

// end cancels a scheduled flush: the handler's return writes what is left,
// and the response must not be touched after it.
func (e *sse) end() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ended = true
	if e.pending != nil {
		e.pending.Stop()
		e.pending = nil
	}
}

func (e *sse) Token(text string) { e.send("token", map[string]string{"text": text}) }
func (e *sse) ToolCall(c chat.ToolCall) {
	e.tools.ToolCall(c)
	e.send("tool_call", c)
}

func (s *Server) streamChat(w http.ResponseWriter, r *http.Request, req chat.Request) {
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Now().Add(streamTimeout)) // unsupported only in tests' recorders
	events := &sse{w: w, rc: rc, tools: s.countTools()}
	defer events.end()
	reply, err := s.chat.Send(r.Context(), userID(r.Context()), req, events)
	if err != nil {
		if !events.started { // nothing sent yet: a plain JSON error with its status
			s.fail(w, r, err)
			return
		}
		status, code, msg := classify(err)
		if status >= 500 {
			s.log.ErrorContext(r.Context(), "chat stream failed", "err", err)
		}
		events.send("error", errorBody{apiError{Code: code, Message: msg, RequestID: requestID(r.Context())}})
		return
	}
	events.send("done", reply)
}

// countTools counts tool calls in the metrics.
func (s *Server) countTools() chat.Events { return toolCounter{s.metrics} }

type toolCounter struct{ m *metrics }

func (toolCounter) Token(string)               {}
func (t toolCounter) ToolCall(c chat.ToolCall) { t.m.toolCalls.WithLabelValues(c.Name).Inc() }

func (s *Server) listConversations(w http.ResponseWriter, r *http.Request) {
	list, err := s.chat.Conversations(r.Context(), userID(r.Context()))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"conversations": list})
}

func (s *Server) listMessages(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "conversation")
	if !ok {
		return
	}
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			writeError(w, r, http.StatusBadRequest, "validation_error", "limit: must be between 1 and 500")
			return
		}
		limit = n
	}
	msgs, err := s.chat.Messages(r.Context(), userID(r.Context()), id, limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"conversation_id": id, "messages": msgs})
}

func (s *Server) deleteConversation(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "conversation")
	if !ok {
		return
	}
	if err := s.chat.DeleteConversation(r.Context(), userID(r.Context()), id); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
