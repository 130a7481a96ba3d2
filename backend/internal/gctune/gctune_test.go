package gctune

import (
	"os"
	"path/filepath"
	"testing"
)

func TestContainerLimit(t *testing.T) {
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tt := range []struct {
		name  string
		files []string
		want  int64
		ok    bool
	}{
		{"cgroup v2 limit", []string{file("v2", "134217728\n")}, 134217728, true},
		{"cgroup v2 without one", []string{file("v2max", "max\n"), file("v1", "134217728\n")}, 0, false},
		{"cgroup v1 limit, v2 absent", []string{filepath.Join(dir, "none"), file("v1b", "268435456\n")}, 268435456, true},
		{"cgroup v1 without one", []string{file("v1max", "9223372036854771712\n")}, 0, false},
		{"neither", []string{filepath.Join(dir, "none")}, 0, false},
	} {
		got, ok := containerLimit(tt.files)
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: %d, %v; want %d, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func TestApplyLeavesWhatTheEnvironmentSets(t *testing.T) {
	t.Setenv("GOGC", "150")
	t.Setenv("GOMEMLIMIT", "100MiB")
	if s := Apply(); s != (Settings{}) {
		t.Errorf("with GOGC and GOMEMLIMIT set, Apply set %+v", s)
	}
}
