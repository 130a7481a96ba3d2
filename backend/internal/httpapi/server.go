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
	limiter     *rateLimiter
	metrics     *metrics
	corsOrigins []string
	maxBody     int64
	handler     http.Handler
}

// New builds the server and its routes.
func New(o Options) *Server {
	s := &Server{
		tasks: o.Tasks, chat: o.Chat, verifier: o.Verifier, ready: o.Ready, log: o.Logger,
		limiter: newRateLimiter(o.ChatRatePerMinute, o.ChatRateBurst), metrics: newMetrics(o.Collectors...),
		corsOrigins: o.CORSOrigins, maxBody: o.MaxBodyBytes,
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
// API's JSON errors, keeping their status and Allow header.
func jsonMuxErrors(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		rec := &captureWriter{header: http.Header{}}
		h.ServeHTTP(rec, r)
		if allow := rec.header.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		switch rec.code {
		case http.StatusMethodNotAllowed:
			writeError(w, r, rec.code, "method_not_allowed", r.Method+" is not allowed here")
		case http.StatusNotFound:
			writeError(w, r, rec.code, "not_found", "no such endpoint")
		default: // redirects, e.g. path cleaning
			if loc := rec.header.Get("Location"); loc != "" {
				w.Header().Set("Location", loc)
			}
			w.WriteHeader(rec.code)
		}
	})
}

// captureWriter keeps the status and headers of the mux's fallback replies;
// their plain-text bodies are replaced.
type captureWriter struct {
	header http.Header
	code   int
}

func (c *captureWriter) Header() http.Header { return c.header }
func (c *captureWriter) Write(b []byte) (int, error) {
	if c.code == 0 {
		c.code = http.StatusOK
	}
	return len(b), nil
}
func (c *captureWriter) WriteHeader(code int) {
	if c.code == 0 {
		c.code = code
	}
}

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
