package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A burst of events goes out in one write when the handler returns; a paced
// stream is flushed as it goes; nothing touches the response after end.
func TestSSEFlushesBurstsOnce(t *testing.T) {
	for _, tt := range []struct {
		name        string
		gap         time.Duration // between events
		endAfter    time.Duration // after the last event
		wantFlushed bool
	}{
		{"a burst is written once, at the end", 0, 0, false},
		{"a paced stream is flushed as it goes", 2 * flushDelay, 0, true},
		{"a flush pending at the end is cancelled", 0, flushDelay / 2, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			e := &sse{w: rec, rc: http.NewResponseController(rec), tools: toolCounter{}}
			e.send("token", map[string]string{"text": "a"})
			time.Sleep(tt.gap)
			e.send("done", map[string]string{})
			time.Sleep(tt.endAfter)
			e.end()
			time.Sleep(2 * flushDelay) // a flush still scheduled would have run
			e.mu.Lock()
			flushed, body := rec.Flushed, rec.Body.String()
			e.mu.Unlock()
			if flushed != tt.wantFlushed {
				t.Errorf("flushed = %v, want %v", flushed, tt.wantFlushed)
			}
			if !strings.Contains(body, "event: token") || !strings.HasSuffix(body, "event: done\ndata: {}\n\n") {
				t.Errorf("body = %q", body)
			}
		})
	}
}
