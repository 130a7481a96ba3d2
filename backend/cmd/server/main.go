// Command server is the todo-app backend.
//
//	server [serve]     run the HTTP API (migrating the database first)
//	server migrate     apply database migrations and exit
//	server healthcheck probe GET /health on PORT; exit 0 when healthy (for image health checks)
//	server version     print the version
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sethvargo/go-envconfig"

	"github.com/todo-app/todo-app/backend/internal/auth"
	"github.com/todo-app/todo-app/backend/internal/chat"
	"github.com/todo-app/todo-app/backend/internal/config"
	"github.com/todo-app/todo-app/backend/internal/gctune"
	"github.com/todo-app/todo-app/backend/internal/httpapi"
	"github.com/todo-app/todo-app/backend/internal/logging"
	"github.com/todo-app/todo-app/backend/internal/store"
	"github.com/todo-app/todo-app/backend/internal/tasks"
)

// Stamped at build time: -ldflags "-X main.version=… -X main.commit=…".
var (
	version = "dev"
	commit  = "unknown"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], envconfig.OsLookuper(), os.Stdout, nil); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

// run executes a subcommand. When ready is non-nil, serve sends the bound
// address on it once it accepts connections (tests and benchmarks use this).
func run(ctx context.Context, args []string, env envconfig.Lookuper, out io.Writer, ready chan<- string) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd = args[0]
	}
	switch cmd {
	case "serve":
		return serve(ctx, env, out, ready)
	case "migrate":
		return migrate(ctx, env, out)
	case "healthcheck":
		return healthcheck(ctx, env)
	case "version", "--version", "-v":
		fmt.Fprintf(out, "todo-app backend %s (commit %s)\n", version, commit)
		return nil
	}
	return fmt.Errorf("unknown command %q (want serve, migrate, healthcheck or version)", cmd)
}

func newLogger(cfg config.Config, out io.Writer) *logging.Log {
	level, _ := cfg.SlogLevel() // validated by config.Load
	return logging.New(out, cfg.LogFormat, level)
}

// errShuttingDown is what /ready reports while the server drains.
var errShuttingDown = errors.New("shutting down")

