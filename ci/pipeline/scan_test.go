package pipeline

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// testdata/trivy-report.json is what Trivy 0.67.2 wrote for a root
// filesystem holding a Go binary linked with golang.org/x/crypto v0.30.0 and
// lodash 4.17.20, one lodash finding accepted in an ignore file.
func TestReadTrivyReportAndSummary(t *testing.T) {
	data, err := os.ReadFile("testdata/trivy-report.json")
	if err != nil {
		t.Fatal(err)
	}
	r, err := ReadTrivyReport("backend", data)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Targets) != 2 || len(r.Findings) != 3 || len(r.Suppressed) != 1 {
		t.Fatalf("targets %v, %d findings, %d suppressed", r.Targets, len(r.Findings), len(r.Suppressed))
	}
	for _, tt := range []struct {
		threshold string
		gated     int
		want      []string
		not       []string
	}{
		{"CRITICAL", 1, []string{
			"backend, the todo-backend image: 3 findings: CRITICAL 1, HIGH 2 (2 targets scanned; fails at CRITICAL and above)",
			"server (gobinary)", "golang.org/x/crypto", "v0.30.0", "0.31.0", "CVE-2024-45337", "CRITICAL",
			"hidden by .trivyignore.yaml: MEDIUM CVE-2020-28500 (lodash 4.17.20): the ReDoS needs input the app never passes to lodash"},
			[]string{"CVE-2021-23337"}},
		{"HIGH", 3, []string{"CVE-2021-23337", "4.17.21", "Node.js (node-pkg)"}, nil},
	} {
		if got := r.AtLeast(tt.threshold); len(got) != tt.gated {
			t.Errorf("%s: %d findings gate, want %d", tt.threshold, len(got), tt.gated)
		}
		summary := r.Summary(tt.threshold)
		for _, w := range tt.want {
			if !strings.Contains(summary, w) {
				t.Errorf("%s: the summary lacks %q:\n%s", tt.threshold, w, summary)
			}
		}
		for _, n := range tt.not {
			if strings.Contains(summary, n) {
				t.Errorf("%s: the summary lists %q, below the threshold:\n%s", tt.threshold, n, summary)
			}
		}
	}
	clean, err := ReadTrivyReport("frontend", []byte(`{"SchemaVersion": 2, "Results": [{"Target": "debian 12.15", "Type": "debian"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := clean.Summary("CRITICAL"); got != "frontend, the todo-frontend image: no finding (1 target scanned; fails at CRITICAL and above)\n" {
		t.Errorf("a clean summary: %q", got)
	}
	if _, err := ReadTrivyReport("x", []byte(`{"SchemaVersion": 1}`)); err == nil {
		t.Error("a report of another schema was read")
	}
}

func TestCheckIgnoreFile(t *testing.T) {
	for _, tt := range []struct {
		name, file, want string
	}{
		{"accepted with a reason and a date", "vulnerabilities:\n  - id: CVE-2024-45337\n    statement: not reachable\n    expired_at: 2027-01-31\n", ""},
		{"empty", "", ""},
		{"no statement", "vulnerabilities:\n  - id: CVE-2024-45337\n    expired_at: 2027-01-31\n", "vulnerabilities[0] (CVE-2024-45337): no statement"},
		{"blank statement", "misconfigurations:\n  - id: AVD-KSV-0001\n    statement: \" \"\n    expired_at: 2027-01-31\n", "no statement"},
		{"no date", "vulnerabilities:\n  - id: CVE-1\n    statement: fine\n", "no expired_at"},
		{"not a date", "vulnerabilities:\n  - id: CVE-1\n    statement: fine\n    expired_at: someday\n", `expired_at "someday"`},
		{"no id", "secrets:\n  - statement: fine\n    expired_at: 2027-01-31\n", "secrets[0]: no id"},
		{"another kind", "cves:\n  - id: CVE-1\n", `"cves": not a kind`},
		{"not YAML of lists", "vulnerabilities: CVE-1\n", "not Trivy's YAML ignore file"},
	} {
		err := CheckIgnoreFile([]byte(tt.file))
		if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
}

func TestScanSummary(t *testing.T) {
	data, err := os.ReadFile("testdata/trivy-report.json")
	if err != nil {
		t.Fatal(err)
	}
	found, _ := ReadTrivyReport("backend", data)
	clean, _ := ReadTrivyReport("config", []byte(`{"SchemaVersion": 2, "Results": [{"Target": "backend/Dockerfile", "Type": "dockerfile"}]}`))
	out, err := ScanSummary("CRITICAL", []ScanResult{{Part: "config", Report: clean}})
	if err != nil || !strings.Contains(out, "config     ok") || !strings.Contains(out, "config, the chart and both Dockerfiles: no finding") {
		t.Errorf("a clean scan: %v\n%s", err, out)
	}
	_, err = ScanSummary("CRITICAL", []ScanResult{{Part: "backend", Report: found}, {Part: "config", Report: clean},
		{Part: "frontend", Err: errors.New("trivy could not scan frontend (exit 1): DB download failed")}})
	if err == nil {
		t.Fatal("findings at the threshold and a failed scan passed")
	}
	for _, want := range []string{"2 of 3 failed (backend, frontend)", "backend    FAILED", "config     ok",
		"CVE-2024-45337", "config, the chart and both Dockerfiles: no finding", "frontend: trivy could not scan frontend (exit 1): DB download failed"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the report lacks %q:\n%s", want, err)
		}
	}
}
