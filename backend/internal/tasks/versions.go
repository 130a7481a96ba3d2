package tasks

import (
	"context"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// versionReader reads users' list versions for ListCache with one query for
// all the requests that wait at once, instead of a query each: under load
// the database sees a query per batch, not per request. A request joins only
// a batch that has not started, so its version is always read by a query
// that began after the request arrived: as fresh as a read of its own.
type versionReader struct {
	read func(ctx context.Context, userIDs []string) (map[string]int64, error)

	mu      sync.Mutex
	running int           // batches being read
	next    *versionBatch // the batch gathering requests, not started
	queries atomic.Uint64
}

// Bounds of the batches.
const (
	// versionReadsAtOnce is how many batches are read at once: a request
	// arriving while that many run waits for one to end.
	versionReadsAtOnce = 1
	// versionBatchUsers bounds the users of one query.
	versionBatchUsers = 64
	// versionReadTimeout bounds a batch's queries, whoever waits for them.
	versionReadTimeout = 10 * time.Second
)

type versionBatch struct {
	users    map[string]struct{}
	done     chan struct{} // closed once versions and err are set
	versions map[string]int64
	err      error
}

// version is userID's list version, read by a query that started after the call.
func (r *versionReader) version(ctx context.Context, userID string) (int64, error) {
	r.mu.Lock()
	if r.next == nil || len(r.next.users) >= versionBatchUsers {
		r.next = &versionBatch{users: map[string]struct{}{}, done: make(chan struct{})}
	}
	b := r.next
	b.users[userID] = struct{}{}
	start := r.running < versionReadsAtOnce
	if start {
		r.running++
		r.next = nil
	}
	r.mu.Unlock()
	if start {
		go r.run(b) // shared: no one request's deadline may cut it
	}
	select {
	case <-b.done:
		return b.versions[userID], b.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// run reads a batch, then each batch that gathered meanwhile, until none did.
func (r *versionReader) run(b *versionBatch) {
	for b != nil {
		ctx, cancel := context.WithTimeout(context.Background(), versionReadTimeout)
		r.queries.Add(1)
		b.versions, b.err = r.read(ctx, slices.Sorted(maps.Keys(b.users)))
		cancel()
		close(b.done)
		r.mu.Lock()
		b, r.next = r.next, nil
		if b == nil {
			r.running--
		}
		r.mu.Unlock()
	}
}
