// Package httpapi is the backend's HTTP interface: routing, middleware and
// small handlers that translate between JSON and the tasks and chat services.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/todo-app/todo-app/backend/internal/auth"
	"github.com/todo-app/todo-app/backend/internal/chat"
	"github.com/todo-app/todo-app/backend/internal/logging"
	"github.com/todo-app/todo-app/backend/internal/tasks"
)

// TokenVerifier checks a Bearer token.
type TokenVerifier interface {
	Verify(ctx context.Context, token string) (auth.Claims, error)
}

// Options are the server's dependencies and knobs.
type Options struct {
	Tasks    *tasks.Service
	Chat     *chat.Service
	Verifier TokenVerifier
	// Ready reports whether the server can take traffic (database reachable, schema current).
	Ready  func(ctx context.Context) error
	Logger *slog.Logger
	// Requests writes the request log's line of each request; through Logger
	// when nil (logging.Log.Request writes the same line, faster).
	Requests func(level slog.Level, line logging.RequestLine)

	ChatRatePerMinute float64
	ChatRateBurst     int
	CORSOrigins       []string
	MaxBodyBytes      int64
	// Collectors join the server's own metrics on /metrics.
	Collectors []prometheus.Collector
}

// Server serves the API.
type Server struct {
	tasks       *tasks.Service
	chat        *chat.Service
	verifier    TokenVerifier
	ready       func(ctx context.Context) error
	log         *slog.Logger
	requests    func(level slog.Level, line logging.RequestLine)
	limiter     *rateLimiter
	metrics     *metrics
	corsOrigins []string
	maxBody     int64
	handler     http.Handler
}

// New builds the server and its routes.
func New(o Options) *Server {
	s := &Server{
		tasks: o.Tasks, chat: o.Chat, verifier: o.Verifier, ready: o.Ready, log: o.Logger, requests: o.Requests,
		limiter: newRateLimiter(o.ChatRatePerMinute, o.ChatRateBurst), metrics: newMetrics(o.Collectors...),
		corsOrigins: o.CORSOrigins, maxBody: o.MaxBodyBytes,
	}
	if s.requests == nil {
		s.requests = func(level slog.Level, l logging.RequestLine) {
			s.log.LogAttrs(context.Background(), level, "request",
				slog.String("request_id", l.ID), slog.String("method", l.Method), slog.String("path", l.Path),
				slog.String("route", l.Route), slog.Int("status", l.Status), slog.Int("bytes", l.Bytes),
				slog.Duration("duration", l.Duration))
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", s.health)
	mux.HandleFunc("GET /ready", s.readiness)
	mux.Handle("GET /metrics", s.metrics.handler())

	api := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, s.requireAuth(s.limitBody(h))) }
	api("GET /api/tasks", s.listTasks)
	api("POST /api/tasks", s.createTask)
	api("GET /api/tasks/{id}", s.getTask)
	api("PATCH /api/tasks/{id}", s.updateTask)
	api("DELETE /api/tasks/{id}", s.deleteTask)
	api("POST /api/chat", s.postChat)
	api("GET /api/conversations", s.listConversations)
	api("GET /api/conversations/{id}/messages", s.listMessages)
	api("DELETE /api/conversations/{id}", s.deleteConversation)

	s.handler = s.observe(s.cors(jsonMuxErrors(mux)))
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// jsonMuxErrors turns the mux's own plain-text 404 and 405 replies into the
// API's JSON errors, keeping their status and Allow header. The mux routes
// each request once: its fallbacks are told apart by the pattern they leave
// empty.
func jsonMuxErrors(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(&fallbackWriter{ResponseWriter: w, r: r}, r)
	})
}

// fallbackWriter replaces the body of the mux's fallback replies (no pattern
// matched) with the API's JSON error; any other reply passes through.
type fallbackWriter struct {
	http.ResponseWriter
	r        *http.Request
	replaced bool
}

func (f *fallbackWriter) WriteHeader(code int) {
	if f.r.Pattern != "" || (code != http.StatusNotFound && code != http.StatusMethodNotAllowed) {
		f.ResponseWriter.WriteHeader(code)
		return
	}
	f.replaced = true
	h := f.Header()
	h.Del("X-Content-Type-Options") // the mux's plain-text reply set it with its own type
	if code == http.StatusMethodNotAllowed {
		writeError(f.ResponseWriter, f.r, code, "method_not_allowed", f.r.Method+" is not allowed here")
		return
	}
	writeError(f.ResponseWriter, f.r, code, "not_found", "no such endpoint")
}

func (f *fallbackWriter) Write(b []byte) (int, error) {
	if f.replaced {
		return len(b), nil // the plain-text body the JSON error replaced
	}
	return f.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush and deadlines.
func (f *fallbackWriter) Unwrap() http.ResponseWriter { return f.ResponseWriter }

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) readiness(w http.ResponseWriter, r *http.Request) {
	if err := s.ready(r.Context()); err != nil {
		s.log.WarnContext(r.Context(), "not ready", "err", err)
		writeError(w, r, http.StatusServiceUnavailable, "not_ready", "not ready: database unavailable or not migrated, or shutting down")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
