package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/todo-app/todo-app/backend/internal/chat"
	"github.com/todo-app/todo-app/backend/internal/store"
	"github.com/todo-app/todo-app/backend/internal/tasks"
	"github.com/todo-app/todo-app/backend/testkit/pgtemp"
)

var cluster *pgtemp.Cluster

func TestMain(m *testing.M) {
	if what := os.Getenv(childEnv); what != "" {
		os.Exit(runChild(what, os.Getenv(childFileEnv)))
	}
	var err error
	cluster, err = pgtemp.Start(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if err := cluster.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}

// backends returns a fresh, empty database URL of each kind.
func backends(t *testing.T) map[string]string {
	t.Helper()
	pg, err := cluster.NewDatabase(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"postgres": pg,
		"sqlite":   "sqlite://" + filepath.Join(t.TempDir(), "todo.db"),
	}
}

func open(t *testing.T, url string) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return db
}

func forEachBackend(t *testing.T, test func(t *testing.T, db *store.DB)) {
	for name, url := range backends(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			test(t, open(t, url))
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestMigrateIsIdempotentAndConcurrent(t *testing.T) {
	for name, url := range backends(t) {
		t.Run(name, func(t *testing.T) {
			const replicas = 4
			var wg sync.WaitGroup
			applied := make([][]int, replicas)
			errs := make([]error, replicas)
			for i := range replicas {
				wg.Go(func() {
					db, err := store.Open(t.Context(), url)
					if err != nil {
						errs[i] = err
						return
					}
					defer db.Close()
					applied[i], errs[i] = db.Migrate(t.Context())
				})
			}
			wg.Wait()
			times := map[int]int{}
			for i := range replicas {
				if errs[i] != nil {
					t.Fatalf("replica %d: %v", i, errs[i])
				}
				for _, v := range applied[i] {
					times[v]++
				}
			}
			// Each migration once; PostgreSQL has one more (its notifications).
			want := map[int]int{1: 1, 2: 1}
			if name == "postgres" {
				want[3] = 1
			}
			if !maps.Equal(times, want) {
				t.Fatalf("migrations applied across replicas (version: times) = %v, want %v", times, want)
			}
			db := open(t, url)
			if err := db.Ready(t.Context()); err != nil {
				t.Fatalf("Ready after migrate: %v", err)
			}
		})
	}
}

func TestReadyBeforeMigrate(t *testing.T) {
	for name, url := range backends(t) {
		t.Run(name, func(t *testing.T) {
			db, err := store.Open(t.Context(), url)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := db.Ready(t.Context()); err == nil {
				t.Fatal("Ready on an unmigrated database: want an error")
			}
		})
	}
}

func TestTasksCRUD(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		a, err := db.CreateTask(ctx, "alice", tasks.NewTask{Title: "buy milk", Description: "2 litres"})
		if err != nil {
			t.Fatal(err)
		}
		if a.ID == 0 || a.Completed || a.CreatedAt.IsZero() || !a.CreatedAt.Equal(a.UpdatedAt) {
			t.Fatalf("created task = %+v", a)
		}
		b, _ := db.CreateTask(ctx, "alice", tasks.NewTask{Title: "call mom"})
		if _, err := db.CreateTask(ctx, "bob", tasks.NewTask{Title: "bob's"}); err != nil {
			t.Fatal(err)
		}

		got, err := db.GetTask(ctx, "alice", a.ID)
		if err != nil || got != a {
			t.Fatalf("GetTask = %+v, %v; want %+v", got, err, a)
		}

		list, err := db.ListTasks(ctx, "alice", tasks.StatusAll)
		if err != nil || len(list) != 2 || list[0].ID != b.ID || list[1].ID != a.ID {
			t.Fatalf("ListTasks(all) = %+v, %v; want newest first [%d %d]", list, err, b.ID, a.ID)
		}

		done, err := db.UpdateTask(ctx, "alice", a.ID, tasks.Patch{Completed: ptr(true)})
		if err != nil || !done.Completed || done.Title != "buy milk" || done.Description != "2 litres" {
			t.Fatalf("UpdateTask(completed) = %+v, %v", done, err)
		}
		if done.UpdatedAt.Before(a.UpdatedAt) {
			t.Fatalf("updated_at went back: %v < %v", done.UpdatedAt, a.UpdatedAt)
		}
		renamed, err := db.UpdateTask(ctx, "alice", a.ID, tasks.Patch{Title: ptr("buy oat milk"), Description: ptr("")})
		if err != nil || renamed.Title != "buy oat milk" || renamed.Description != "" || !renamed.Completed {
			t.Fatalf("UpdateTask(title, description) = %+v, %v", renamed, err)
		}

		for status, want := range map[tasks.Status][]int64{
			tasks.StatusPending:   {b.ID},
			tasks.StatusCompleted: {a.ID},
		} {
			list, err := db.ListTasks(ctx, "alice", status)
			if err != nil || len(list) != len(want) || list[0].ID != want[0] {
				t.Errorf("ListTasks(%s) = %+v, %v; want ids %v", status, list, err, want)
			}
		}

		if err := db.DeleteTask(ctx, "alice", a.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.GetTask(ctx, "alice", a.ID); !errors.Is(err, tasks.ErrNotFound) {
			t.Fatalf("GetTask after delete: %v, want ErrNotFound", err)
		}
		if err := db.DeleteTask(ctx, "alice", a.ID); !errors.Is(err, tasks.ErrNotFound) {
			t.Fatalf("second DeleteTask: %v, want ErrNotFound", err)
		}
	})
}

func TestTaskListVersionChangesWithEveryWrite(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		version := func(userID string) int64 {
			t.Helper()
			vs, err := db.TaskListVersions(ctx, []string{userID})
			if err != nil {
				t.Fatal(err)
			}
			return vs[userID]
		}
		if v := version("alice"); v != 0 {
			t.Fatalf("version before any task = %d, want 0", v)
		}
		var a tasks.Task
		seen := map[int64]string{0: "start"}
		for _, step := range []struct {
			name  string
			write func() error
		}{
			{"create", func() (err error) { a, err = db.CreateTask(ctx, "alice", tasks.NewTask{Title: "buy milk"}); return err }},
			{"complete", func() error {
				_, err := db.UpdateTask(ctx, "alice", a.ID, tasks.Patch{Completed: ptr(true)})
				return err
			}},
			{"rename", func() error {
				_, err := db.UpdateTask(ctx, "alice", a.ID, tasks.Patch{Title: ptr("buy oat milk")})
				return err
			}},
			{"delete", func() error { return db.DeleteTask(ctx, "alice", a.ID) }},
		} {
			bob := version("bob")
			if err := step.write(); err != nil {
				t.Fatalf("%s: %v", step.name, err)
			}
			v := version("alice")
			if prev, ok := seen[v]; ok {
				t.Fatalf("after %s the version is %d, as after %s", step.name, v, prev)
			}
			seen[v] = step.name
			if version("bob") != bob {
				t.Fatalf("alice's %s changed bob's version", step.name)
			}
			if _, err := db.ListTasks(ctx, "alice", tasks.StatusAll); err != nil || version("alice") != v {
				t.Fatalf("a read changed the version (err %v)", err)
			}
		}
		// A write that fails changes nothing.
		if err := db.DeleteTask(ctx, "alice", a.ID); !errors.Is(err, tasks.ErrNotFound) {
			t.Fatalf("deleting twice: %v", err)
		}
		if _, err := db.UpdateTask(ctx, "bob", 999999, tasks.Patch{Title: ptr("x")}); !errors.Is(err, tasks.ErrNotFound) {
			t.Fatalf("updating a missing task: %v", err)
		}
		if v := version("bob"); v != 0 {
			t.Fatalf("bob's version after failed writes = %d, want 0", v)
		}
	})
}

