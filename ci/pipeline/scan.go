package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"go.yaml.in/yaml/v3"
)

// TrivySeverities are Trivy's severities, lowest first.
var TrivySeverities = []string{"UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"}

// Finding is one thing a scan found: a vulnerable package, a misconfiguration
// or a secret.
type Finding struct {
	Target    string // what Trivy scanned: a binary, the OS packages, a file
	Package   string // the package, or the check's ID for a misconfiguration, or the rule for a secret
	Installed string
	Fixed     string
	ID        string // the advisory (CVE-…, GHSA-…) or the check (AVD-…)
	Severity  string
	Title     string
}

// Suppressed is a finding an ignore file hid, with the reason it gives.
type Suppressed struct {
	Finding
	Statement string
}

// trivyReport is the part of Trivy's JSON report (schema 2) a scan reads.
type trivyReport struct {
	SchemaVersion int
	Results       []struct {
		Target          string
		Type            string
		Vulnerabilities []struct {
			VulnerabilityID, PkgName, InstalledVersion, FixedVersion, Severity, Title string
		}
		Misconfigurations []struct {
			ID, AVDID, Title, Severity, Status string
		}
		Secrets []struct {
			RuleID, Category, Severity, Title string
		}
		ExperimentalModifiedFindings []struct {
			Type, Status, Statement string
			Finding                 struct {
				VulnerabilityID, PkgName, InstalledVersion, FixedVersion, Severity, Title string
				ID, AVDID, RuleID                                                         string
			}
		}
	}
}

// scanSubjects say what each part of a scan looks at.
var scanSubjects = map[string]string{"backend": "the " + BackendImage + " image", "frontend": "the " + FrontendImage + " image",
	"config": "the chart and both Dockerfiles"}

// ScanReport is what a scan of one part found.
type ScanReport struct {
	Part       string
	Targets    []string // what Trivy scanned
	Findings   []Finding
	Suppressed []Suppressed
}

// ReadTrivyReport reads Trivy's JSON report of one part of a scan.
func ReadTrivyReport(part string, data []byte) (ScanReport, error) {
	var r trivyReport
	if err := json.Unmarshal(data, &r); err != nil {
		return ScanReport{}, fmt.Errorf("%s: Trivy's report is not JSON: %w", part, err)
	}
	if r.SchemaVersion != 2 {
		return ScanReport{}, fmt.Errorf("%s: Trivy's report has schema %d, want 2", part, r.SchemaVersion)
	}
	out := ScanReport{Part: part}
	for _, res := range r.Results {
		target := res.Target
		if res.Type != "" && !strings.Contains(target, res.Type) {
			target += " (" + res.Type + ")"
		}
		out.Targets = append(out.Targets, res.Target)
		for _, v := range res.Vulnerabilities {
			out.Findings = append(out.Findings, Finding{target, v.PkgName, v.InstalledVersion, v.FixedVersion, v.VulnerabilityID, v.Severity, v.Title})
		}
		for _, m := range res.Misconfigurations {
			if m.Status == "FAIL" {
				out.Findings = append(out.Findings, Finding{Target: target, Package: m.ID, ID: cmpOr(m.AVDID, m.ID), Severity: m.Severity, Title: m.Title})
			}
		}
		for _, s := range res.Secrets {
			out.Findings = append(out.Findings, Finding{Target: target, Package: s.Category, ID: s.RuleID, Severity: s.Severity, Title: s.Title})
		}
		for _, s := range res.ExperimentalModifiedFindings {
			if s.Status != "ignored" {
				continue
			}
			f := s.Finding
			out.Suppressed = append(out.Suppressed, Suppressed{Finding{target, f.PkgName, f.InstalledVersion, f.FixedVersion,
				cmpOr(f.VulnerabilityID, f.AVDID, f.ID, f.RuleID), f.Severity, f.Title}, s.Statement})
		}
	}
	return out, nil
}

