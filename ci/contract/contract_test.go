package contract

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPlanRoundTrip(t *testing.T) {
	plan := []PlanStep{
		{"install", []string{"install", "--chart", "helm-chart"}},
		{"helm test", []string{"test", "--timeout", "3m"}},
	}
	raw, err := EncodePlan(plan)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodePlan(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(got, plan, func(a, b PlanStep) bool { return a.Name == b.Name && slices.Equal(a.Args, b.Args) }) {
		t.Fatalf("DecodePlan(EncodePlan(plan)) = %q, want %q", got, plan)
	}
}

func TestPlanRefusals(t *testing.T) {
	tests := []struct {
		name string
		plan []PlanStep
		want string
	}{
		{"empty", nil, "no steps"},
		{"the tool itself", []PlanStep{{"install", []string{"todoctl", "install"}}}, "not a deploy-tool command"},
		{"a plan in a plan", []PlanStep{{"again", []string{"steps", "--plan", "p"}}}, "not a deploy-tool command"},
		{"no command", []PlanStep{{"nothing", nil}}, "not a deploy-tool command"},
		{"no name", []PlanStep{{"", []string{"wait"}}}, "cannot head a report line"},
		{"a name the report cannot read", []PlanStep{{"wait (long)", []string{"wait"}}}, "cannot head a report line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := EncodePlan(tt.plan); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("EncodePlan: %v, want an error with %q", err, tt.want)
			}
		})
	}
	for _, raw := range []string{`[{"name":"x","args":["wait"],"extra":1}]`, `{"name":"x"}`, `[]`, `not json`} {
		if _, err := DecodePlan([]byte(raw)); err == nil {
			t.Errorf("DecodePlan(%s) took it", raw)
		}
	}
}

func TestReportRoundTrip(t *testing.T) {
	report := "cluster up\n" +
		StepHeader("install", 26*time.Second+400*time.Millisecond, "todoctl install --chart helm-chart") + "installed\n" +
		StepHeader("cluster", 6*time.Second, "") + "3 nodes\n" +
		"== node stop: agent-1 killed at 10:00:00.0\n" +
		StepHeader("smoke", time.Minute+2*time.Second, "todoctl smoke") + "11 of 11 steps passed\n" +
		"== status after the failure\nall ready\n"
	got := ReadReport(report)
	want := []ReportStep{
		{"install", 26 * time.Second, "todoctl install --chart helm-chart", "installed"},
		{"cluster", 6 * time.Second, "", "3 nodes\n== node stop: agent-1 killed at 10:00:00.0"},
		{"smoke", time.Minute + 2*time.Second, "todoctl smoke", "11 of 11 steps passed\n== status after the failure\nall ready"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("ReadReport =\n%q\nwant\n%q", got, want)
	}
}

func TestTunnels(t *testing.T) {
	fs := []Forward{{8080, "loopback-8080:8080"}, {6443, "loopback-6443:6443"}}
	value := FormatTunnels(fs)
	if value != "6443=loopback-6443:6443,8080=loopback-8080:8080" {
		t.Fatalf("FormatTunnels = %s", value)
	}
	got, err := ParseTunnels(value)
	if err != nil || !slices.Equal(got, []Forward{fs[1], fs[0]}) {
		t.Fatalf("ParseTunnels(%s) = %v, %v", value, got, err)
	}
	if got, err := ParseTunnels(" 6443=loopback-6443:6443, 5000=registry:5000,"); err != nil || !slices.Equal(got, []Forward{{6443, "loopback-6443:6443"}, {5000, "registry:5000"}}) {
		t.Fatalf("ParseTunnels with spaces and a trailing comma = %v, %v", got, err)
	}
	if got, err := ParseTunnels(""); err != nil || len(got) != 0 {
		t.Fatalf(`ParseTunnels("") = %v, %v: present and empty means no forwards`, got, err)
	}
	for _, bad := range []string{"6443", "x=h:1", "0=h:1", "70000=h:1", "6443=nohost"} {
		if _, err := ParseTunnels(bad); err == nil || !strings.Contains(err.Error(), TunnelEnv) {
			t.Errorf("ParseTunnels(%q) = %v, want an error naming %s", bad, err, TunnelEnv)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	tests := []struct {
		host string
		want bool
	}{
		{"localhost", true},
		{"LocalHost", true},
		{"localhost.", true},
		{"registry.localhost", true},
		{"127.0.0.1", true},
		{"127.3.2.1", true},
		{"::1", true},
		{"notlocalhost", false},
		{"localhost.example.com", false},
		{"10.0.0.1", false},
		{"registry.example.com", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := IsLoopback(tt.host); got != tt.want {
			t.Errorf("IsLoopback(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}
