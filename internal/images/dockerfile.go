package images

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

var instruction = regexp.MustCompile(`(?i)^\s*([a-z]+)\s+(.*)$`)

// DockerfileHealthcheck is the HEALTHCHECK of a Dockerfile's final stage as
// `docker build` records it in the image, or nil when that stage has none.
func DockerfileHealthcheck(dockerfile string) (*v1.HealthConfig, error) {
	var found string
	for _, line := range logicalLines(dockerfile) {
		m := instruction.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		switch strings.ToUpper(m[1]) {
		case "FROM":
			found = "" // a new stage: an earlier stage's health check is not the image's
		case "HEALTHCHECK":
			found = m[2]
		}
	}
	if found == "" {
		return nil, nil
	}
	return parseHealthcheck(found)
}

// logicalLines joins continued lines and drops comments and blank lines.
func logicalLines(dockerfile string) []string {
	var lines []string
	var cur strings.Builder
	for _, raw := range strings.Split(dockerfile, "\n") {
		line := strings.TrimRight(raw, " \t\r")
		if cur.Len() == 0 && (strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#")) {
			continue
		}
		if rest, ok := strings.CutSuffix(line, "\\"); ok {
			cur.WriteString(rest + " ")
			continue
		}
		cur.WriteString(line)
		lines = append(lines, cur.String())
		cur.Reset()
	}
	if cur.Len() > 0 {
		lines = append(lines, cur.String())
	}
	return lines
}

var (
	healthFlag    = regexp.MustCompile(`^\s*--([a-z-]+)=(\S*)`)
	healthKeyword = regexp.MustCompile(`(?i)^\s*(CMD|NONE)\b\s*`)
)

func parseHealthcheck(args string) (*v1.HealthConfig, error) {
	hc := &v1.HealthConfig{}
	rest := args
	for m := healthFlag.FindStringSubmatch(rest); m != nil; m = healthFlag.FindStringSubmatch(rest) {
		rest = rest[len(m[0]):]
		var err error
		switch m[1] {
		case "interval":
			hc.Interval, err = time.ParseDuration(m[2])
		case "timeout":
			hc.Timeout, err = time.ParseDuration(m[2])
		case "start-period":
			hc.StartPeriod, err = time.ParseDuration(m[2])
		case "start-interval":
			// Newer builders record it; v1.HealthConfig has no field for it.
		case "retries":
			hc.Retries, err = strconv.Atoi(m[2])
		default:
			return nil, fmt.Errorf("HEALTHCHECK: unknown flag --%s", m[1])
		}
		if err != nil {
			return nil, fmt.Errorf("HEALTHCHECK --%s: %w", m[1], err)
		}
	}
	kw := healthKeyword.FindStringSubmatch(rest)
	if kw == nil {
		return nil, fmt.Errorf("HEALTHCHECK %q: want CMD or NONE after the flags", args)
	}
	if strings.EqualFold(kw[1], "NONE") {
		return &v1.HealthConfig{Test: []string{"NONE"}}, nil
	}
	cmd := strings.TrimSpace(rest[len(kw[0]):])
	switch {
	case cmd == "":
		return nil, fmt.Errorf("HEALTHCHECK %q: CMD without a command", args)
	case strings.HasPrefix(cmd, "["):
		var exec []string
		if err := json.Unmarshal([]byte(cmd), &exec); err != nil {
			return nil, fmt.Errorf("HEALTHCHECK CMD %s: %w", cmd, err)
		}
		hc.Test = append([]string{"CMD"}, exec...)
	default:
		hc.Test = []string{"CMD-SHELL", cmd}
	}
	return hc, nil
}
