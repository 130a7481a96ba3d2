// Package config loads the server's configuration from the environment.
package config

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/sethvargo/go-envconfig"
)

// Chat providers.
const (
	ProviderAuto   = "auto"
	ProviderOpenAI = "openai"
	ProviderLocal  = "local"
)

// Config is everything the server reads from its environment.
type Config struct {
	// Port is the listening port; 0 picks a free one (tests, benchmarks).
	Port int `env:"PORT, default=8000"`
	// DatabaseURL is postgres://… or sqlite://PATH; empty means an SQLite file
	// in the working directory.
	DatabaseURL string `env:"DATABASE_URL"`
	// DatabaseStartTimeout is how long start-up retries a database it cannot
	// reach before the server exits.
	DatabaseStartTimeout time.Duration `env:"DATABASE_START_TIMEOUT, default=60s"`

	JWKSURL          string `env:"AUTH_JWKS_URL, default=http://localhost:3000/api/auth/jwks"`
	Issuer           string `env:"AUTH_ISSUER"`
	Audience         string `env:"AUTH_AUDIENCE"`
	BetterAuthSecret string `env:"BETTER_AUTH_SECRET"`

	ChatProvider  string `env:"CHAT_PROVIDER, default=auto"`
	OpenAIAPIKey  string `env:"OPENAI_API_KEY"`
	OpenAIBaseURL string `env:"OPENAI_BASE_URL"`
	OpenAIModel   string `env:"OPENAI_MODEL, default=gpt-4o-mini"`
	// ChatRatePerMinute and ChatRateBurst bound each user's chat requests.
	ChatRatePerMinute float64 `env:"CHAT_RATE_LIMIT, default=30"`
	ChatRateBurst     int     `env:"CHAT_RATE_BURST, default=10"`

	CORSAllowedOrigins []string `env:"CORS_ALLOWED_ORIGINS"`
	MaxBodyBytes       int64    `env:"MAX_BODY_BYTES, default=1048576"`
	// TaskListCacheBytes bounds the memory that keeps listings to answer them
	// without reading them again (tasks.ListCache); 0 turns that off.
	TaskListCacheBytes int `env:"TASK_LIST_CACHE_BYTES, default=16777216"`

	LogLevel        string        `env:"LOG_LEVEL, default=info"`
	LogFormat       string        `env:"LOG_FORMAT, default=json"`
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT, default=15s"`
	// ShutdownDelay is how long SIGTERM keeps serving, unready, before it
	// stops accepting: load balancers drop an instance some time after
	// Kubernetes signals it, and until then they still send it requests.
	ShutdownDelay time.Duration `env:"SHUTDOWN_DELAY, default=0s"`
	// PprofAddr, when set, serves Go's runtime profiles (net/http/pprof) on
	// a listener of its own, apart from the API: keep it on loopback.
	PprofAddr string `env:"PPROF_ADDR"`
}

// Load reads the configuration through lookuper (envconfig.OsLookuper() in
// production) and validates it. Errors name the variable at fault.
func Load(ctx context.Context, lookuper envconfig.Lookuper) (Config, error) {
	var c Config
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: &c, Lookuper: lookuper}); err != nil {
		return Config{}, fmt.Errorf("invalid configuration: %s", nameVariable(err))
	}
	if err := c.validate(); err != nil {
		return Config{}, fmt.Errorf("invalid configuration: %w", err)
	}
	return c, nil
}

// nameVariable rewrites envconfig's "Field: …" errors to "VARIABLE: …".
func nameVariable(err error) string {
	field, rest, ok := strings.Cut(err.Error(), ": ")
	if f, found := reflect.TypeFor[Config]().FieldByName(field); ok && found {
		name, _, _ := strings.Cut(f.Tag.Get("env"), ",")
		return name + ": " + rest
	}
	return err.Error()
}

// placeholder matches values that stand in for a secret in examples and
// templates: tokens signed with one can be forged by anyone.
var placeholder = regexp.MustCompile(`(?i)change-?me|replace-?me|your[-_ ]?secret|^(secret|password|example)$`)