// One query reads many users' versions: each its own, none for a user
// without tasks, nothing for no user.
func TestTaskListVersionsOfManyUsers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		for _, u := range []string{"ann", "bob", "eve"} {
			if _, err := db.CreateTask(ctx, u, tasks.NewTask{Title: "one of " + u}); err != nil {
				t.Fatal(err)
			}
		}
		vs, err := db.TaskListVersions(ctx, []string{"ann", "bob", "nobody", "eve"})
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) != 3 || vs["ann"] == 0 || vs["bob"] == 0 || vs["eve"] == 0 || vs["ann"] == vs["bob"] {
			t.Fatalf("versions %v: want ann, bob and eve, each its own, and no nobody", vs)
		}
		one, err := db.TaskListVersions(ctx, []string{"bob"})
		if err != nil || len(one) != 1 || one["bob"] != vs["bob"] {
			t.Fatalf("bob alone: %v, %v", one, err)
		}
		if none, err := db.TaskListVersions(ctx, nil); err != nil || len(none) != 0 {
			t.Fatalf("no user: %v, %v", none, err)
		}
	})
}

// A database recreated under running replicas must not repeat the versions
// they cached other tasks under.
func TestTaskListVersionsDifferAcrossDatabases(t *testing.T) {
	for _, name := range []string{"postgres", "sqlite"} {
		t.Run(name, func(t *testing.T) {
			var versions []int64
			for range 2 {
				db := open(t, backends(t)[name])
				if _, err := db.CreateTask(t.Context(), "alice", tasks.NewTask{Title: "one"}); err != nil {
					t.Fatal(err)
				}
				vs, err := db.TaskListVersions(t.Context(), []string{"alice"})
				if err != nil {
					t.Fatal(err)
				}
				versions = append(versions, vs["alice"])
			}
			if versions[0] == versions[1] {
				t.Fatalf("the same write in two fresh databases gave the same version %d", versions[0])
			}
		})
	}
}

