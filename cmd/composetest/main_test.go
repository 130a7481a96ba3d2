package main

import (
	"net/url"
	"strings"
	"testing"
)

func TestLoadedImage(t *testing.T) {
	for out, want := range map[string]string{
		"Loaded image: todo-backend:local\n":                         "todo-backend:local",
		"Loaded image ID: sha256:" + strings.Repeat("ab", 32) + "\n": "sha256:" + strings.Repeat("ab", 32),
		"": "",
	} {
		got, err := loadedImage(out)
		if got != want || (err != nil) != (want == "") {
			t.Errorf("loadedImage(%q) = %q, %v; want %q", out, got, err, want)
		}
	}
}

// The generated password holds what a URL treats specially: spliced into
// postgres://todo:PASSWORD@postgres it would not parse as the user meant.
func TestAwkwardPassword(t *testing.T) {
	p := awkwardPassword()
	for _, c := range "/+=@:%" {
		if !strings.ContainsRune(p, c) {
			t.Fatalf("%q lacks %q", p, c)
		}
	}
	if u, err := url.Parse("postgres://todo:" + p + "@postgres:5432/todo"); err == nil && u.User != nil {
		if pw, _ := u.User.Password(); pw == p {
			t.Fatalf("%q survives a URL: it tests nothing", p)
		}
	}
	if awkwardPassword() == p {
		t.Error("two passwords are the same")
	}
}

func TestSummary(t *testing.T) {
	for _, tt := range []struct {
		passed, failed, total int
		want                  string
	}{
		{6, 0, 6, "compose: 6 passed, 0 failed"},
		{4, 1, 6, "compose: 4 passed, 1 failed, 1 not run"},
		{1, 2, 6, "compose: 1 passed, 2 failed, 3 not run"},
	} {
		if got := summary(tt.passed, tt.failed, tt.total); got != tt.want {
			t.Errorf("summary(%d, %d, %d) = %q, want %q", tt.passed, tt.failed, tt.total, got, tt.want)
		}
	}
}
