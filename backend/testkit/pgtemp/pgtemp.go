// Package pgtemp starts a throwaway PostgreSQL cluster for tests and benchmarks.
//
// It uses the server binaries already on the machine (initdb, pg_ctl), so the
// backend can be tested against a real PostgreSQL without a container engine.
// When TEST_DATABASE_URL is set, that server is used instead and no cluster is
// started. It lives in the backend's module, outside internal/, so that the
// root module's tools (devstack, bench) start the same cluster.
package pgtemp

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// Cluster is a running PostgreSQL server that this process may own.
type Cluster struct {
	// URL points at the cluster's "postgres" database.
	URL     string
	dataDir string
	pgCtl   string
	opts    string // postgres options given to pg_ctl
	cred    *syscall.Credential
}

// Start returns a cluster to test against: TEST_DATABASE_URL when set, else a
// new cluster in a temporary directory on a free loopback port.
func Start(ctx context.Context) (*Cluster, error) {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		// A server started next to the tests (a CI service) may still be initialising.
		if err := waitConnect(ctx, u, time.Minute); err != nil {
			return nil, fmt.Errorf("pgtemp: TEST_DATABASE_URL: %w", err)
		}
		return &Cluster{URL: u}, nil
	}
	bin, err := findBinDir()
	if err != nil {
		return nil, err
	}
	cred, owner, err := serverCredential()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "todo-pgtemp-")
	if err != nil {
		return nil, fmt.Errorf("pgtemp: temp dir: %w", err)
	}
	if owner != nil {
		if err := os.Chown(dir, owner.uid, owner.gid); err != nil {
			return nil, fmt.Errorf("pgtemp: chown %s: %w", dir, err)
		}
	}
	c := &Cluster{dataDir: filepath.Join(dir, "data"), pgCtl: filepath.Join(bin, "pg_ctl"), cred: cred}
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", c.dataDir,
		"-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-sync", "--locale=C")
	if out, err := c.run(initdb); err != nil {
		return nil, fmt.Errorf("pgtemp: initdb: %w\n%s", err, out)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	// fsync off and a socket in the data dir: this cluster only lives for a test run.
	opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -c unix_socket_directories=%s "+
		"-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
		port, dir)
	c.opts = opts
	if err := c.pgctl(ctx, "start"); err != nil {
		return nil, err
	}
	c.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	return c, nil
}

// Stop shuts the cluster down and removes its files. It does nothing for a
// server given through TEST_DATABASE_URL.
func (c *Cluster) Stop() error {
	if c.dataDir == "" {
		return nil
	}
	stop := exec.Command(c.pgCtl, "-D", c.dataDir, "-m", "immediate", "-w", "stop")
	out, err := c.run(stop)
	if rmErr := os.RemoveAll(filepath.Dir(c.dataDir)); rmErr != nil && err == nil {
		err = rmErr
	}
	if err != nil {
		return fmt.Errorf("pgtemp: stop: %w\n%s", err, out)
	}
	return nil
}

// Restart stops the server and starts it again on the same port and data,
// as a restarted database pod would.
func (c *Cluster) Restart(ctx context.Context) error {
	if c.dataDir == "" {
		return errors.New("pgtemp: cannot restart a server given through TEST_DATABASE_URL")
	}
	return c.pgctl(ctx, "restart")
}

func (c *Cluster) pgctl(ctx context.Context, action string) error {
	logPath := filepath.Join(filepath.Dir(c.dataDir), "log")
	cmd := exec.CommandContext(ctx, c.pgCtl, "-D", c.dataDir, "-l", logPath, "-o", c.opts, "-w", "-t", "60", action)
	if out, err := c.run(cmd); err != nil {
		log, _ := os.ReadFile(logPath)
		return fmt.Errorf("pgtemp: pg_ctl %s: %w\n%s\n%s", action, err, out, log)
	}
	return nil
}

// NewDatabase creates an empty database in the cluster and returns its URL, so
// tests running in parallel never see each other's rows.
func (c *Cluster) NewDatabase(ctx context.Context) (string, error) {
	db, err := sql.Open("pgx", c.URL)
	if err != nil {
		return "", fmt.Errorf("pgtemp: open: %w", err)
	}
	defer db.Close()
	name := "t_" + strings.ToLower(rand.Text()[:16])
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("pgtemp: create database: %w", err)
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return "", fmt.Errorf("pgtemp: parse url: %w", err)
	}
	u.Path = "/" + name
	return u.String(), nil
}

func (c *Cluster) run(cmd *exec.Cmd) ([]byte, error) {
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	return cmd.CombinedOutput()
}

// findBinDir locates initdb: on PATH, else in Debian's versioned directories.
func findBinDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		return filepath.Dir(p), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("pgtemp: PostgreSQL server binaries (initdb, pg_ctl) not found: " +
		"install them (Debian/Ubuntu: apt-get install postgresql) or set TEST_DATABASE_URL")
}

type ids struct{ uid, gid int }

// serverCredential returns who runs the server: PostgreSQL refuses to run as
// root, so as root it runs as the "postgres" user.
func serverCredential() (*syscall.Credential, *ids, error) {
	if os.Geteuid() != 0 {
		return nil, nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, nil, fmt.Errorf("pgtemp: running as root needs a 'postgres' user to run the server: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, &ids{uid, gid}, nil
}

func waitConnect(ctx context.Context, dsn string, limit time.Duration) error {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	deadline := time.Now().Add(limit)
	for {
		err := db.PingContext(ctx)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtemp: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
