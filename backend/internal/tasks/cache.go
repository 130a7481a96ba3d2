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
	// TaskListVersions are the versions of the users' lists; a user
	// without one is left out (as if 0).
	TaskListVersions(ctx context.Context, userIDs []string) (map[string]int64, error)
}

// ListCache is a Repository that keeps recent listings in memory. It serves
// a listing two ways:
//
//   - Checked: it reads the user's version from the repository first (one
//     query for all the listings waiting at once), so the listing is never
//     stale, even right after a write through another replica; the cache
//     saves reading and encoding the rows, not the round trip.
//   - Trusted, with no query at all, while something tells it of every
//     change that commits (Changed, Connected: PostgreSQL's notifications,
//     see store.DB.WatchTaskLists): a listing it holds is current until told
//     otherwise. A change through this replica is seen at once (its writes go
//     through the cache); one through another replica as soon as its
//     notification arrives. While the notifications are down, and whenever
//     the caller asks (revalidate: an HTTP request's Cache-Control: no-cache),
//     listings are checked.
//
// Writes pass through to the repository. It is safe for concurrent use.
type ListCache struct {
	VersionedRepository

	maxBytes int
	versions versionReader

	mu      sync.Mutex
	held    int // size of all entries, at most maxBytes
	lru     *list.List
	entries map[listKey]*list.Element
	// connected says the notifications arrive; epoch changes with it, and
	// an entry is trusted only in the epoch it was made in.
	connected bool
	epoch     uint64

	// changes counts the changes heard of: an entry whose version was read
	// while one arrived is not trusted (it may predate that change).
	changes      atomic.Uint64
	hits, misses atomic.Uint64
	trustedHits  atomic.Uint64
}

type listKey struct {
	userID string
	status Status
}

// listEntry is immutable once made, but for trusted (under ListCache.mu).
type listEntry struct {
	key      listKey
	version  int64
	tasks    []Task
	document []byte // AppendListDocument of tasks
	// trusted entries are served without a query while epoch is current.
	trusted bool
	epoch   uint64
}

// NewListCache caches listings of repo in about maxBytes of memory; the least
// recently used listings make room, and a larger listing is not kept.
func NewListCache(repo VersionedRepository, maxBytes int) *ListCache {
	return &ListCache{
		VersionedRepository: repo,
		maxBytes:            maxBytes,
		versions:            versionReader{read: repo.TaskListVersions},
		lru:                 list.New(),
		entries:             map[listKey]*list.Element{},
	}
}

// Changed says a change to userID's tasks committed: their listings are
// dropped.
func (c *ListCache) Changed(userID string) {
	c.changes.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range []Status{StatusAll, StatusPending, StatusCompleted} {
		if el, ok := c.entries[listKey{userID, st}]; ok {
			c.remove(el)
		}
	}
}

// Connected says whether every change will be told through Changed from now
// on (true) or not (false). Listings held are trusted only after it says
// true, and only those checked since.
func (c *ListCache) Connected(connected bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.connected = connected
	c.epoch++
}

// CreateTask creates the task, and drops the user's listings at once.
func (c *ListCache) CreateTask(ctx context.Context, userID string, t NewTask) (Task, error) {
	defer c.Changed(userID)
	return c.VersionedRepository.CreateTask(ctx, userID, t)
}

// UpdateTask changes the task, and drops the user's listings at once.
func (c *ListCache) UpdateTask(ctx context.Context, userID string, id int64, p Patch) (Task, error) {
	defer c.Changed(userID)
	return c.VersionedRepository.UpdateTask(ctx, userID, id, p)
}

// DeleteTask deletes the task, and drops the user's listings at once.
func (c *ListCache) DeleteTask(ctx context.Context, userID string, id int64) error {
	defer c.Changed(userID)
	return c.VersionedRepository.DeleteTask(ctx, userID, id)
}

// ListTasks serves the listing from memory when it is current (see
// ListCache), and from the repository otherwise.
func (c *ListCache) ListTasks(ctx context.Context, userID string, status Status) ([]Task, error) {
	e, err := c.lookup(ctx, userID, status, false)
	if err != nil {
		return nil, err
	}
	return slices.Clone(e.tasks), nil // callers may change what they receive
}

// ListTasksDocument is ListTasks as the API's listing document
// (AppendListDocument); revalidate checks it against the repository whatever
// the notifications say. The bytes are shared and must not be modified.
func (c *ListCache) ListTasksDocument(ctx context.Context, userID string, status Status, revalidate bool) ([]byte, error) {
	e, err := c.lookup(ctx, userID, status, revalidate)
	if err != nil {
		return nil, err
	}
	return e.document, nil
}

// Hits counts listings served from memory.
func (c *ListCache) Hits() uint64 { return c.hits.Load() }

// TrustedHits counts listings served from memory with no query.
func (c *ListCache) TrustedHits() uint64 { return c.trustedHits.Load() }

// Misses counts listings read from the repository.
func (c *ListCache) Misses() uint64 { return c.misses.Load() }

// VersionQueries counts the queries of versions: one for every batch of
// listings that waited at once.
func (c *ListCache) VersionQueries() uint64 { return c.versions.queries.Load() }

func (c *ListCache) lookup(ctx context.Context, userID string, status Status, revalidate bool) (*listEntry, error) {
	key := listKey{userID, status}
	if !revalidate {
		if e, ok := c.getTrusted(key); ok {
			c.hits.Add(1)
			c.trustedHits.Add(1)
			return e, nil
		}
	}
	// Trust what is read now only if no change and no connection event
	// arrives before it is stored.
	c.mu.Lock()
	epoch, trust := c.epoch, c.connected
	c.mu.Unlock()
	changes := c.changes.Load()
	// The version is read before the rows: rows read afterwards are at least
	// that new, so an entry can be older than the data only under an older
	// version, which no later request will match.
	version, err := c.versions.version(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("list cache: %w", err)
	}
	if e, ok := c.get(key, version); ok {
		c.hits.Add(1)
		c.markTrusted(e, trust && c.changes.Load() == changes, epoch)
		return e, nil
	}
	c.misses.Add(1)
	ts, err := c.VersionedRepository.ListTasks(ctx, userID, status)
	if err != nil {
		return nil, err
	}
	e := &listEntry{key: key, version: version, tasks: ts, document: AppendListDocument(nil, ts)}
	c.put(e, trust && c.changes.Load() == changes, epoch)
	return e, nil
}

// getTrusted is the entry of key when it may be served with no query.
func (c *ListCache) getTrusted(key listKey) (*listEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*listEntry)
	if !c.connected || !e.trusted || e.epoch != c.epoch {
		return nil, false
	}
	c.lru.MoveToFront(el)
	return e, true
}

// markTrusted trusts an entry just checked, when nothing happened meanwhile
// (trust) and the epoch is still the one the check began in.
func (c *ListCache) markTrusted(e *listEntry, trust bool, epoch uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if trust && epoch == c.epoch {
		e.trusted, e.epoch = true, epoch
	}
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

func (c *ListCache) put(e *listEntry, trust bool, epoch uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if trust && epoch == c.epoch {
		e.trusted, e.epoch = true, epoch
	}
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
	return 2*len(e.document) + len(e.tasks)*int(unsafe.Sizeof(Task{})) + entryOverhead
}

// entryOverhead is an entry's size beyond its tasks: the entry, its list
// element, its map slot and the user id.
const entryOverhead = 256
