package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/todo-app/todo-app/backend/internal/store"
	"github.com/todo-app/todo-app/backend/internal/tasks"
)

// watcher records what WatchTaskLists tells.
type watcher struct {
	changed   chan string
	connected chan bool
}

func watch(t *testing.T, db *store.DB) (*watcher, bool) {
	t.Helper()
	w := &watcher{changed: make(chan string, 100), connected: make(chan bool, 10)}
	ok := db.WatchTaskLists(t.Context(), func(u string) { w.changed <- u }, func(c bool) { w.connected <- c })
	return w, ok
}

func (w *watcher) expectConnected(t *testing.T, want bool) {
	t.Helper()
	select {
	case got := <-w.connected:
		if got != want {
			t.Fatalf("connected(%v), want connected(%v)", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no connected(%v) in 10 s", want)
	}
}

func (w *watcher) expectChanged(t *testing.T, user string) time.Duration {
	t.Helper()
	start := time.Now()
	select {
	case got := <-w.changed:
		if got != user {
			t.Fatalf("changed(%q), want changed(%q)", got, user)
		}
		return time.Since(start)
	case <-time.After(10 * time.Second):
		t.Fatalf("no changed(%q) in 10 s", user)
	}
	return 0
}

// Every committed change to a user's tasks, by another connection, is told
// with the user's id, in commit order; a rolled-back one never; and a lost
// connection says so, then comes back.
func TestWatchTaskListsOnPostgreSQL(t *testing.T) {
	url := backends(t)["postgres"]
	writer, listener := open(t, url), open(t, url)
	w, ok := watch(t, listener)
	if !ok {
		t.Fatal("PostgreSQL cannot notify?")
	}
	w.expectConnected(t, true)
	ctx := t.Context()
	a, err := writer.CreateTask(ctx, "ann", tasks.NewTask{Title: "one"})
	if err != nil {
		t.Fatal(err)
	}
	took := w.expectChanged(t, "ann")
	t.Logf("a change was told %s after its commit returned", took)
	if _, err := writer.UpdateTask(ctx, "ann", a.ID, tasks.Patch{Completed: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := writer.CreateTask(ctx, "bob", tasks.NewTask{Title: "two"}); err != nil {
		t.Fatal(err)
	}
	w.expectChanged(t, "ann")
	w.expectChanged(t, "bob")
	if err := writer.DeleteTask(ctx, "nobody", 1); err == nil {
		t.Fatal("deleting a missing task succeeded")
	}
	select {
	case u := <-w.changed:
		t.Fatalf("a failed write was told as a change of %q", u)
	case <-time.After(200 * time.Millisecond):
	}

	// The listener's connection is cut, as a database restart or failover does.
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	var cut int
	if err := admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN %'`).Scan(&cut); err != nil || cut != 1 {
		t.Fatalf("cut %d listening connections (%v), want 1", cut, err)
	}
	w.expectConnected(t, false)
	w.expectConnected(t, true)
	if _, err := writer.CreateTask(ctx, "ann", tasks.NewTask{Title: "after the cut"}); err != nil {
		t.Fatal(err)
	}
	w.expectChanged(t, "ann")
}

func TestWatchTaskListsOnSQLiteDoesNothing(t *testing.T) {
	db := open(t, backends(t)["sqlite"])
	w, ok := watch(t, db)
	if ok {
		t.Fatal("SQLite claims to notify")
	}
	if _, err := db.CreateTask(t.Context(), "ann", tasks.NewTask{Title: "one"}); err != nil {
		t.Fatal(err)
	}
	select {
	case u := <-w.changed:
		t.Fatalf("changed(%q) on SQLite", u)
	case c := <-w.connected:
		t.Fatalf("connected(%v) on SQLite", c)
	case <-time.After(100 * time.Millisecond):
	}
}

// Two replicas with caches kept current by notifications: a listing on one
// reflects a write through the other as soon as its notification arrives,
// and at once when asked to revalidate; its own writes at once.
func TestListCacheKeptCurrentByNotifications(t *testing.T) {
	url := backends(t)["postgres"]
	writer, reader := open(t, url), open(t, url)
	cache := tasks.NewListCache(reader, 1<<20)
	connected := make(chan bool, 10)
	reader.WatchTaskLists(t.Context(), cache.Changed, func(c bool) { cache.Connected(c); connected <- c })
	if !<-connected {
		t.Fatal("not connected")
	}
	ctx := t.Context()
	titles := func(revalidate bool) []string {
		t.Helper()
		doc, err := cache.ListTasksDocument(ctx, "alice", tasks.StatusAll, revalidate)
		if err != nil {
			t.Fatal(err)
		}
		var list struct{ Tasks []struct{ Title string } }
		if err := json.Unmarshal(doc, &list); err != nil {
			t.Fatal(err)
		}
		var ts []string
		for _, task := range list.Tasks {
			ts = append(ts, task.Title)
		}
		return ts
	}
	if _, err := writer.CreateTask(ctx, "alice", tasks.NewTask{Title: "one"}); err != nil {
		t.Fatal(err)
	}
	if got := titles(true); !slices.Equal(got, []string{"one"}) {
		t.Fatalf("revalidated: %q", got)
	}
	titles(false) // trusted from now on
	var lags []time.Duration
	for i := range 20 {
		title := fmt.Sprint("task ", i)
		if _, err := writer.CreateTask(ctx, "alice", tasks.NewTask{Title: title}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		for titles(false)[0] != title {
			if time.Since(start) > 5*time.Second {
				t.Fatalf("another replica's write not seen in 5 s")
			}
		}
		lags = append(lags, time.Since(start))
	}
	slices.Sort(lags)
	t.Logf("another replica's write seen %s after its commit returned (median of 20), %s at most", lags[10], lags[19])
	// Asked to revalidate, a listing is checked, notification or not.
	cache.Connected(true) // a new epoch: nothing is trusted until checked
	if _, err := writer.CreateTask(ctx, "alice", tasks.NewTask{Title: "checked"}); err != nil {
		t.Fatal(err)
	}
	if got := titles(true); got[0] != "checked" {
		t.Fatalf("revalidated right after another replica's write: %q", got)
	}
	titles(false)
	before := cache.VersionQueries()
	for range 10 {
		titles(false)
	}
	if cache.VersionQueries() != before {
		t.Errorf("trusted listings made %d version queries", cache.VersionQueries()-before)
	}
	if _, err := cache.CreateTask(ctx, "alice", tasks.NewTask{Title: "mine"}); err != nil {
		t.Fatal(err)
	}
	if got := titles(false); got[0] != "mine" {
		t.Fatalf("its own write not seen at once: %q", got)
	}
}