// openMigrated opens the configured database and applies pending migrations,
// retrying with growing waits while the database cannot be reached (refused,
// not resolvable yet, or dropping the connection) until DATABASE_START_TIMEOUT
// (in Kubernetes and compose it may still be starting when the server does),
// so the server either starts whole or exits. The caller closes the store.
func openMigrated(ctx context.Context, cfg config.Config) (*store.DB, []int, error) {
	deadline := time.Now().Add(cfg.DatabaseStartTimeout)
	// Waits of at most a second: a pod is ready (and a rollout moves on) about
	// as soon as its database is, and a connection attempt costs little.
	for wait := 500 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		db, applied, err := tryOpenMigrated(ctx, cfg)
		if err == nil || errors.Is(err, errMigrationRefused) {
			return db, applied, err
		}
		if time.Now().Add(wait).After(deadline) || ctx.Err() != nil {
			return nil, nil, fmt.Errorf("database not reachable after %s: %w", cfg.DatabaseStartTimeout, err)
		}
		slog.Warn("database not reachable yet, retrying", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// errMigrationRefused marks a start-up error that retrying cannot cure: a
// migration the database refused while answering.
var errMigrationRefused = errors.New("the database refused the migration")

func tryOpenMigrated(ctx context.Context, cfg config.Config) (*store.DB, []int, error) {
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, nil, err
	}
	applied, err := db.Migrate(ctx)
	if err != nil {
		// Still answering: the migration itself failed.
		if db.Ping(ctx) == nil {
			err = fmt.Errorf("%w: %w", errMigrationRefused, err)
		}
		db.Close()
		return nil, nil, err
	}
	return db, applied, nil
}

func migrate(ctx context.Context, env envconfig.Lookuper, out io.Writer) error {
	cfg, err := config.Load(ctx, env)
	if err != nil {
		return err
	}
	db, applied, err := openMigrated(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	fmt.Fprintf(out, "%s: applied %d migration(s) %v\n", db.Dialect(), len(applied), applied)
	return nil
}

// taskRepository puts the list cache, and its metrics, in front of db
// unless maxBytes is 0; the database's notifications keep it current until
// ctx ends.
func taskRepository(ctx context.Context, db *store.DB, maxBytes int) (tasks.Repository, []prometheus.Collector) {
	if maxBytes == 0 {
		return db, nil
	}
	cache := tasks.NewListCache(db, maxBytes)
	db.WatchTaskLists(ctx, cache.Changed, cache.Connected)
	return cache, []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "todo_task_list_cache_hits_total", Help: "Task listings answered from memory.",
		}, func() float64 { return float64(cache.Hits()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "todo_task_list_cache_trusted_hits_total", Help: "Task listings answered from memory with no query: the database's notifications said they were current.",
		}, func() float64 { return float64(cache.TrustedHits()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "todo_task_list_cache_misses_total", Help: "Task listings read from the database.",
		}, func() float64 { return float64(cache.Misses()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "todo_task_list_version_queries_total", Help: "Queries of list versions, each for all the listings waiting at once.",
		}, func() float64 { return float64(cache.VersionQueries()) }),
	}
}

func serve(ctx context.Context, env envconfig.Lookuper, out io.Writer, ready chan<- string) error {
	cfg, err := config.Load(ctx, env)
	if err != nil {
		return err
	}
	logs := newLogger(cfg, out)
	defer logs.Close() // what the buffer holds, written out last
	log := logs.Logger
	slog.SetDefault(log)
	gc := gctune.Apply()

	db, applied, err := openMigrated(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()

	taskRepo, collectors := taskRepository(ctx, db, cfg.TaskListCacheBytes)
	taskSvc := tasks.NewService(taskRepo)
	var assistant chat.Assistant = chat.Local{}
	provider := cfg.EffectiveChatProvider()
	if provider == config.ProviderOpenAI {
		assistant = chat.NewOpenAI(chat.OpenAIOptions{APIKey: cfg.OpenAIAPIKey, BaseURL: cfg.OpenAIBaseURL, Model: cfg.OpenAIModel})
	}
	var secret []byte
	if cfg.BetterAuthSecret != "" {
		secret = []byte(cfg.BetterAuthSecret)
	}
	var draining atomic.Bool
	api := httpapi.New(httpapi.Options{
		Tasks:    taskSvc,
		Chat:     chat.NewService(db, taskSvc, assistant),
		Verifier: auth.NewVerifier(auth.Options{JWKSURL: cfg.JWKSURL, Issuer: cfg.Issuer, Audience: cfg.Audience, HS256Secret: secret}),
		Ready: func(ctx context.Context) error {
			if draining.Load() {
				return errShuttingDown
			}
			return db.Ready(ctx)
		},
		Logger:   log,
		Requests: logs.Request,

		ChatRatePerMinute: cfg.ChatRatePerMinute,
		ChatRateBurst:     cfg.ChatRateBurst,
		CORSOrigins:       cfg.CORSAllowedOrigins,
		MaxBodyBytes:      cfg.MaxBodyBytes,
		Collectors:        collectors,
	})
	srv := &http.Server{
		Handler:           closingWhileDraining(api, &draining),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      90 * time.Second, // streamed chat replies extend their own deadline
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	ln, err := net.Listen("tcp", ":"+strconv.Itoa(cfg.Port))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	log.Info("serving", "addr", ln.Addr().String(), "version", version, "commit", commit,
		"database", db.Dialect(), "migrations_applied", applied, "chat_provider", provider,
		"gc_percent", gc.GCPercent, "memory_limit", gc.MemoryLimit)
	if ready != nil {
		ready <- ln.Addr().String()
	}

	if cfg.PprofAddr != "" {
		stop, err := serveProfiles(cfg.PprofAddr, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	if cfg.ShutdownDelay > 0 {
		// SIGTERM first: keep serving, unready and closing each connection after
		// its response, until the load balancers have dropped this instance.
		draining.Store(true)
		log.Info("draining", "delay", cfg.ShutdownDelay)
		select {
		case err := <-errc:
			return fmt.Errorf("serve: %w", err)
		case <-time.After(cfg.ShutdownDelay):
		}
	}
	// Then stop accepting, let in-flight requests finish, and close the database (deferred).
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
}

// closingWhileDraining ends each connection with the response it carries
// once draining has begun, so that clients move to other instances. Idle
// connections are not closed: a proxy may be sending a request on one at that
// moment, and a POST that meets a closed connection is answered 502, never
// retried. (http.Server.SetKeepAlivesEnabled(false) closes them.)
func closingWhileDraining(next http.Handler, draining *atomic.Bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if draining.Load() {
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, r)
	})
}

// serveProfiles serves Go's runtime profiles on addr, apart from the API.
func serveProfiles(addr string, log *slog.Logger) (stop func(), err error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("PPROF_ADDR: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	log.Info("serving profiles", "addr", ln.Addr().String())
	return func() { srv.Close() }, nil
}

func healthcheck(ctx context.Context, env envconfig.Lookuper) error {
	var c struct {
		Port int `env:"PORT, default=8000"`
	}
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: &c, Lookuper: env}); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(c.Port)+"/health", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: /health answered %s", resp.Status)
	}
	return nil
}
