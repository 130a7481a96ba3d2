package store_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/todo-app/todo-app/backend/internal/store"
)

// Environment of a child process started by TestFreshSQLiteFileStartedConcurrently:
// the databases to open and migrate (a pattern with %d for the round), how
// many rounds, and when each starts (the first in Unix nanoseconds, then one
// every interval), so that every child opens each round's file at once.
const (
	childDatabasesEnv = "STORE_TEST_CHILD_DATABASES"
	childRoundsEnv    = "STORE_TEST_CHILD_ROUNDS"
	childStartEnv     = "STORE_TEST_CHILD_START"
	childIntervalEnv  = "STORE_TEST_CHILD_INTERVAL"
)

// openAndMigrate is what every replica does at start.
func openAndMigrate(ctx context.Context, url string) error {
	db, err := store.Open(ctx, url)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	return db.Ready(ctx)
}

// runChild is the whole of a child process: TestMain calls it instead of the tests.
func runChild(pattern string) int {
	rounds, err1 := strconv.Atoi(os.Getenv(childRoundsEnv))
	start, err2 := strconv.ParseInt(os.Getenv(childStartEnv), 10, 64)
	interval, err3 := time.ParseDuration(os.Getenv(childIntervalEnv))
	if err1 != nil || err2 != nil || err3 != nil {
		fmt.Fprintln(os.Stderr, "child: bad environment")
		return 2
	}
	for round := range rounds {
		time.Sleep(time.Until(time.Unix(0, start).Add(time.Duration(round) * interval)))
		if err := openAndMigrate(context.Background(), "sqlite://"+fmt.Sprintf(pattern, round)); err != nil {
			fmt.Fprintf(os.Stderr, "round %d: %v\n", round+1, err)
			return 1
		}
	}
	return 0
}

// Replicas starting at once on an SQLite file that does not exist yet must
// all open, migrate and be ready: goroutines of one process, and processes
// (replicas of a deployment, `make up` restarting, a migration job). Each
// round starts them together on a fresh file, because the race is in creating
// the file and turning on its write-ahead log: two connections that both
// hold a read lock and want the write lock deadlock, and SQLite answers one
// of them SQLITE_BUSY at once instead of waiting for busy_timeout. Before
// Open retried that, a round failed about one time in 50 (goroutines) and
// one in 15 (processes); these rounds make a pass by luck improbable.
func TestFreshSQLiteFileStartedConcurrently(t *testing.T) {
	const replicas = 16
	t.Run("goroutines", func(t *testing.T) {
		for round := range 250 {
			url := "sqlite://" + filepath.Join(t.TempDir(), "todo.db")
			start := make(chan struct{})
			errs := make([]error, replicas)
			var wg sync.WaitGroup
			for i := range replicas {
				wg.Go(func() {
					<-start
					errs[i] = openAndMigrate(t.Context(), url)
				})
			}
			close(start)
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("round %d, replica %d of %d: %v", round+1, i+1, replicas, err)
				}
			}
		}
	})
	t.Run("processes", func(t *testing.T) {
		self, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		const rounds, interval = 120, 40 * time.Millisecond
		pattern := filepath.Join(t.TempDir(), "todo-%d.db")
		// Far enough ahead that every child has started and waits.
		at := strconv.FormatInt(time.Now().Add(500*time.Millisecond).UnixNano(), 10)
		out := make([][]byte, replicas)
		cmds := make([]*exec.Cmd, replicas)
		var wg sync.WaitGroup
		for i := range replicas {
			cmds[i] = exec.CommandContext(t.Context(), self)
			cmds[i].Env = append(os.Environ(), childDatabasesEnv+"="+pattern, childRoundsEnv+"="+strconv.Itoa(rounds),
				childStartEnv+"="+at, childIntervalEnv+"="+interval.String())
			wg.Go(func() { out[i], _ = cmds[i].CombinedOutput() })
		}
		wg.Wait()
		for i, cmd := range cmds {
			if code := cmd.ProcessState.ExitCode(); code != 0 {
				t.Errorf("process %d of %d exited %d: %s", i+1, replicas, code, out[i])
			}
		}
	})
}
