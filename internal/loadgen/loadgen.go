// Package loadgen sends bounded HTTP load and summarises latencies. Every run
// stops by itself: after MaxRequests requests or Duration, whichever is first.
package loadgen

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Config bounds a run.
type Config struct {
	Concurrency int           // parallel workers; at least 1
	Duration    time.Duration // wall-clock bound; required
	MaxRequests int64         // request bound; required
}

// Request builds the n-th request of a run.
type Request func(ctx context.Context, n int64) (*http.Request, error)

// Result summarises a run.
type Result struct {
	Requests  int64
	Failures  int64 // transport errors and responses other than the expected status
	Elapsed   time.Duration
	latencies []time.Duration
}

// Run sends requests with client until a bound is reached or ctx ends. A
// response counts as a failure unless its status is wantStatus.
func Run(ctx context.Context, client *http.Client, cfg Config, wantStatus int, build Request) (Result, error) {
	if cfg.Concurrency < 1 || cfg.Duration <= 0 || cfg.MaxRequests <= 0 {
		return Result{}, fmt.Errorf("loadgen: concurrency, duration and max requests must be positive: %+v", cfg)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	var (
		next     atomic.Int64
		failures atomic.Int64
		mu       sync.Mutex
		all      []time.Duration
		wg       sync.WaitGroup
	)
	start := time.Now()
	for range cfg.Concurrency {
		wg.Go(func() {
			local := make([]time.Duration, 0, 1024)
			for ctx.Err() == nil {
				n := next.Add(1)
				if n > cfg.MaxRequests {
					break
				}
				req, err := build(ctx, n)
				if err != nil {
					failures.Add(1)
					continue
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						failures.Add(1)
						local = append(local, time.Since(t0))
					}
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				local = append(local, time.Since(t0))
				if resp.StatusCode != wantStatus {
					failures.Add(1)
				}
			}
			mu.Lock()
			all = append(all, local...)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(all)
	return Result{Requests: int64(len(all)), Failures: failures.Load(), Elapsed: time.Since(start), latencies: all}, nil
}

// PerSecond is the completed request rate.
func (r Result) PerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// Percentile returns the latency below which p (0-100) percent of requests fell.
func (r Result) Percentile(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	i := int(float64(len(r.latencies)-1) * p / 100)
	return r.latencies[i]
}
