package httpapi

import (
	"net/http/httptest"
	"testing"
)

// A client after its own write asks for the listing as the database has it.
func TestRevalidate(t *testing.T) {
	for _, tt := range []struct {
		headers []string
		want    bool
	}{
		{nil, false},
		{[]string{"no-cache"}, true},
		{[]string{"max-age=0"}, true},
		{[]string{"No-Cache"}, true},
		{[]string{"no-transform, no-cache"}, true},
		{[]string{"max-age=60"}, false},
		{[]string{"no-store"}, false},
		{[]string{"private", "no-cache"}, true},
	} {
		r := httptest.NewRequest("GET", "/api/tasks", nil)
		for _, h := range tt.headers {
			r.Header.Add("Cache-Control", h)
		}
		if got := revalidate(r); got != tt.want {
			t.Errorf("Cache-Control %q: revalidate %v, want %v", tt.headers, got, tt.want)
		}
	}
}
