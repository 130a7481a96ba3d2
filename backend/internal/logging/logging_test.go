package logging

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is an output the test reads while the log writes it.
type syncBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestLinesAreBufferedThenWrittenOut(t *testing.T) {
	out := &syncBuffer{}
	log := New(out, "json", 0)
	for i := range 100 {
		log.Info("request", "n", i)
	}
	if got := out.String(); got != "" {
		t.Fatalf("100 lines written at once, one by one: %d bytes", len(got))
	}
	deadline := time.Now().Add(10 * FlushInterval)
	for strings.Count(out.String(), "\n") < 100 && time.Now().Before(deadline) {
		time.Sleep(FlushInterval / 10)
	}
	if n := strings.Count(out.String(), "\n"); n != 100 {
		t.Fatalf("%d of 100 lines written out after %s", n, 10*FlushInterval)
	}
	if out.writes > 5 {
		t.Errorf("100 lines took %d writes", out.writes)
	}
	log.Close()
}

func TestWarningsAreWrittenAtOnce(t *testing.T) {
	out := &syncBuffer{}
	log := New(out, "text", 0)
	defer log.Close()
	log.Info("before")
	log.With("request_id", "abc").Warn("database slow")
	got := out.String()
	if !strings.Contains(got, "before") || !strings.Contains(got, "database slow") || !strings.Contains(got, "request_id=abc") {
		t.Fatalf("after a warning the output is %q: want it and what came before", got)
	}
}

func TestCloseWritesEverythingOut(t *testing.T) {
	out := &syncBuffer{}
	log := New(out, "json", 0)
	log.Info("last request")
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "last request") {
		t.Fatal("a line logged before Close was lost")
	}
	log.Info("after close")
	if !strings.Contains(out.String(), "after close") {
		t.Fatal("a line logged after Close waits in the buffer")
	}
}

// The request line is what slog writes for the same record, in both
// formats, whatever the path holds.
func TestRequestLineIsSlogs(t *testing.T) {
	at := time.Date(2026, 12, 7, 1, 2, 3, 456789000, time.UTC)
	for _, format := range []string{"json", "text"} {
		for _, path := range []string{"/api/tasks", `/api/ta"sks\x`, "/a b=c", "/ünï\u2028code", "/bad\xffutf8", "/tab\there", ""} {
			line := RequestLine{ID: "ABCDEFGHIJKLMNOPQRST", Method: "GET", Path: path, Route: "GET /api/tasks",
				Status: 200, Bytes: 17272, Duration: 354123 * time.Nanosecond}
			fast := &syncBuffer{}
			log := New(fast, format, slog.LevelInfo)
			log.now = func() time.Time { return at }
			log.Request(slog.LevelInfo, line)
			log.Close()

			var want bytes.Buffer
			var h slog.Handler = slog.NewJSONHandler(&want, nil)
			if format == "text" {
				h = slog.NewTextHandler(&want, nil)
			}
			r := slog.NewRecord(at, slog.LevelInfo, "request", 0)
			r.AddAttrs(slog.String("request_id", line.ID), slog.String("method", line.Method), slog.String("path", line.Path),
				slog.String("route", line.Route), slog.Int("status", line.Status), slog.Int("bytes", line.Bytes),
				slog.Duration("duration", line.Duration))
			if err := h.Handle(t.Context(), r); err != nil {
				t.Fatal(err)
			}
			if got := fast.String(); got != want.String() {
				t.Errorf("%s, path %q:\n got %s\nwant %s", format, path, got, want.String())
			}
		}
	}
	quiet := &syncBuffer{}
	log := New(quiet, "json", slog.LevelWarn)
	log.Request(slog.LevelInfo, RequestLine{})
	log.Close()
	if quiet.String() != "" {
		t.Error("a request line below the level was written")
	}
}