// forEachReplicaPair runs test on each store with two connections to one
// database, as two replicas have: one writes, the other lists through a cache.
func forEachReplicaPair(t *testing.T, test func(t *testing.T, writer, reader *store.DB, cache *tasks.ListCache)) {
	for name, url := range backends(t) {
		t.Run(name, func(t *testing.T) {
			reader := open(t, url)
			test(t, open(t, url), reader, tasks.NewListCache(reader, 1<<20))
		})
	}
}

// Writers and cached readers at once: once the writes stop, the cache serves
// exactly what the database holds, for every user and status.
func TestListCacheUnderConcurrentWrites(t *testing.T) {
	forEachReplicaPair(t, func(t *testing.T, writer, reader *store.DB, cache *tasks.ListCache) {
		ctx := t.Context()
		users := []string{"ann", "bob"}
		statuses := []tasks.Status{tasks.StatusAll, tasks.StatusPending, tasks.StatusCompleted}
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for _, u := range users {
			wg.Go(func() {
				for i := range 60 {
					task, err := writer.CreateTask(ctx, u, tasks.NewTask{Title: fmt.Sprint("task ", i)})
					if err != nil {
						t.Error(err)
						return
					}
					switch i % 3 {
					case 1:
						_, err = writer.UpdateTask(ctx, u, task.ID, tasks.Patch{Completed: ptr(true)})
					case 2:
						err = writer.DeleteTask(ctx, u, task.ID)
					}
					if err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		var readers sync.WaitGroup
		for range 4 {
			readers.Go(func() {
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := cache.ListTasks(ctx, users[i%2], statuses[i%3]); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		close(stop)
		readers.Wait()
		for _, u := range users {
			for _, st := range statuses {
				want, err := reader.ListTasks(ctx, u, st)
				if err != nil {
					t.Fatal(err)
				}
				got, err := cache.ListTasks(ctx, u, st)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s, %s: cache has %d tasks, the database %d", u, st, len(got), len(want))
				}
			}
		}
		if cache.Hits() == 0 || cache.Misses() == 0 {
			t.Errorf("hits %d, misses %d: the readers did not exercise both paths", cache.Hits(), cache.Misses())
		}
	})
}

// Two replicas, each with its own cache, over one database: a listing on one
// reflects a write through the other at once.
func TestListCacheAcrossReplicas(t *testing.T) {
	forEachReplicaPair(t, func(t *testing.T, writer, _ *store.DB, cache *tasks.ListCache) {
		ctx := t.Context()
		titles := func() []string {
			t.Helper()
			list, err := cache.ListTasks(ctx, "alice", tasks.StatusAll)
			if err != nil {
				t.Fatal(err)
			}
			var ts []string
			for _, task := range list {
				ts = append(ts, task.Title)
			}
			return ts
		}
		a, _ := writer.CreateTask(ctx, "alice", tasks.NewTask{Title: "one"})
		for _, step := range []struct {
			write func() error
			want  []string
		}{
			{func() error { return nil }, []string{"one"}},
			{func() error { _, err := writer.CreateTask(ctx, "alice", tasks.NewTask{Title: "two"}); return err }, []string{"two", "one"}},
			{func() error {
				_, err := writer.UpdateTask(ctx, "alice", a.ID, tasks.Patch{Title: ptr("uno")})
				return err
			}, []string{"two", "uno"}},
			{func() error { return writer.DeleteTask(ctx, "alice", a.ID) }, []string{"two"}},
		} {
			if err := step.write(); err != nil {
				t.Fatal(err)
			}
			for range 2 { // the second listing comes from memory
				if got := titles(); !slices.Equal(got, step.want) {
					t.Fatalf("listing on the other replica = %q, want %q", got, step.want)
				}
			}
		}
		if cache.Hits() != 4 || cache.Misses() != 4 {
			t.Fatalf("hits %d, misses %d; want 4 and 4", cache.Hits(), cache.Misses())
		}
	})
}

func TestTasksAreIsolatedPerUser(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		a, _ := db.CreateTask(ctx, "alice", tasks.NewTask{Title: "secret"})
		if _, err := db.GetTask(ctx, "bob", a.ID); !errors.Is(err, tasks.ErrNotFound) {
			t.Errorf("bob GetTask(alice's): %v, want ErrNotFound", err)
		}
		if _, err := db.UpdateTask(ctx, "bob", a.ID, tasks.Patch{Title: ptr("pwned")}); !errors.Is(err, tasks.ErrNotFound) {
			t.Errorf("bob UpdateTask(alice's): %v, want ErrNotFound", err)
		}
		if err := db.DeleteTask(ctx, "bob", a.ID); !errors.Is(err, tasks.ErrNotFound) {
			t.Errorf("bob DeleteTask(alice's): %v, want ErrNotFound", err)
		}
		if list, _ := db.ListTasks(ctx, "bob", tasks.StatusAll); len(list) != 0 {
			t.Errorf("bob sees %d tasks, want 0", len(list))
		}
		if got, _ := db.GetTask(ctx, "alice", a.ID); got != a {
			t.Errorf("alice's task changed by bob's attempts: %+v, want %+v", got, a)
		}
	})
}

func TestTextRoundTrips(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *store.DB) {
		for _, title := range []string{"ünïcødé ✓ 日本語", "quote ' and \" and ?", "emoji 🥛", "-- not a comment; DROP TABLE tasks"} {
			created, err := db.CreateTask(t.Context(), "u", tasks.NewTask{Title: title, Description: "line1\nline2"})
			if err != nil {
				t.Fatal(err)
			}
			got, err := db.GetTask(t.Context(), "u", created.ID)
			if err != nil || got.Title != title || got.Description != "line1\nline2" {
				t.Errorf("round trip of %q = %+v, %v", title, got, err)
			}
		}
	})
}

func TestConversations(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		c, err := db.CreateConversation(ctx, "alice", "groceries")
		if err != nil {
			t.Fatal(err)
		}
		older, _ := db.CreateConversation(ctx, "alice", "older")
		call := chat.ToolCall{Name: "add_task", Arguments: json.RawMessage(`{"title":"buy milk"}`),
			Result: json.RawMessage(`{"task_id":1,"status":"created","title":"buy milk"}`)}
		err = db.AppendMessages(ctx, "alice", c.ID, []chat.Message{
			{Role: chat.RoleUser, Content: "add buy milk"},
			{Role: chat.RoleAssistant, Content: "Added 'buy milk'.", ToolCalls: []chat.ToolCall{call}},
		})
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := db.RecentMessages(ctx, "alice", c.ID, 10)
		if err != nil || len(msgs) != 2 {
			t.Fatalf("RecentMessages = %+v, %v", msgs, err)
		}
		if msgs[0].Role != chat.RoleUser || msgs[1].Role != chat.RoleAssistant || len(msgs[0].ToolCalls) != 0 {
			t.Fatalf("messages out of order or wrong: %+v", msgs)
		}
		var gotArgs, wantArgs map[string]any
		json.Unmarshal(msgs[1].ToolCalls[0].Arguments, &gotArgs)
		json.Unmarshal(call.Arguments, &wantArgs)
		if msgs[1].ToolCalls[0].Name != "add_task" || fmt.Sprint(gotArgs) != fmt.Sprint(wantArgs) {
			t.Fatalf("tool call round trip = %+v", msgs[1].ToolCalls)
		}
		last, _ := db.RecentMessages(ctx, "alice", c.ID, 1)
		if len(last) != 1 || last[0].Role != chat.RoleAssistant {
			t.Fatalf("RecentMessages(limit 1) = %+v, want the newest", last)
		}

		list, err := db.ListConversations(ctx, "alice")
		if err != nil || len(list) != 2 || list[0].ID != c.ID || list[1].ID != older.ID {
			t.Fatalf("ListConversations = %+v, %v; want most recently active first", list, err)
		}

		// Another user can neither read, append to nor delete it.
		if _, err := db.GetConversation(ctx, "bob", c.ID); !errors.Is(err, chat.ErrConversationNotFound) {
			t.Errorf("bob GetConversation: %v", err)
		}
		if err := db.AppendMessages(ctx, "bob", c.ID, []chat.Message{{Role: chat.RoleUser, Content: "x"}}); !errors.Is(err, chat.ErrConversationNotFound) {
			t.Errorf("bob AppendMessages: %v", err)
		}
		if msgs, _ := db.RecentMessages(ctx, "bob", c.ID, 10); len(msgs) != 0 {
			t.Errorf("bob reads %d messages", len(msgs))
		}
		if err := db.DeleteConversation(ctx, "bob", c.ID); !errors.Is(err, chat.ErrConversationNotFound) {
			t.Errorf("bob DeleteConversation: %v", err)
		}
		if msgs, _ := db.RecentMessages(ctx, "alice", c.ID, 10); len(msgs) != 2 {
			t.Fatalf("alice's messages after bob's attempts: %d, want 2", len(msgs))
		}

		if err := db.DeleteConversation(ctx, "alice", c.ID); err != nil {
			t.Fatal(err)
		}
		if msgs, _ := db.RecentMessages(ctx, "alice", c.ID, 10); len(msgs) != 0 {
			t.Errorf("messages survive their conversation: %d", len(msgs))
		}
		if err := db.AppendMessages(ctx, "alice", c.ID, []chat.Message{{Role: chat.RoleUser, Content: "late"}}); !errors.Is(err, chat.ErrConversationNotFound) {
			t.Errorf("append to a deleted conversation: %v", err)
		}
	})
}

func TestAppendMessagesIsAtomic(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		c, _ := db.CreateConversation(ctx, "alice", "t")
		// The second message violates the role CHECK constraint: neither may be stored.
		err := db.AppendMessages(ctx, "alice", c.ID, []chat.Message{
			{Role: chat.RoleUser, Content: "first"},
			{Role: "system", Content: "not allowed"},
		})
		if err == nil {
			t.Fatal("append with an invalid role: want an error")
		}
		if msgs, _ := db.RecentMessages(ctx, "alice", c.ID, 10); len(msgs) != 0 {
			t.Fatalf("a failed append stored %d messages, want 0", len(msgs))
		}
	})
}

func TestOpenRejectsUnknownScheme(t *testing.T) {
	if _, err := store.Open(t.Context(), "mysql://x"); err == nil {
		t.Fatal("Open(mysql://): want an error")
	}
}

func TestDefaultIsSQLiteInWorkingDirectory(t *testing.T) {
	t.Chdir(t.TempDir())
	db, err := store.Open(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	if db.Dialect() != "sqlite" {
		t.Fatalf("dialect = %s", db.Dialect())
	}
	if _, err := os.Stat(store.DefaultSQLiteFile); err != nil {
		t.Fatalf("default database file: %v", err)
	}
}
