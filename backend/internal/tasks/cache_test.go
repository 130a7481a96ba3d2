package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// versionedRepo holds lists per user and counts the listings it serves.
type versionedRepo struct {
	memRepo
	lists      map[string][]Task
	versions   map[string]int64
	versionErr error
	reads      int
	// duringVersionRead runs while versions are read, as a commit may.
	duringVersionRead func()
}

func newVersionedRepo() *versionedRepo {
	return &versionedRepo{lists: map[string][]Task{}, versions: map[string]int64{}}
}

// write replaces a user's list and bumps the version, as a store's write does.
func (r *versionedRepo) write(userID string, n int) {
	r.lists[userID] = nil
	for i := range n {
		r.lists[userID] = append(r.lists[userID], Task{ID: int64(i + 1), Title: fmt.Sprintf("%s %d", userID, i)})
	}
	r.versions[userID]++
}

func (r *versionedRepo) TaskListVersions(_ context.Context, userIDs []string) (map[string]int64, error) {
	if r.duringVersionRead != nil {
		r.duringVersionRead()
	}
	out := map[string]int64{}
	for _, u := range userIDs {
		out[u] = r.versions[u]
	}
	return out, r.versionErr
}

// CreateTask adds a task and bumps the version, as a store's write does.
func (r *versionedRepo) CreateTask(_ context.Context, userID string, t NewTask) (Task, error) {
	task := Task{ID: int64(len(r.lists[userID]) + 1), Title: t.Title}
	r.lists[userID] = append(r.lists[userID], task)
	r.versions[userID]++
	return task, nil
}

func (r *versionedRepo) ListTasks(_ context.Context, userID string, _ Status) ([]Task, error) {
	r.reads++
	return r.lists[userID], nil
}

// sizeOf is the size of an entry for a listing write(…, n) makes.
func sizeOf(n int) int {
	r := newVersionedRepo()
	r.write("who", n)
	return (&listEntry{tasks: r.lists["who"], document: AppendListDocument(nil, r.lists["who"])}).size()
}

