package proof

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// A kind's line says when its failures began and ended and what they were:
// the first few, and the last when there were more.
func TestTrafficLinesSayWhatFailedFirstAndLast(t *testing.T) {
	for _, tt := range []struct {
		name     string
		failures []string
		want     []string
		wantNot  []string
	}{
		{name: "none", want: []string{"auth    failed 0 of 5"}, wantNot: []string{"failures from", "last:"}},
		{name: "few", failures: []string{"a", "b"}, want: []string{"failed 2 of 5", "first: a | b"}, wantNot: []string{"last:"}},
		{name: "many", failures: []string{"a", "b", "c", "d", "e"}, want: []string{"failed 5 of 5", "first: a | b | c; last: e"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			started := time.Now()
			k := &kind{name: "auth"}
			for i := range 5 {
				var err error
				if i < len(tt.failures) {
					err = errors.New(tt.failures[i])
				}
				k.record(time.Millisecond, err)
			}
			lines := trafficResult{kinds: []kindResult{k.result(started)}}.lines()
			if len(lines) != 1 {
				t.Fatalf("lines = %q, want one", lines)
			}
			for _, w := range tt.want {
				if !strings.Contains(lines[0], w) {
					t.Errorf("line %q lacks %q", lines[0], w)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(lines[0], w) {
					t.Errorf("line %q has %q", lines[0], w)
				}
			}
		})
	}
}