func cmpOr(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// AtLeast are the findings of the threshold's severity or above.
func (r ScanReport) AtLeast(threshold string) []Finding {
	min := slices.Index(TrivySeverities, threshold)
	var out []Finding
	for _, f := range r.Findings {
		if slices.Index(TrivySeverities, f.Severity) >= min {
			out = append(out, f)
		}
	}
	return out
}

// Summary reads well on its own: the counts by severity (highest first), the
// findings at the threshold as a table, and what an ignore file hid and why.
func (r ScanReport) Summary(threshold string) string {
	var b strings.Builder
	counts := map[string]int{}
	for _, f := range r.Findings {
		counts[f.Severity]++
	}
	var parts []string
	for i := len(TrivySeverities) - 1; i >= 0; i-- {
		if n := counts[TrivySeverities[i]]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", TrivySeverities[i], n))
		}
	}
	countText := "no finding"
	if len(parts) > 0 {
		countText = fmt.Sprintf("%d findings: %s", len(r.Findings), strings.Join(parts, ", "))
	}
	fmt.Fprintf(&b, "%s, %s: %s (%s scanned; fails at %s and above)\n", r.Part, scanSubjects[r.Part], countText, plural(len(r.Targets), "target"), threshold)
	if gated := r.AtLeast(threshold); len(gated) > 0 {
		tw := tabwriter.NewWriter(&b, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  TARGET\tPACKAGE\tINSTALLED\tFIXED\tADVISORY\tSEVERITY\tTITLE")
		for _, f := range gated {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.Target, f.Package, dash(f.Installed), dash(f.Fixed), f.ID, f.Severity, truncate(f.Title, 50))
		}
		tw.Flush()
	}
	for _, s := range r.Suppressed {
		fmt.Fprintf(&b, "  hidden by .trivyignore.yaml: %s %s (%s %s): %s\n", s.Severity, s.ID, s.Package, s.Installed, s.Statement)
	}
	return b.String()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// IgnoreFile is the name of the accepted-findings file at the repository's root.
const IgnoreFile = ".trivyignore.yaml"

// CheckIgnoreFile checks a .trivyignore.yaml as Trivy reads it, and what
// Trivy does not require: every entry says why it is accepted (statement)
// and until when (expired_at), so that nothing stays hidden for good or
// without a reason. It returns the problems, each naming the entry.
func CheckIgnoreFile(data []byte) error {
	var file map[string][]map[string]any
	if err := yaml.Unmarshal(data, &file); err != nil {
		return fmt.Errorf("%s is not Trivy's YAML ignore file: %w", IgnoreFile, err)
	}
	var problems []string
	for _, kind := range slices.Sorted(func(yield func(string) bool) {
		for k := range file {
			if !yield(k) {
				return
			}
		}
	}) {
		if !slices.Contains([]string{"vulnerabilities", "misconfigurations", "secrets", "licenses"}, kind) {
			problems = append(problems, fmt.Sprintf("%q: not a kind of finding Trivy ignores", kind))
			continue
		}
		for i, entry := range file[kind] {
			name := fmt.Sprintf("%s[%d]", kind, i)
			if id, _ := entry["id"].(string); id != "" {
				name += " (" + id + ")"
			} else {
				problems = append(problems, name+": no id")
			}
			if s, _ := entry["statement"].(string); strings.TrimSpace(s) == "" {
				problems = append(problems, name+": no statement saying why it is accepted")
			}
			switch v := entry["expired_at"].(type) {
			case time.Time:
			case string:
				if _, err := time.Parse(time.DateOnly, v); err != nil {
					problems = append(problems, fmt.Sprintf("%s: expired_at %q is not a date like 2026-06-30", name, v))
				}
			default:
				problems = append(problems, name+": no expired_at: an accepted finding is looked at again by a date")
			}
		}
	}
	if len(problems) > 0 {
		return errors.New(IgnoreFile + " is refused:\n  " + strings.Join(problems, "\n  "))
	}
	return nil
}

// ScanResult is how one part of a scan went: what it found, or why it
// could not scan.
type ScanResult struct {
	Part     string
	Duration time.Duration
	Report   ScanReport
	Err      error
}

// ScanSummary is a whole scan's report: a line per part (ok or FAILED, its
// time), then each part's summary, or why it could not scan. It fails when a
// part found something at the threshold or could not scan; the error is the
// report.
func ScanSummary(threshold string, results []ScanResult) (string, error) {
	var head, body strings.Builder
	var failed []string
	for _, r := range results {
		status := "ok"
		if r.Err != nil || len(r.Report.AtLeast(threshold)) > 0 {
			status = "FAILED"
			failed = append(failed, r.Part)
		}
		fmt.Fprintf(&head, "%-10s %-7s %s\n", r.Part, status, r.Duration.Round(time.Second))
		if r.Err != nil {
			fmt.Fprintf(&body, "\n%s: %s\n", r.Part, Tail(r.Err.Error(), 40))
		} else {
			fmt.Fprintf(&body, "\n%s", r.Report.Summary(threshold))
		}
	}
	report := head.String() + body.String()
	if len(failed) > 0 {
		return "", fmt.Errorf("%d of %d failed (%s):\n\n%s", len(failed), len(results), strings.Join(failed, ", "), report)
	}
	return report, nil
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
