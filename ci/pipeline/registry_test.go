package pipeline

import (
	"strings"
	"testing"
)

func TestRegistryAuthHost(t *testing.T) {
	for _, tt := range []struct{ in, want, err string }{
		{"ghcr.io", "ghcr.io", ""},
		{"GHCR.io/acme/todo-backend:1.0.0", "ghcr.io", ""},
		{"https://localhost:5000/acme", "localhost:5000", ""},
		{"index.docker.io", "docker.io", ""},
		{"registry-1.docker.io/library/postgres", "docker.io", ""},
		{"  ", "", "empty"},
		{"user@ghcr.io", "", "not a host"},
	} {
		got, err := RegistryAuthHost(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("RegistryAuthHost(%q) = %q, %v; want an error saying %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("RegistryAuthHost(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestFindRegistryAuth(t *testing.T) {
	hosts := []string{"ghcr.io", "localhost:5000", "ghcr.io"}
	for _, tt := range []struct {
		registry string
		want     int
	}{
		{"ghcr.io/acme", 2}, // the latest given wins
		{"localhost:5000/selftest", 1},
		{"localhost:5001/selftest", -1},
		{"quay.io/acme", -1},
		{"", -1},
	} {
		if got := FindRegistryAuth(hosts, tt.registry); got != tt.want {
			t.Errorf("FindRegistryAuth(%q) = %d, want %d", tt.registry, got, tt.want)
		}
	}
}
