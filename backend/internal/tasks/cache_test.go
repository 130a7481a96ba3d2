package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
)

// versionedRepo holds lists per user and counts the listings it serves.
type versionedRepo struct {
	memRepo
	lists      map[string][]Task
	versions   map[string]int64
	versionErr error
	reads      int
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

func (r *versionedRepo) TaskListVersion(_ context.Context, userID string) (int64, error) {
	return r.versions[userID], r.versionErr
}

func (r *versionedRepo) ListTasks(_ context.Context, userID string, _ Status) ([]Task, error) {
	r.reads++
	return r.lists[userID], nil
}

// sizeOf is the size of an entry for a listing write(…, n) makes.
func sizeOf(n int) int {
	r := newVersionedRepo()
	r.write("who", n)
	return (&listEntry{tasks: r.lists["who"], json: AppendJSONList(nil, r.lists["who"])}).size()
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

// The encoded listing is encoding/json's, with or without the cache, hit or miss.
func TestListJSON(t *testing.T) {
	ctx := context.Background()
	r := newVersionedRepo()
	r.write("ann", 3)
	r.lists["ann"][1].Title = `<b>"quoted" & ünïcode</b>`
	want, err := json.Marshal(r.lists["ann"])
	if err != nil {
		t.Fatal(err)
	}
	for name, svc := range map[string]*Service{
		"uncached": NewService(r),
		"cached":   NewService(NewListCache(r, 1<<20)),
	} {
		for _, call := range []string{"first", "second"} {
			got, err := svc.ListJSON(ctx, "ann", StatusAll)
			if err != nil || string(got) != string(want) {
				t.Errorf("%s, %s call: ListJSON = %s, %v\nwant %s", name, call, got, err, want)
			}
		}
		if got, err := svc.ListJSON(ctx, "nobody", StatusAll); err != nil || string(got) != "[]" {
			t.Errorf("%s: ListJSON of no tasks = %s, %v; want []", name, got, err)
		}
	}
}
