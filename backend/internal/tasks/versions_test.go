package tasks

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// gatedReads is a repository's version read that waits for a signal, as a
// slow database would, and counts its queries.
type gatedReads struct {
	mu       sync.Mutex
	versions map[string]int64
	gate     chan struct{} // a read proceeds when it receives from gate; nil: at once
	started  chan []string // each read's users, when not nil
	queries  atomic.Int64
}

func (g *gatedReads) read(ctx context.Context, userIDs []string) (map[string]int64, error) {
	g.queries.Add(1)
	g.mu.Lock()
	// The versions as the read begins: what a query sees.
	out := map[string]int64{}
	for _, u := range userIDs {
		out[u] = g.versions[u]
	}
	g.mu.Unlock()
	if g.started != nil {
		g.started <- userIDs
	}
	if g.gate != nil {
		select {
		case <-g.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return out, nil
}

func (g *gatedReads) set(user string, v int64) {
	g.mu.Lock()
	g.versions[user] = v
	g.mu.Unlock()
}

// Many requests at once: far fewer queries than requests, each request the
// version of its own user.
func TestVersionReaderBatches(t *testing.T) {
	g := &gatedReads{versions: map[string]int64{}, gate: make(chan struct{})}
	for i := range 20 {
		g.set(fmt.Sprint("user", i), int64(100+i))
	}
	r := &versionReader{read: g.read}
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for n := range 200 {
		wg.Go(func() {
			user := fmt.Sprint("user", n%20)
			v, err := r.version(t.Context(), user)
			if err == nil && v != int64(100+n%20) {
				err = fmt.Errorf("%s: version %d, want %d", user, v, 100+n%20)
			}
			errs <- err
		})
	}
	go func() { // let the reads through one by one, slowly
		for {
			select {
			case g.gate <- struct{}{}:
			case <-time.After(5 * time.Second):
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if q := g.queries.Load(); q > 100 {
		t.Errorf("%d queries for 200 requests: the waiting requests were not batched", q)
	}
	t.Logf("%d queries for 200 requests", g.queries.Load())
}

// A request never joins a read already under way: a write acknowledged
// before the request came must be in what it reads.
func TestVersionReaderNeverServesAReadThatStartedBefore(t *testing.T) {
	g := &gatedReads{versions: map[string]int64{"ann": 1}, gate: make(chan struct{}), started: make(chan []string, 10)}
	r := &versionReader{read: g.read}
	// As many reads under way as run at once, all of version 1.
	first := make(chan int64, versionReadsAtOnce)
	for range versionReadsAtOnce {
		go func() { v, _ := r.version(t.Context(), "ann"); first <- v }()
		<-g.started
	}
	// A write commits, then a request comes: it must not take a read's answer
	// that began before.
	g.set("ann", 2)
	second := make(chan int64, 1)
	go func() { v, _ := r.version(t.Context(), "ann"); second <- v }()
	go func() { // let every read end, one at a time
		for range versionReadsAtOnce + 1 {
			g.gate <- struct{}{}
		}
	}()
	for range versionReadsAtOnce {
		if v := <-first; v != 1 {
			t.Fatalf("a read under way gave %d", v)
		}
	}
	if v := <-second; v != 2 {
		t.Fatalf("a request after the write read version %d, want 2", v)
	}
	if q := g.queries.Load(); q != versionReadsAtOnce+1 {
		t.Errorf("%d queries, want %d", q, versionReadsAtOnce+1)
	}
}

func TestVersionReaderErrorsAndCancellation(t *testing.T) {
	failing := &versionReader{read: func(context.Context, []string) (map[string]int64, error) {
		return nil, errors.New("connection refused")
	}}
	if _, err := failing.version(t.Context(), "ann"); err == nil || err.Error() != "connection refused" {
		t.Errorf("a failed read: %v", err)
	}
	g := &gatedReads{versions: map[string]int64{}, gate: make(chan struct{})}
	r := &versionReader{read: g.read}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { _, err := r.version(ctx, "ann"); done <- err }()
	time.Sleep(10 * time.Millisecond)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("a request given up while its batch runs: %v", err)
	}
	close(g.gate) // the batch ends anyway; the next request starts a new one
	if v, err := r.version(t.Context(), "ann"); err != nil || v != 0 {
		t.Errorf("after a cancelled request: %d, %v", v, err)
	}
}
