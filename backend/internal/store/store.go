// Package store persists tasks and conversations in PostgreSQL (production)
// or an embedded SQLite file (zero-configuration local runs). Both share one
// implementation over database/sql; only the schema and placeholders differ.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" driver
	"modernc.org/sqlite"               // "sqlite" driver
)

//go:embed migrations
var migrationFiles embed.FS

// migrationLockKey is the PostgreSQL advisory lock held while migrating ("todo" in ASCII).
const migrationLockKey = 0x746f646f

// DefaultSQLiteFile is used when no DATABASE_URL is configured.
const DefaultSQLiteFile = "todo.db"

// DB is a store over PostgreSQL or SQLite.
type DB struct {
	db      *sql.DB
	dialect dialect
	url     string // for connections of its own, such as WatchTaskLists's
}

type dialect struct {
	name string // postgres or sqlite, also the migrations directory
	// lock serialises migrations across processes inside tx.
	lock func(ctx context.Context, tx *sql.Tx) error
}

// Open connects to databaseURL: postgres://…, sqlite://PATH, or "" for the
// SQLite file DefaultSQLiteFile in the working directory. It does not migrate.
func Open(ctx context.Context, databaseURL string) (*DB, error) {
	var (
		s   DB
		err error
	)
	switch {
	case databaseURL == "" || strings.HasPrefix(databaseURL, "sqlite://"):
		file := strings.TrimPrefix(databaseURL, "sqlite://")
		if file == "" {
			file = DefaultSQLiteFile
		}
		s.dialect = dialect{name: "sqlite", lock: func(context.Context, *sql.Tx) error {
			return nil // _txlock=immediate: the transaction already holds the write lock
		}}
		// Only settings of the connection here: every new connection applies
		// them, and none touches the file. The write-ahead log is a setting of
		// the file, turned on once below.
		dsn := "file:" + file + "?" + url.Values{
			"_pragma": {fmt.Sprintf("busy_timeout(%d)", sqliteBusyTimeout.Milliseconds()), "foreign_keys(1)", "synchronous(NORMAL)"},
			"_txlock": {"immediate"},
		}.Encode()
		s.db, err = sql.Open("sqlite", dsn)
	case strings.HasPrefix(databaseURL, "postgres://") || strings.HasPrefix(databaseURL, "postgresql://"):
		s.dialect = dialect{name: "postgres", lock: func(ctx context.Context, tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", migrationLockKey)
			return err
		}}
		s.db, err = sql.Open("pgx", databaseURL)
		s.url = databaseURL
		if err == nil {
			s.db.SetMaxOpenConns(20)
			s.db.SetMaxIdleConns(20)
			s.db.SetConnMaxIdleTime(5 * time.Minute)
		}
	default:
		return nil, errors.New("store: database URL must start with postgres://, postgresql:// or sqlite://")
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", s.dialect.name, err)
	}
	connect := func() error { return s.db.PingContext(ctx) }
	if s.dialect.name == "sqlite" {
		connect = func() error {
			return retryBusy(ctx, func() error {
				if err := s.db.PingContext(ctx); err != nil {
					return err
				}
				_, err := s.db.ExecContext(ctx, "PRAGMA journal_mode=WAL")
				return err
			})
		}
	}
	if err := connect(); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("store: connect to %s: %w", s.dialect.name, err)
	}
	return &s, nil
}

// sqliteBusyTimeout is how long an SQLite statement waits for another
// connection's lock, and how long Open and Migrate retry what SQLite
// reports busy at once, without waiting.
const sqliteBusyTimeout = 10 * time.Second

// retryBusy runs f until it succeeds, fails with an error other than SQLite's
// busy or locked, or sqliteBusyTimeout has passed. busy_timeout does not cover
// every lock: opening a file that another process (another replica, a
// migration) is creating or switching to its write-ahead log, or whose log
// index it is recovering, fails at once with SQLITE_BUSY.
func retryBusy(ctx context.Context, f func() error) error {
	deadline := time.Now().Add(sqliteBusyTimeout)
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		err := f()
		if err == nil || !isBusy(err) || time.Now().Add(wait).After(deadline) {
			return err
		}
		// Jitter, so that replicas that collided do not collide again.
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait/2 + rand.N(wait)):
		}
	}
}

