package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// wrkResult is what one wrk run measured.
type wrkResult struct {
	PerSecond float64
	P50, P99  time.Duration
	Requests  int64
	// Errors counts socket errors and responses other than 2xx and 3xx.
	Errors int64
}

// runWrk loads url with wrk (-t1 -c connections, --latency) for d, sending headers.
func runWrk(ctx context.Context, url string, connections int, d time.Duration, headers ...string) (wrkResult, error) {
	args := []string{"-t1", fmt.Sprintf("-c%d", connections), fmt.Sprintf("-d%ds", int(d.Seconds())), "--latency"}
	for _, h := range headers {
		args = append(args, "-H", h)
	}
	out, err := exec.CommandContext(ctx, "wrk", append(args, url)...).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %w\n%s", url, err, out)
	}
	return parseWrk(string(out))
}

// parseWrk reads wrk's report: Requests/sec, the 50% and 99% latencies, the
// request count, socket errors and non-2xx/3xx responses.
func parseWrk(report string) (wrkResult, error) {
	var r wrkResult
	var found int
	for _, line := range strings.Split(report, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && f[0] == "Requests/sec:":
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return r, fmt.Errorf("wrk: Requests/sec %q", f[1])
			}
			r.PerSecond, found = v, found+1
		case len(f) == 2 && (f[0] == "50%" || f[0] == "99%"):
			d, err := parseWrkDuration(f[1])
			if err != nil {
				return r, err
			}
			if f[0] == "50%" {
				r.P50 = d
			} else {
				r.P99 = d
			}
			found++
		case len(f) >= 2 && f[1] == "requests" && strings.Contains(line, " in "):
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return r, fmt.Errorf("wrk: request count %q", f[0])
			}
			r.Requests = n
		case strings.HasPrefix(strings.TrimSpace(line), "Socket errors:"):
			// Socket errors: connect 0, read 0, write 0, timeout 0
			for _, part := range strings.Split(strings.TrimPrefix(strings.TrimSpace(line), "Socket errors:"), ",") {
				if kv := strings.Fields(part); len(kv) == 2 {
					n, _ := strconv.ParseInt(kv[1], 10, 64)
					r.Errors += n
				}
			}
		case strings.HasPrefix(strings.TrimSpace(line), "Non-2xx or 3xx responses:"):
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "Non-2xx or 3xx responses:")), 10, 64)
			r.Errors += n
		}
	}
	if found != 3 {
		return r, errors.New("wrk's report lacks Requests/sec or the 50%/99% latencies (--latency)")
	}
	return r, nil
}

// parseWrkDuration reads wrk's latencies: 812.00us, 1.23ms, 2.01s.
func parseWrkDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.Replace(s, "us", "µs", 1))
	if err != nil {
		return 0, fmt.Errorf("wrk latency %q: %w", s, err)
	}
	return d, nil
}
