package loadgen_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/todo-app/todo-app/internal/loadgen"
)

func get(url string) loadgen.Request {
	return func(ctx context.Context, _ int64) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	}
}

func TestRunStopsAtMaxRequests(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if served.Add(1)%10 == 0 {
			w.WriteHeader(http.StatusTeapot)
		}
	}))
	defer srv.Close()
	res, err := loadgen.Run(t.Context(), srv.Client(), loadgen.Config{Concurrency: 4, Duration: time.Minute, MaxRequests: 200}, 200, get(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 200 || served.Load() != 200 {
		t.Fatalf("requests = %d, served = %d; want 200", res.Requests, served.Load())
	}
	if res.Failures != 20 {
		t.Fatalf("failures = %d, want 20 (every 10th answered 418)", res.Failures)
	}
	if p50, p99 := res.Percentile(50), res.Percentile(99); p50 <= 0 || p99 < p50 {
		t.Fatalf("p50 %v, p99 %v", p50, p99)
	}
}

func TestRunStopsAtDuration(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(5 * time.Millisecond)
	}))
	defer srv.Close()
	start := time.Now()
	res, err := loadgen.Run(t.Context(), srv.Client(), loadgen.Config{Concurrency: 2, Duration: 300 * time.Millisecond, MaxRequests: 1 << 40}, 200, get(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Fatalf("ran %v, want about 300ms", elapsed)
	}
	if res.Requests == 0 || res.Failures != 0 || res.PerSecond() <= 0 {
		t.Fatalf("result = %+v", res)
	}
}

func TestRunCountsTransportErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens any more
	res, _ := loadgen.Run(t.Context(), http.DefaultClient, loadgen.Config{Concurrency: 1, Duration: 5 * time.Second, MaxRequests: 5}, 200, get(url))
	if res.Failures != 5 {
		t.Fatalf("failures = %d, want 5", res.Failures)
	}
}

func TestRunRejectsUnboundedConfig(t *testing.T) {
	for _, cfg := range []loadgen.Config{{Concurrency: 1, Duration: time.Second}, {Concurrency: 1, MaxRequests: 1}, {Duration: time.Second, MaxRequests: 1}} {
		if _, err := loadgen.Run(context.Background(), http.DefaultClient, cfg, 200, get("http://127.0.0.1:1")); err == nil {
			t.Errorf("Run(%+v) accepted an unbounded or empty configuration", cfg)
		}
	}
}