func (c Config) validate() error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{name}, args...)...))
	}
	if c.Port < 0 || c.Port > 65535 {
		bad("PORT", "must be between 0 and 65535, got %d", c.Port)
	}
	if c.DatabaseURL != "" {
		u, err := url.Parse(c.DatabaseURL)
		switch {
		case err != nil:
			bad("DATABASE_URL", "not a URL")
		case u.Scheme != "postgres" && u.Scheme != "postgresql" && u.Scheme != "sqlite":
			bad("DATABASE_URL", "scheme must be postgres, postgresql or sqlite, got %q", u.Scheme)
		}
	}
	if c.DatabaseStartTimeout <= 0 {
		bad("DATABASE_START_TIMEOUT", "must be positive, got %s", c.DatabaseStartTimeout)
	}
	if !isHTTPURL(c.JWKSURL) {
		bad("AUTH_JWKS_URL", "must be an http(s) URL, got %q", c.JWKSURL)
	}
	if c.BetterAuthSecret != "" && len(c.BetterAuthSecret) < 32 {
		bad("BETTER_AUTH_SECRET", "must be at least 32 characters")
	} else if placeholder.MatchString(c.BetterAuthSecret) {
		bad("BETTER_AUTH_SECRET", "is a placeholder, known to everyone: generate one (openssl rand -hex 32)")
	}
	switch c.ChatProvider {
	case ProviderAuto, ProviderLocal:
	case ProviderOpenAI:
		if c.OpenAIAPIKey == "" {
			bad("OPENAI_API_KEY", "required when CHAT_PROVIDER=openai")
		}
	default:
		bad("CHAT_PROVIDER", "must be auto, openai or local, got %q", c.ChatProvider)
	}
	if c.OpenAIBaseURL != "" && !isHTTPURL(c.OpenAIBaseURL) {
		bad("OPENAI_BASE_URL", "must be an http(s) URL, got %q", c.OpenAIBaseURL)
	}
	if c.ChatRatePerMinute <= 0 {
		bad("CHAT_RATE_LIMIT", "must be positive (requests per minute), got %v", c.ChatRatePerMinute)
	}
	if c.ChatRateBurst < 1 {
		bad("CHAT_RATE_BURST", "must be at least 1, got %d", c.ChatRateBurst)
	}
	for _, o := range c.CORSAllowedOrigins {
		if o == "*" {
			continue
		}
		if u, err := url.Parse(o); err != nil || u.Scheme == "" || u.Host == "" || (u.Path != "" && u.Path != "/") {
			bad("CORS_ALLOWED_ORIGINS", "%q is not an origin like https://example.com", o)
		}
	}
	if c.PprofAddr != "" {
		if _, _, err := net.SplitHostPort(c.PprofAddr); err != nil {
			bad("PPROF_ADDR", "must be host:port like 127.0.0.1:6060, got %q", c.PprofAddr)
		}
	}
	if c.MaxBodyBytes < 1024 {
		bad("MAX_BODY_BYTES", "must be at least 1024, got %d", c.MaxBodyBytes)
	}
	if c.TaskListCacheBytes < 0 {
		bad("TASK_LIST_CACHE_BYTES", "must be 0 (off) or a number of bytes, got %d", c.TaskListCacheBytes)
	}
	if _, err := c.SlogLevel(); err != nil {
		bad("LOG_LEVEL", "must be debug, info, warn or error, got %q", c.LogLevel)
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		bad("LOG_FORMAT", "must be json or text, got %q", c.LogFormat)
	}
	if c.ShutdownDelay < 0 {
		bad("SHUTDOWN_DELAY", "must be 0 or positive, got %s", c.ShutdownDelay)
	}
	if c.ShutdownTimeout <= 0 {
		bad("SHUTDOWN_TIMEOUT", "must be positive, got %s", c.ShutdownTimeout)
	}
	return errors.Join(errs...)
}

// SlogLevel parses LOG_LEVEL.
func (c Config) SlogLevel() (slog.Level, error) {
	var l slog.Level
	err := l.UnmarshalText([]byte(strings.ToUpper(c.LogLevel)))
	return l, err
}

// EffectiveChatProvider resolves "auto": openai when a key is set, else local.
func (c Config) EffectiveChatProvider() string {
	if c.ChatProvider == ProviderAuto {
		if c.OpenAIAPIKey != "" {
			return ProviderOpenAI
		}
		return ProviderLocal
	}
	return c.ChatProvider
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