// isBusy reports whether err is SQLite's SQLITE_BUSY or SQLITE_LOCKED, with
// any extended code.
func isBusy(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	const busy, locked = 5, 6 // primary result codes, the low byte of an extended one
	code := e.Code() & 0xff
	return code == busy || code == locked
}

// Dialect names the database kind: "postgres" or "sqlite".
func (s *DB) Dialect() string { return s.dialect.name }

// Ping reports whether the database answers.
func (s *DB) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Close closes the connection pool.
func (s *DB) Close() error { return s.db.Close() }

type migration struct {
	version int
	name    string
	sql     string
}

func (s *DB) migrations() ([]migration, error) {
	dir := path.Join("migrations", s.dialect.name)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		prefix, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(prefix)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("store: migration %s: name must be NNNN_description.sql", e.Name())
		}
		body, err := fs.ReadFile(migrationFiles, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// Migrate applies the embedded migrations that are not yet applied, in one
// transaction under a lock, so replicas starting together apply each once.
// It returns the versions it applied.
func (s *DB) Migrate(ctx context.Context) ([]int, error) {
	if s.dialect.name != "sqlite" {
		return s.migrate(ctx)
	}
	var applied []int
	// The transaction is all or nothing: one that SQLite found busy is safe to run again.
	err := retryBusy(ctx, func() (err error) {
		applied, err = s.migrate(ctx)
		return err
	})
	return applied, err
}

func (s *DB) migrate(ctx context.Context) ([]int, error) {
	ms, err := s.migrations()
	if err != nil {
		return nil, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("store: migrate: begin: %w", err)
	}
	defer tx.Rollback() // a no-op after Commit
	if err := s.dialect.lock(ctx, tx); err != nil {
		return nil, fmt.Errorf("store: migrate: lock: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		return nil, fmt.Errorf("store: migrate: %w", err)
	}
	applied := map[int]bool{}
	rows, err := tx.QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("store: migrate: %w", err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: migrate: %w", err)
		}
		applied[v] = true
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("store: migrate: %w", err)
	}
	var done []int
	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return nil, fmt.Errorf("store: migration %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, s.q("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"),
			m.version, m.name, time.Now().UTC().Format(time.RFC3339)); err != nil {
			return nil, fmt.Errorf("store: record migration %s: %w", m.name, err)
		}
		done = append(done, m.version)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("store: migrate: commit: %w", err)
	}
	return done, nil
}

// Ready reports whether the database answers and every embedded migration is applied.
func (s *DB) Ready(ctx context.Context) error {
	ms, err := s.migrations()
	if err != nil {
		return err
	}
	var latest sql.NullInt64
	if err := s.db.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&latest); err != nil {
		return fmt.Errorf("store: not ready: %w", err)
	}
	if want := ms[len(ms)-1].version; !latest.Valid || int(latest.Int64) < want {
		return fmt.Errorf("store: not ready: schema at version %d, want %d", latest.Int64, want)
	}
	return nil
}

// q rewrites ? placeholders for the dialect (PostgreSQL wants $1, $2, …).
// Queries in this package never contain a literal '?'.
func (s *DB) q(query string) string {
	if s.dialect.name != "postgres" {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// now is the timestamp stored for writes, at PostgreSQL's precision so that
// what a write returns equals what a later read returns.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// timestamp scans what either driver returns for a timestamp column.
type timestamp struct{ t *time.Time }

func (ts timestamp) Scan(v any) error {
	switch v := v.(type) {
	case time.Time:
		*ts.t = v.UTC()
		return nil
	case string:
		return ts.parse(v)
	case []byte:
		return ts.parse(string(v))
	}
	return fmt.Errorf("store: cannot scan %T into a timestamp", v)
}

func (ts timestamp) parse(s string) error {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			*ts.t = t.UTC()
			return nil
		}
	}
	return fmt.Errorf("store: unrecognised timestamp %q", s)
}
