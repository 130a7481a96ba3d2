package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/todo-app/todo-app/backend/internal/config"
)

func TestDefaults(t *testing.T) {
	c, err := config.Load(t.Context(), envconfig.MapLookuper(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 8000 || c.DatabaseURL != "" || c.JWKSURL != "http://localhost:3000/api/auth/jwks" ||
		c.EffectiveChatProvider() != config.ProviderLocal || c.LogFormat != "json" || c.ShutdownTimeout != 15*time.Second ||
		c.TaskListCacheBytes != 16<<20 {
		t.Fatalf("defaults = %+v", c)
	}
}

func TestProviderAuto(t *testing.T) {
	c, err := config.Load(t.Context(), envconfig.MapLookuper(map[string]string{"OPENAI_API_KEY": "sk-test"}))
	if err != nil || c.EffectiveChatProvider() != config.ProviderOpenAI {
		t.Fatalf("auto with a key = %q, %v; want openai", c.EffectiveChatProvider(), err)
	}
}

func TestValidValues(t *testing.T) {
	env := map[string]string{
		"PORT": "9000", "DATABASE_URL": "postgres://u:p@db:5432/todo?sslmode=disable",
		"AUTH_JWKS_URL": "https://app.example.com/api/auth/jwks", "AUTH_ISSUER": "https://app.example.com",
		"AUTH_AUDIENCE": "https://app.example.com", "BETTER_AUTH_SECRET": strings.Repeat("s", 32),
		"CHAT_PROVIDER": "openai", "OPENAI_API_KEY": "k", "OPENAI_BASE_URL": "http://localhost:11434/v1",
		"OPENAI_MODEL": "llama3", "CORS_ALLOWED_ORIGINS": "http://localhost:3000,https://todo.example.com",
		"LOG_LEVEL": "debug", "LOG_FORMAT": "text", "SHUTDOWN_TIMEOUT": "5s", "TASK_LIST_CACHE_BYTES": "0",
	}
	c, err := config.Load(t.Context(), envconfig.MapLookuper(env))
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 9000 || len(c.CORSAllowedOrigins) != 2 || c.ShutdownTimeout != 5*time.Second || c.OpenAIModel != "llama3" ||
		c.TaskListCacheBytes != 0 {
		t.Fatalf("loaded %+v", c)
	}
}

func TestInvalidNamesTheVariable(t *testing.T) {
	tests := map[string]map[string]string{
		"PORT":                   {"PORT": "abc"},
		"PORT ":                  {"PORT": "70000"},
		"DATABASE_URL":           {"DATABASE_URL": "mysql://x"},
		"AUTH_JWKS_URL":          {"AUTH_JWKS_URL": "not a url"},
		"BETTER_AUTH_SECRET":     {"BETTER_AUTH_SECRET": "short"},
		"BETTER_AUTH_SECRET ":    {"BETTER_AUTH_SECRET": "change-me-to-at-least-32-random-characters"},
		"CHAT_PROVIDER":          {"CHAT_PROVIDER": "gemini"},
		"OPENAI_API_KEY":         {"CHAT_PROVIDER": "openai"},
		"OPENAI_BASE_URL":        {"OPENAI_BASE_URL": "ftp://x"},
		"CHAT_RATE_LIMIT":        {"CHAT_RATE_LIMIT": "0"},
		"CHAT_RATE_BURST":        {"CHAT_RATE_BURST": "0"},
		"CORS_ALLOWED_ORIGINS":   {"CORS_ALLOWED_ORIGINS": "example.com"},
		"TASK_LIST_CACHE_BYTES":  {"TASK_LIST_CACHE_BYTES": "-1"},
		"LOG_LEVEL":              {"LOG_LEVEL": "loud"},
		"LOG_FORMAT":             {"LOG_FORMAT": "xml"},
		"SHUTDOWN_TIMEOUT":       {"SHUTDOWN_TIMEOUT": "soon"},
		"SHUTDOWN_TIMEOUT ":      {"SHUTDOWN_TIMEOUT": "-1s"},
		"SHUTDOWN_DELAY":         {"SHUTDOWN_DELAY": "-1s"},
		"DATABASE_START_TIMEOUT": {"DATABASE_START_TIMEOUT": "0s"},
		"PPROF_ADDR":             {"PPROF_ADDR": "6060"},
	}
	for variable, env := range tests {
		t.Run(variable, func(t *testing.T) {
			_, err := config.Load(t.Context(), envconfig.MapLookuper(env))
			if err == nil {
				t.Fatalf("Load(%v) accepted bad configuration", env)
			}
			if want := strings.TrimSpace(variable) + ": "; !strings.Contains(err.Error(), want) {
				t.Fatalf("error %q does not name %s", err, want)
			}
		})
	}
}
