package httpapi

import (
	"context"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/todo-app/todo-app/backend/internal/auth"
	"github.com/todo-app/todo-app/backend/internal/logging"
)

type ctxKey struct{}

// requestInfo is what the middleware learns of a request, for the handlers:
// one context value, set once, that requireAuth completes in place (a
// context and a request copy each per fact cost 2 % of the hot path).
type requestInfo struct {
	id     string
	userID string // the verified token's subject; set by requireAuth
}

func info(ctx context.Context) *requestInfo {
	if i, ok := ctx.Value(ctxKey{}).(*requestInfo); ok {
		return i
	}
	return &requestInfo{}
}

func requestID(ctx context.Context) string { return info(ctx).id }

// userID is the verified token's subject; set by requireAuth.
func userID(ctx context.Context) string { return info(ctx).userID }

// newRequestID is 20 characters of base32: unique enough to find a request
// in the logs, and far cheaper than crypto/rand, which nothing here needs.
func newRequestID() string {
	var b [13]byte
	binary.LittleEndian.PutUint64(b[:8], mrand.Uint64())
	binary.LittleEndian.PutUint32(b[8:12], mrand.Uint32())
	b[12] = byte(mrand.Uint32())
	return requestIDEncoding.EncodeToString(b[:])[:20]
}

var requestIDEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

var standardMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace}

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// statusWriter remembers the status for logs and metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach Flush and deadlines.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe assigns the request id, recovers panics, and logs and measures
// every request. It wraps everything else.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-ID")
		if id == "" || !validRequestID.MatchString(id) {
			id = newRequestID()
		}
		w.Header().Set("X-Request-ID", id)
		ri := &requestInfo{id: id}
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, ri))
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.ErrorContext(r.Context(), "panic", "panic", p, "request_id", id)
				if sw.status == 0 {
					writeError(sw, r, http.StatusInternalServerError, "internal", "internal server error")
				}
			}
			route, method := r.Pattern, r.Method
			if route == "" {
				route = "unmatched"
				if !slices.Contains(standardMethods, method) {
					method = "OTHER" // clients choose methods: the metrics' label sets must stay few
				}
			}
			elapsed := time.Since(start)
			s.metrics.observe(method, route, sw.status, elapsed)
			level := slog.LevelInfo
			if route == "GET /health" || route == "GET /ready" || route == "GET /metrics" {
				level = slog.LevelDebug
			}
			s.requests(level, logging.RequestLine{ID: id, Method: r.Method, Path: r.URL.Path, Route: route,
				Status: sw.status, Bytes: sw.bytes, Duration: elapsed})
		}()
		next.ServeHTTP(sw, r)
	})
}

// cors answers preflights and marks responses for allowed origins.
func (s *Server) cors(next http.Handler) http.Handler {
	if len(s.corsOrigins) == 0 {
		return next
	}
	anyOrigin := slices.Contains(s.corsOrigins, "*")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		w.Header().Add("Vary", "Origin")
		allowed := origin != "" && (anyOrigin || slices.Contains(s.corsOrigins, strings.TrimSuffix(origin, "/")))
		if allowed {
			h := w.Header()
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Expose-Headers", "X-Request-ID, Retry-After")
		}
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			if allowed {
				h := w.Header()
				h.Set("Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE, OPTIONS")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept, X-Request-ID")
				h.Set("Access-Control-Max-Age", "600")
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// requireAuth admits requests with a valid Bearer token and puts its subject
// in the context.
func (s *Server) requireAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="todo-app"`)
			writeError(w, r, http.StatusUnauthorized, "unauthorized", "missing bearer token")
			return
		}
		claims, err := s.verifier.Verify(r.Context(), strings.TrimSpace(token))
		if errors.Is(err, auth.ErrKeysUnavailable) {
			// Not the client's fault: a 401 would tell it to sign in again.
			s.log.WarnContext(r.Context(), "cannot check tokens", "err", err, "request_id", requestID(r.Context()))
			w.Header().Set("Retry-After", "1")
			writeError(w, r, http.StatusServiceUnavailable, "unavailable", "cannot check sign-ins right now; try again in a moment")
			return
		}
		if err != nil {
			s.log.DebugContext(r.Context(), "token refused", "err", err, "request_id", requestID(r.Context()))
			w.Header().Set("WWW-Authenticate", `Bearer realm="todo-app", error="invalid_token"`)
			writeError(w, r, http.StatusUnauthorized, "unauthorized", "invalid or expired token")
			return
		}
		ri, ok := r.Context().Value(ctxKey{}).(*requestInfo)
		if !ok { // not behind observe
			ri = &requestInfo{}
			r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, ri))
		}
		ri.userID = claims.Subject
		next.ServeHTTP(w, r)
	})
}

// limitBody caps request bodies; reading past the cap fails with a
// *http.MaxBytesError that handlers report as 413.
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > s.maxBody {
			writeError(w, r, http.StatusRequestEntityTooLarge, "request_too_large",
				"request body is larger than "+strconv.FormatInt(s.maxBody, 10)+" bytes")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
		next.ServeHTTP(w, r)
	})
}
