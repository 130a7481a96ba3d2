package store_test

import (
	"bufio"
	"context"
	"database/sql"
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

// A child process started by these tests does one thing, named by childEnv,
// on the file named by childFileEnv, and exits; TestMain hands it over.
const (
	childEnv     = "STORE_TEST_CHILD"
	childFileEnv = "STORE_TEST_CHILD_FILE"
	// The rounds of a child that starts as a replica: how many, and when each
	// starts (the first in Unix nanoseconds, then one every interval), so that
	// every child opens each round's file at once.
	childRoundsEnv   = "STORE_TEST_CHILD_ROUNDS"
	childStartEnv    = "STORE_TEST_CHILD_START"
	childIntervalEnv = "STORE_TEST_CHILD_INTERVAL"
)

// runChild is the whole of a child process.
func runChild(what, file string) int {
	var err error
	switch what {
	case "replica":
		err = replicaRounds(file)
	case "writer":
		err = holdWriteLock(file, os.Stdout, 300*time.Millisecond)
	default:
		err = fmt.Errorf("unknown child %q", what)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

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

// holdWriteLock takes SQLite's write lock on file, as a process does while it
// creates the file or switches it to its write-ahead log, says "locked" on
// out, and lets go after hold. Like any replica it waits for readers at its
// commit (busy_timeout): without it, the commit failed with SQLITE_BUSY
// whenever Open was reading the file at that moment (once, on a loaded machine).
func holdWriteLock(file string, out *os.File, hold time.Duration) error {
	db, err := sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	conn, err := db.Conn(context.Background())
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	fmt.Fprintln(out, "locked")
	time.Sleep(hold)
	_, err = conn.ExecContext(context.Background(), "COMMIT")
	return err
}

// While another connection (or process) holds the write lock on a new file,
// Open must wait for it. SQLite does not wait by itself there: turning on the
// write-ahead log reads the file, then upgrades to writing it, and an upgrade
// that meets another writer fails at once with SQLITE_BUSY, whatever
// busy_timeout says (waiting could deadlock). Before Open retried that, every
// run of this test failed within milliseconds.
func TestOpenWaitsForAnotherWriterOfANewFile(t *testing.T) {
	for _, where := range []string{"goroutine", "process"} {
		t.Run(where, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "todo.db")
			locked, done := make(chan struct{}), make(chan error, 1)
			if where == "goroutine" {
				r, w, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				go func() { done <- holdWriteLock(file, w, 300*time.Millisecond); w.Close() }()
				go func() { bufio.NewReader(r).ReadString('\n'); close(locked) }()
			} else {
				self, err := os.Executable()
				if err != nil {
					t.Fatal(err)
				}
				cmd := exec.CommandContext(t.Context(), self)
				cmd.Env = append(os.Environ(), childEnv+"=writer", childFileEnv+"="+file)
				out, err := cmd.StdoutPipe()
				if err != nil {
					t.Fatal(err)
				}
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				go func() { bufio.NewReader(out).ReadString('\n'); close(locked) }()
				go func() { done <- cmd.Wait() }()
			}
			select {
			case <-locked:
			case err := <-done:
				t.Fatalf("the writer ended before it held the lock: %v", err)
			}
			if err := openAndMigrate(t.Context(), "sqlite://"+file); err != nil {
				t.Fatalf("open and migrate while another %s writes the new file: %v", where, err)
			}
			if err := <-done; err != nil {
				t.Fatalf("the writer: %v", err)
			}
		})
	}
}

// replicaRounds is a child replica: each round, at its time, it opens and
// migrates that round's file (the pattern's %d).
func replicaRounds(pattern string) error {
	rounds, err1 := strconv.Atoi(os.Getenv(childRoundsEnv))
	start, err2 := strconv.ParseInt(os.Getenv(childStartEnv), 10, 64)
	interval, err3 := time.ParseDuration(os.Getenv(childIntervalEnv))
	if err1 != nil || err2 != nil || err3 != nil {
		return fmt.Errorf("child: bad environment")
	}
	for round := range rounds {
		time.Sleep(time.Until(time.Unix(0, start).Add(time.Duration(round) * interval)))
		if err := openAndMigrate(context.Background(), "sqlite://"+fmt.Sprintf(pattern, round)); err != nil {
			return fmt.Errorf("round %d: %w", round+1, err)
		}
	}
	return nil
}

// Replicas starting at once on an SQLite file that does not exist yet all
// open, migrate and are ready: goroutines of one process, and processes
// (replicas of a deployment, `make up` restarting, a migration job), each
// round on a fresh file.
func TestFreshSQLiteFileStartedConcurrently(t *testing.T) {
	const replicas, rounds = 8, 20
	t.Run("goroutines", func(t *testing.T) {
		for round := range rounds {
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
		pattern := filepath.Join(t.TempDir(), "todo-%d.db")
		// Far enough ahead that every child has started and waits.
		at := strconv.FormatInt(time.Now().Add(500*time.Millisecond).UnixNano(), 10)
		out := make([][]byte, replicas)
		cmds := make([]*exec.Cmd, replicas)
		var wg sync.WaitGroup
		for i := range replicas {
			cmds[i] = exec.CommandContext(t.Context(), self)
			cmds[i].Env = append(os.Environ(), childEnv+"=replica", childFileEnv+"="+pattern,
				childRoundsEnv+"="+strconv.Itoa(rounds), childStartEnv+"="+at, childIntervalEnv+"=50ms")
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
