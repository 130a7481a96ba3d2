package tasks

import (
	"container/list"
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"
)

// VersionedRepository is a Repository that also keeps, per user, a version
// that changes in the same transaction as any change to the user's tasks.
type VersionedRepository interface {
	Repository
	TaskListVersion(ctx context.Context, userID string) (int64, error)
}

// ListCache is a Repository that keeps recent listings in memory. Before
// serving one it reads the user's version from the repository, so a listing
// is never stale, even after a write through another replica: the cache
// saves reading and decoding the rows, not the round trip. Writes pass
// through unchanged. It is safe for concurrent use.
type ListCache struct {
	VersionedRepository

	maxBytes int

	mu      sync.Mutex
	held    int // size of all entries, at most maxBytes
	lru     *list.List
	entries map[listKey]*list.Element

	hits, misses atomic.Uint64
}

type listKey struct {
	userID string
	status Status
}

// listEntry is immutable once made.
type listEntry struct {
	key     listKey
	version int64
	tasks   []Task
	json    []byte
}

// NewListCache caches listings of repo in about maxBytes of memory; the least
// recently used listings make room, and a larger listing is not kept.
func NewListCache(repo VersionedRepository, maxBytes int) *ListCache {
	return &ListCache{
		VersionedRepository: repo,
		maxBytes:            maxBytes,
		lru:                 list.New(),
		entries:             map[listKey]*list.Element{},
	}
}

// ListTasks serves the listing from memory when the user's version is the
// one it was read at, and from the repository otherwise.
func (c *ListCache) ListTasks(ctx context.Context, userID string, status Status) ([]Task, error) {
	e, err := c.lookup(ctx, userID, status)
	if err != nil {
		return nil, err
	}
	return slices.Clone(e.tasks), nil // callers may change what they receive
}

// ListTasksJSON is ListTasks encoded by AppendJSONList. The bytes are shared
// and must not be modified.
func (c *ListCache) ListTasksJSON(ctx context.Context, userID string, status Status) ([]byte, error) {
	e, err := c.lookup(ctx, userID, status)
	if err != nil {
		return nil, err
	}
	return e.json, nil
}

// Hits counts listings served from memory.
func (c *ListCache) Hits() uint64 { return c.hits.Load() }

// Misses counts listings read from the repository.
func (c *ListCache) Misses() uint64 { return c.misses.Load() }

func (c *ListCache) lookup(ctx context.Context, userID string, status Status) (*listEntry, error) {
	// The version is read before the rows: rows read afterwards are at least
	// that new, so an entry can be older than the data only under an older
	// version, which no later request will match.
	version, err := c.TaskListVersion(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list cache: %w", err)
	}
	key := listKey{userID, status}
	if e, ok := c.get(key, version); ok {
		c.hits.Add(1)
		return e, nil
	}
	c.misses.Add(1)
	ts, err := c.VersionedRepository.ListTasks(ctx, userID, status)
	if err != nil {
		return nil, err
	}
	e := &listEntry{key: key, version: version, tasks: ts, json: AppendJSONList(nil, ts)}
	c.put(e)
	return e, nil
}

func (c *ListCache) get(key listKey, version int64) (*listEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok || el.Value.(*listEntry).version != version {
		return nil, false
	}
	c.lru.MoveToFront(el)
	return el.Value.(*listEntry), true
}

func (c *ListCache) put(e *listEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[e.key]; ok {
		c.remove(el)
	}
	if e.size() > c.maxBytes {
		return
	}
	for c.held+e.size() > c.maxBytes {
		c.remove(c.lru.Back())
	}
	c.entries[e.key] = c.lru.PushFront(e)
	c.held += e.size()
}

func (c *ListCache) remove(el *list.Element) {
	e := c.lru.Remove(el).(*listEntry)
	delete(c.entries, e.key)
	c.held -= e.size()
}

// size estimates the memory an entry holds: the encoding, about as much again
// for the tasks' strings, their structs, and the entry's own bookkeeping.
func (e *listEntry) size() int {
	return 2*len(e.json) + len(e.tasks)*int(unsafe.Sizeof(Task{})) + entryOverhead
}

// entryOverhead is an entry's size beyond its tasks: the entry, its list
// element, its map slot and the user id.
const entryOverhead = 256
