package smoke_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/todo-app/todo-app/internal/smoke"
)

func TestSmokeReportsTheFirstFailure(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/health" {
			w.Write([]byte(`{"status":"ok"}`))
			return
		}
		w.WriteHeader(http.StatusOK) // an API that lets anyone in
	}))
	defer srv.Close()
	report := smoke.Run(context.Background(), srv.URL, smoke.Options{})
	err := report.Err()
	if err == nil || !strings.Contains(err.Error(), "refuses a request without a token") || len(report.Steps) != 2 {
		t.Fatalf("report:\n%s\nerr: %v", report, err)
	}
}

// Right after a rollout the Ingress may not route yet: the first check waits
// for the app within Reachable, and gives up with the last answer after it.
func TestSmokeWaitsForTheAppToBeRouted(t *testing.T) {
	for _, tt := range []struct {
		name         string
		notRouted    int32
		reachable    time.Duration
		wantStep     string // the step that fails
		wantErr      string
		wantRequests int32
	}{
		{"routed after two tries", 2, 10 * time.Second, "refuses a request without a token", "", 3},
		{"never routed", 1 << 30, 1500 * time.Millisecond, "frontend health", "not answering after 1.5s: 404 Not Found", 2},
		{"asked once without Reachable", 1 << 30, 0, "frontend health", "not answering after 0s", 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var healthRequests atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/api/health" && healthRequests.Add(1) > tt.notRouted {
					w.Write([]byte(`{"status":"ok"}`))
					return
				}
				if r.URL.Path == "/api/health" {
					http.NotFound(w, r) // what Traefik answers for a host it has no rule for yet
					return
				}
				w.WriteHeader(http.StatusOK)
			}))
			defer srv.Close()
			err := smoke.Run(context.Background(), srv.URL, smoke.Options{Reachable: tt.reachable}).Err()
			if err == nil || !strings.Contains(err.Error(), tt.wantStep) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v; want step %q failing with %q", err, tt.wantStep, tt.wantErr)
			}
			if got := healthRequests.Load(); got != tt.wantRequests {
				t.Fatalf("%d health requests, want %d", got, tt.wantRequests)
			}
		})
	}
}

// Pods that just turned ready are routed a moment later: AwaitServing asks
// each app again while the Ingress answers as a not-yet-routed one does, and
// fails at once on any other answer.
func TestAwaitServingWaitsForBothApps(t *testing.T) {
	for _, tt := range []struct {
		name            string
		backendUnrouted int32
		backendAnswer   int
		limit           time.Duration
		wantErr         string
		wantBackend     int32 // requests to the backend's route
	}{
		{"backend routed after two tries", 2, http.StatusUnauthorized, 10 * time.Second, "", 3},
		{"backend never routed", 1 << 30, http.StatusUnauthorized, 1500 * time.Millisecond, "GET /api/tasks: not answering after 1.5s: 503 Service Unavailable", 2},
		{"backend answers wrongly", 0, http.StatusInternalServerError, time.Minute, "GET /api/tasks: 500 Internal Server Error, want 401", 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var backend atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch {
				case r.URL.Path == "/api/health":
					w.Write([]byte(`{"status":"ok"}`))
				case backend.Add(1) <= tt.backendUnrouted:
					http.Error(w, "no available server", http.StatusServiceUnavailable) // Traefik, endpoints not applied yet
				default:
					w.WriteHeader(tt.backendAnswer)
				}
			}))
			defer srv.Close()
			err := smoke.AwaitServing(t.Context(), srv.URL, smoke.Options{}, tt.limit)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if got := backend.Load(); got != tt.wantBackend {
				t.Fatalf("%d backend requests, want %d", got, tt.wantBackend)
			}
		})
	}
}

// An app that answers, but wrongly, fails at once: waiting would not help.
func TestSmokeHealthFailsAtOnceOnAServerError(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer srv.Close()
	err := smoke.Run(context.Background(), srv.URL, smoke.Options{Reachable: time.Minute}).Err()
	if err == nil || !strings.Contains(err.Error(), "500 Internal Server Error, want 200") || requests.Load() != 1 {
		t.Fatalf("err = %v after %d requests", err, requests.Load())
	}
}

// Through an Ingress reached by address, requests carry the rule's Host, and
// Better Auth must see that host as the Origin.
func TestSmokeSendsTheIngressHost(t *testing.T) {
	var hosts, origins []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hosts = append(hosts, r.Host)
		origins = append(origins, r.Header.Get("Origin"))
		w.WriteHeader(http.StatusTeapot)
	}))
	defer srv.Close()
	smoke.Run(context.Background(), srv.URL, smoke.Options{Host: "todo.local"})
	if len(hosts) == 0 || hosts[0] != "todo.local" || origins[0] != "http://todo.local" {
		t.Fatalf("hosts %v, origins %v; want todo.local and http://todo.local", hosts, origins)
	}
}

// A 429 that says how long to wait (Better Auth allows 3 sign-ups from one
// address in 10 s) is waited out and the request sent again, within a bound;
// the step's report says it waited. Any other 429 fails the step at once.
func TestSmokeWaitsOutARateLimit(t *testing.T) {
	for _, tt := range []struct {
		name        string
		header      string
		value       string
		wantSignUps int32
		wantSteps   int    // sign-up passes: the fake's token step fails next
		wantErr     string // in the sign-up step's error, when it fails
	}{
		{"Better Auth's header", "X-Retry-After", "1", 2, 4, ""},
		{"the standard header", "Retry-After", "1", 2, 4, ""},
		{"a wait past the bound", "X-Retry-After", "3600", 1, 3, "429 Too Many Requests, want 200"},
		{"no wait given", "", "", 1, 3, "429 Too Many Requests, want 200"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var signUps atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case "/api/health":
					w.Write([]byte(`{"status":"ok"}`))
				case "/api/tasks":
					w.WriteHeader(http.StatusUnauthorized)
				case "/api/auth/sign-up/email":
					if body, _ := io.ReadAll(r.Body); !strings.Contains(string(body), `"email"`) {
						t.Errorf("sign-up %d sent %q: the body must be sent again", signUps.Load()+1, body)
					}
					if signUps.Add(1) == 1 {
						if tt.header != "" {
							w.Header().Set(tt.header, tt.value)
						}
						w.WriteHeader(http.StatusTooManyRequests)
						return
					}
					w.Write([]byte(`{}`))
				default:
					w.WriteHeader(http.StatusTeapot)
				}
			}))
			defer srv.Close()
			report := smoke.Run(context.Background(), srv.URL, smoke.Options{})
			if got := signUps.Load(); got != tt.wantSignUps || len(report.Steps) != tt.wantSteps {
				t.Fatalf("%d sign-ups, %d steps; want %d, %d:\n%s", got, len(report.Steps), tt.wantSignUps, tt.wantSteps, report)
			}
			signUp := report.Steps[2]
			if tt.wantErr == "" {
				if signUp.Err != nil || signUp.Duration < time.Second || !strings.Contains(report.String(), "ok (rate limited: waited 1s as the app asked)") {
					t.Fatalf("the sign-up step should pass after waiting 1s and say so:\n%s", report)
				}
				return
			}
			if signUp.Err == nil || !strings.Contains(signUp.Err.Error(), tt.wantErr) || signUp.Note != "" {
				t.Fatalf("the sign-up step should fail with %q and no note:\n%s", tt.wantErr, report)
			}
		})
	}
}
