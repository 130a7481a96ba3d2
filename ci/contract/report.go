package contract

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// StepHeader opens a step of a deploy report: "== NAME (TOOK)", then
// ": COMMAND" when there is one. The step's output follows it.
func StepHeader(name string, took time.Duration, command string) string {
	h := fmt.Sprintf("== %s (%s)", name, took.Round(time.Second))
	if command != "" {
		h += ": " + command
	}
	return h + "\n"
}

// ReportStep is a step read back from a report.
type ReportStep struct {
	Name    string
	Took    time.Duration
	Command string
	Output  string // trimmed
}

// Only StepHeader's shape opens a step; other "== …" lines (the status after
// a failure, a node's stop) stay in the output of the step before them.
var stepHeader = regexp.MustCompile(`(?m)^== ([^(\n]+?) \(([0-9hms.]+)\)(?:: ([^\n]*))?$`)

// ReadReport reads a report's steps, in order.
func ReadReport(report string) []ReportStep {
	var steps []ReportStep
	idx := stepHeader.FindAllStringSubmatchIndex(report, -1)
	for i, m := range idx {
		end := len(report)
		if i+1 < len(idx) {
			end = idx[i+1][0]
		}
		took, err := time.ParseDuration(report[m[4]:m[5]])
		if err != nil {
			continue // "(1h)" in some other line's text is not a step's time
		}
		s := ReportStep{Name: report[m[2]:m[3]], Took: took, Output: strings.TrimSpace(report[m[1]:end])}
		if m[6] >= 0 {
			s.Command = report[m[6]:m[7]]
		}
		steps = append(steps, s)
	}
	return steps
}