func TestListCache(t *testing.T) {
	const plenty = 1 << 20
	ctx := context.Background()
	list := func(t *testing.T, c *ListCache, userID string, status Status) []Task {
		t.Helper()
		ts, err := c.ListTasks(ctx, userID, status)
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	tests := []struct {
		name     string
		maxBytes int
		// run lists and writes, and returns how many reads it expects to have reached the repository.
		run func(t *testing.T, c *ListCache, r *versionedRepo) int
	}{
		{"an unchanged version is served from memory", plenty, func(t *testing.T, c *ListCache, r *versionedRepo) int {
			r.write("ann", 3)
			for range 5 {
				if got := list(t, c, "ann", StatusAll); len(got) != 3 || got[0].Title != "ann 0" {
					t.Fatalf("listing = %v", got)
				}
			}
			return 1
		}},
		{"a new version is read again", plenty, func(t *testing.T, c *ListCache, r *versionedRepo) int {
			r.write("ann", 3)
			list(t, c, "ann", StatusAll)
			r.write("ann", 4)
			if got := list(t, c, "ann", StatusAll); len(got) != 4 {
				t.Fatalf("after a write: %d tasks, want 4", len(got))
			}
			list(t, c, "ann", StatusAll)
			return 2
		}},
		{"rows newer than their version are not served under the newer version", plenty, func(t *testing.T, c *ListCache, r *versionedRepo) int {
			r.write("ann", 1)
			r.lists["ann"] = append(r.lists["ann"], Task{ID: 2}) // a write lands between the two reads …
			list(t, c, "ann", StatusAll)
			r.versions["ann"]++ // … and its version is seen by the next request
			list(t, c, "ann", StatusAll)
			return 2
		}},
		{"users and statuses have their own entries", plenty, func(t *testing.T, c *ListCache, r *versionedRepo) int {
			r.write("ann", 2)
			r.write("bob", 5)
			for range 2 {
				if got := list(t, c, "bob", StatusAll); len(got) != 5 || got[0].Title != "bob 0" {
					t.Fatalf("bob's listing = %v", got)
				}
				if got := list(t, c, "ann", StatusAll); len(got) != 2 || got[0].Title != "ann 0" {
					t.Fatalf("ann's listing = %v", got)
				}
				list(t, c, "ann", StatusPending)
			}
			return 3
		}},
		{"the least recently used listing makes room", 2*sizeOf(4) + sizeOf(4)/2, func(t *testing.T, c *ListCache, r *versionedRepo) int {
			r.write("ann", 4) // room for two of these
			r.write("bob", 4)
			r.write("cid", 4)
			list(t, c, "ann", StatusAll)
			list(t, c, "bob", StatusAll)
			list(t, c, "ann", StatusAll) // hit: bob is now the oldest
			list(t, c, "cid", StatusAll) // evicts bob
			list(t, c, "ann", StatusAll) // hit
			list(t, c, "bob", StatusAll) // miss
			return 4
		}},
		{"a listing over the budget is not kept", sizeOf(10) - 1, func(t *testing.T, c *ListCache, r *versionedRepo) int {
			r.write("ann", 10)
			list(t, c, "ann", StatusAll)
			list(t, c, "ann", StatusAll)
			return 2
		}},
		{"empty listings count towards the budget", 2*sizeOf(0) + 1, func(t *testing.T, c *ListCache, r *versionedRepo) int {
			for _, u := range []string{"ann", "bob", "cid", "ann"} {
				list(t, c, u, StatusAll)
			}
			return 4
		}},
		{"callers get their own copy", plenty, func(t *testing.T, c *ListCache, r *versionedRepo) int {
			r.write("ann", 2)
			list(t, c, "ann", StatusAll)[0].Title = "changed by a caller"
			if got := list(t, c, "ann", StatusAll); got[0].Title != "ann 0" {
				t.Fatalf("cached listing changed: %q", got[0].Title)
			}
			return 1
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newVersionedRepo()
			c := NewListCache(r, tt.maxBytes)
			want := tt.run(t, c, r)
			if r.reads != want {
				t.Errorf("repository read %d listings, want %d", r.reads, want)
			}
			if c.Misses() != uint64(want) {
				t.Errorf("Misses() = %d, want %d", c.Misses(), want)
			}
			if c.held > c.maxBytes {
				t.Errorf("holds %d bytes, more than its budget of %d", c.held, c.maxBytes)
			}
		})
	}
}

func TestListCacheVersionError(t *testing.T) {
	r := newVersionedRepo()
	r.versionErr = errors.New("connection refused")
	c := NewListCache(r, 1<<20)
	if _, err := c.ListTasks(context.Background(), "ann", StatusAll); !errors.Is(err, r.versionErr) {
		t.Fatalf("err = %v, want the version error", err)
	}
	if r.reads != 0 || c.Hits()+c.Misses() != 0 {
		t.Fatalf("reads %d, hits %d, misses %d after a failed version read", r.reads, c.Hits(), c.Misses())
	}
}

// The listing document is what encoding/json's Encoder writes of
// {"tasks": …}, with or without the cache, hit or miss.
func TestListDocument(t *testing.T) {
	ctx := context.Background()
	r := newVersionedRepo()
	r.write("ann", 3)
	r.lists["ann"][1].Title = `<b>"quoted" & ünïcode</b>`
	encode := func(ts []Task) string {
		var b strings.Builder
		enc := json.NewEncoder(&b)
		if err := enc.Encode(map[string][]Task{"tasks": ts}); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	want, empty := encode(r.lists["ann"]), encode([]Task{})
	for name, svc := range map[string]*Service{
		"uncached": NewService(r),
		"cached":   NewService(NewListCache(r, 1<<20)),
	} {
		for _, call := range []string{"first", "second"} {
			got, err := svc.ListDocument(ctx, "ann", StatusAll, false)
			if err != nil || string(got) != want {
				t.Errorf("%s, %s call: ListDocument = %s, %v\nwant %s", name, call, got, err, want)
			}
		}
		if got, err := svc.ListDocument(ctx, "nobody", StatusAll, false); err != nil || string(got) != empty {
			t.Errorf("%s: ListDocument of no tasks = %s, %v; want %s", name, got, err, empty)
		}
	}
}

// With notifications on, a listing checked once is served with no query
// until a change is told; a write through another replica is seen once its
// notification arrives, at once when the caller asks to revalidate, and
// every listing is checked while the notifications are down.
func TestListCacheTrustsWhatNotificationsKeepCurrent(t *testing.T) {
	ctx := context.Background()
	r := newVersionedRepo()
	r.write("ann", 2)
	c := NewListCache(r, 1<<20)
	titles := func(revalidate bool) int {
		t.Helper()
		doc, err := c.ListTasksDocument(ctx, "ann", StatusAll, revalidate)
		if err != nil {
			t.Fatal(err)
		}
		var got struct{ Tasks []Task }
		if err := json.Unmarshal(doc, &got); err != nil {
			t.Fatal(err)
		}
		return len(got.Tasks)
	}
	queries := func() uint64 { return c.VersionQueries() }

	// Not connected: every listing is checked.
	titles(false)
	titles(false)
	if q := queries(); q != 2 || c.TrustedHits() != 0 {
		t.Fatalf("without notifications: %d queries, %d trusted hits; want 2, 0", q, c.TrustedHits())
	}
	c.Connected(true)
	titles(false) // checked once in this epoch, then trusted
	before := queries()
	for range 5 {
		if n := titles(false); n != 2 {
			t.Fatalf("a trusted listing has %d tasks, want 2", n)
		}
	}
	if queries() != before || c.TrustedHits() != 5 {
		t.Fatalf("trusted listings made %d queries, %d trusted hits; want 0, 5", queries()-before, c.TrustedHits())
	}

	r.write("ann", 3) // another replica's write, its notification not yet here
	if n := titles(true); n != 3 {
		t.Fatalf("revalidated: %d tasks, want 3", n)
	}
	r.write("ann", 4)
	c.Changed("ann") // the notification arrives
	if n := titles(false); n != 4 {
		t.Fatalf("after the notification: %d tasks, want 4", n)
	}

	c.Connected(false)
	r.write("ann", 5)
	if n := titles(false); n != 5 {
		t.Fatalf("notifications down: %d tasks, want 5 (checked)", n)
	}
	c.Connected(true) // back: what was checked before is checked once more
	r.write("ann", 6)
	if n := titles(false); n != 6 {
		t.Fatalf("notifications back: %d tasks, want 6 (checked, not the entry of the last epoch)", n)
	}
}

// A change told while a listing's version is being read may predate the
// rows read after it: that listing is served, but not trusted.
func TestListCacheDoesNotTrustAListingAChangeRacedWith(t *testing.T) {
	ctx := context.Background()
	r := newVersionedRepo()
	r.write("ann", 1)
	c := NewListCache(r, 1<<20)
	c.Connected(true)
	r.duringVersionRead = func() { c.Changed("bob") }
	if _, err := c.ListTasks(ctx, "ann", StatusAll); err != nil {
		t.Fatal(err)
	}
	r.duringVersionRead = nil
	before := c.VersionQueries()
	if _, err := c.ListTasks(ctx, "ann", StatusAll); err != nil {
		t.Fatal(err)
	}
	if c.VersionQueries() == before {
		t.Fatal("a listing read while a change arrived was trusted")
	}
	if _, err := c.ListTasks(ctx, "ann", StatusAll); err != nil || c.TrustedHits() != 1 {
		t.Fatalf("checked again with nothing arriving, it is trusted: %d trusted hits, %v", c.TrustedHits(), err)
	}
}

// A write through the cache drops the user's listings at once, before any
// notification: this replica reads its own writes.
func TestListCacheSeesItsOwnWritesAtOnce(t *testing.T) {
	ctx := context.Background()
	c := NewListCache(newVersionedRepo(), 1<<20)
	c.Connected(true)
	if ts, _ := c.ListTasks(ctx, "ann", StatusAll); len(ts) != 0 {
		t.Fatal(ts)
	}
	if _, err := c.CreateTask(ctx, "ann", NewTask{Title: "one"}); err != nil {
		t.Fatal(err)
	}
	if ts, err := c.ListTasks(ctx, "ann", StatusAll); err != nil || len(ts) != 1 {
		t.Fatalf("after its own write: %v, %v", ts, err)
	}
}
