package main

import (
	"testing"
	"time"
)

func TestParseWrk(t *testing.T) {
	const report = `Running 10s test @ http://127.0.0.1:8000/api/tasks
  1 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   412.31us    1.02ms  30.12ms   97.51%
    Req/Sec    46.26k     2.01k   49.80k    78.00%
  Latency Distribution
     50%  283.00us
     75%  351.00us
     90%  512.00us
     99%    4.54ms
  460312 requests in 10.00s, 7.46GB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  46031.18
Transfer/sec:    763.21MB
`
	for _, tc := range []struct {
		name    string
		report  string
		want    wrkResult
		wantErr bool
	}{
		{name: "full report", report: report, want: wrkResult{PerSecond: 46031.18, P50: 283 * time.Microsecond, P99: 4540 * time.Microsecond, Requests: 460312, Errors: 7}},
		{name: "without --latency", report: "  460312 requests in 10.00s, 7.46GB read\nRequests/sec:  46031.18\n", wantErr: true},
		{name: "garbled rate", report: "     50%  283.00us\n     99%    4.54ms\nRequests/sec:  lots\n", wantErr: true},
		{name: "garbled latency", report: "     50%  fast\n     99%    4.54ms\nRequests/sec:  1.0\n", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseWrk(tc.report)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("parseWrk accepted %q as %+v", tc.report, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("parseWrk = %+v, want %+v", got, tc.want)
			}
		})
	}
}
