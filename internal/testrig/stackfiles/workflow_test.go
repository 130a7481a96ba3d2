package stackfiles_test

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// workflow is the part of a GitHub Actions workflow this test reads.
type workflow struct {
	Permissions map[string]string `json:"permissions"`
	Jobs        map[string]struct {
		If          string            `json:"if"`
		Needs       any               `json:"needs"` // a job name or a list of them
		Permissions map[string]string `json:"permissions"`
		Steps       []struct {
			Uses string            `json:"uses"`
			With map[string]string `json:"with"`
			Run  string            `json:"run"`
		} `json:"steps"`
	} `json:"jobs"`
}

func (w workflow) needs(job string) []string {
	switch n := w.Jobs[job].Needs.(type) {
	case string:
		return []string{n}
	case []any:
		var out []string
		for _, v := range n {
			out = append(out, v.(string))
		}
		return out
	}
	return nil
}

// The workflow runs the module's functions: check on every pull request and
// push, and publish only for pushes, after check passed on that commit.
// actionlint itself runs in `make test` (make actionlint).
func TestWorkflowContract(t *testing.T) {
	raw := read(t, ".github/workflows/ci.yml")
	var wf workflow
	if err := yaml.Unmarshal([]byte(raw), &wf); err != nil {
		t.Fatal(err)
	}
	engine := regexp.MustCompile(`"engineVersion":\s*"([^"]+)"`).FindStringSubmatch(read(t, "dagger.json"))
	if engine == nil {
		t.Fatal("dagger.json has no engineVersion")
	}
	check, publish := wf.Jobs["check"], wf.Jobs["publish"]
	callsOf := func(job string) (calls []string) {
		for _, s := range wf.Jobs[job].Steps {
			// Actions pinned by full commit SHA; the Dagger CLI pinned to the engine version.
			if s.Uses != "" && !regexp.MustCompile(`@[0-9a-f]{40}$`).MatchString(s.Uses) {
				t.Errorf("%s: action %s is not pinned by commit SHA", job, s.Uses)
			}
			if strings.HasPrefix(s.Uses, "actions/checkout@") && (s.With["ref"] != "" || s.With["persist-credentials"] != "false") {
				t.Errorf("%s: checkout must take the event's own commit and keep no credentials: %v", job, s.With)
			}
			if strings.HasPrefix(s.Uses, "dagger/dagger-for-github@") {
				if s.With["version"] != engine[1] {
					t.Errorf("%s: the Dagger CLI is %q, the engine %s", job, s.With["version"], engine[1])
				}
				if args := strings.Fields(s.With["args"]); len(args) > 0 {
					calls = append(calls, args[0])
				}
			}
			// The function a dagger call ends in, past chained with-… calls,
			// across continued lines.
			run := regexp.MustCompile(`\\\n\s*`).ReplaceAllString(s.Run, " ")
			if m := regexp.MustCompile(`(?m)^\s*dagger\b.*?\bcall\s+((?:with-[a-z-]+(?:\s+--\S+)*\s+)*)([a-z-]+)`).FindStringSubmatch(run); m != nil {
				calls = append(calls, m[2])
				if job == "publish" && !regexp.MustCompile(`with-registry-auth .*--secret=env://\w+`).MatchString(m[1]) {
					t.Errorf("publish: the registry's credentials do not come once, as a secret, through with-registry-auth: %s", m[0])
				}
			}
		}
		return calls
	}
	if got := callsOf("check"); !slices.Equal(got, []string{"check"}) {
		t.Errorf("the check job calls %v, want check", got)
	}
	if check.If != "github.event_name != 'schedule'" {
		t.Errorf("check runs only if %s: every pull request and push must run it", check.If)
	}
	if got := callsOf("publish"); !slices.Equal(got, []string{"publish"}) {
		t.Errorf("the publish job calls %v, want publish", got)
	}
	if !slices.Equal(wf.needs("publish"), []string{"check"}) || !strings.Contains(publish.If, "github.event_name == 'push'") {
		t.Errorf("publish needs %v if %q: it must need check and run for pushes only", wf.needs("publish"), publish.If)
	}
	if got := slices.Sorted(maps.Keys(wf.Jobs)); !slices.Equal(got, []string{"check", "code-scanning", "compose", "publish"}) {
		t.Errorf("jobs %v: another job could publish without check", got)
	}
	// Least privilege: read by default; packages and id-token (keyless signing)
	// for publish alone; security-events (code scanning) for code-scanning alone.
	if !maps.Equal(wf.Permissions, map[string]string{"contents": "read"}) || len(check.Permissions) != 0 {
		t.Errorf("permissions: workflow %v, check %v; want contents: read and nothing more", wf.Permissions, check.Permissions)
	}
	if !maps.Equal(publish.Permissions, map[string]string{"contents": "read", "packages": "write", "id-token": "write"}) {
		t.Errorf("publish permissions %v", publish.Permissions)
	}
	var composeRuns []string
	for _, st := range wf.Jobs["compose"].Steps {
		composeRuns = append(composeRuns, strings.TrimSpace(st.Run))
	}
	if !slices.Contains(composeRuns, "make compose-test COMPOSE_TEST_OPTS=-build") || len(wf.Jobs["compose"].Permissions) != 0 {
		t.Errorf("the compose job runs %q with permissions %v: want the compose test, building on the runner's Docker, with no more than contents: read",
			composeRuns, wf.Jobs["compose"].Permissions)
	}
	scanning := wf.Jobs["code-scanning"]
	if !maps.Equal(scanning.Permissions, map[string]string{"contents": "read", "security-events": "write"}) {
		t.Errorf("code-scanning permissions %v", scanning.Permissions)
	}
	if got := callsOf("code-scanning"); !slices.Equal(got, []string{"sarif", "scan"}) {
		t.Errorf("the code-scanning job calls %v, want sarif, then the scan gate", got)
	}
	var uploads []string
	for _, st := range scanning.Steps {
		if strings.HasPrefix(st.Uses, "github/codeql-action/upload-sarif@") {
			uploads = append(uploads, st.With["sarif_file"]+" as "+st.With["category"])
		}
	}
	if want := []string{"sarif/backend.sarif as trivy-backend", "sarif/frontend.sarif as trivy-frontend", "sarif/config.sarif as trivy-config"}; !slices.Equal(uploads, want) {
		t.Errorf("SARIF uploads %v, want %v: one report per part, each its own category", uploads, want)
	}
	if !regexp.MustCompile(`(?m)^\s+schedule:\n\s+- cron: "[^"]+"$`).MatchString(raw) || !strings.Contains(scanning.If, "github.event_name == 'schedule'") {
		t.Error("no weekly scan: a new advisory against unchanged code would wait for a push")
	}
	for _, flag := range []string{"--github-oidc-request-url=env://ACTIONS_ID_TOKEN_REQUEST_URL",
		"--github-oidc-request-token=env://ACTIONS_ID_TOKEN_REQUEST_TOKEN", `--repository="$REPOSITORY"`,
		"REPOSITORY: ${{ github.server_url }}/${{ github.repository }}"} {
		if !strings.Contains(raw, flag) {
			t.Errorf("publish does not sign keyless as the workflow of this repository: lacks %s", flag)
		}
	}
	if !strings.Contains(raw, "concurrency:") {
		t.Error("no concurrency group: two pushes could publish out of order")
	}
}

// GitHub's hardening guide: an expression spliced into a script runs as
// code (a tag named v1$(cmd) would run cmd in a job that can push packages
// and mint an OIDC token). Values from the event reach scripts only as
// environment variables; no expression may stand in a run script or in an
// action input that becomes one.
func TestWorkflowSplicesNoExpressionIntoAScript(t *testing.T) {
	raw := read(t, ".github/workflows/ci.yml")
	var wf workflow
	if err := yaml.Unmarshal([]byte(raw), &wf); err != nil {
		t.Fatal(err)
	}
	scriptInputs := []string{"args", "call", "shell", "check", "script"}
	found := 0
	for name, job := range wf.Jobs {
		for i, s := range job.Steps {
			if strings.Contains(s.Run, "${{") {
				t.Errorf("%s step %d: an expression in its run script: %q", name, i+1, s.Run)
			}
			for _, input := range scriptInputs {
				if strings.Contains(s.With[input], "${{") {
					t.Errorf("%s step %d (%s): an expression in its %s input, which the action puts in a script: %q", name, i+1, s.Uses, input, s.With[input])
				}
			}
			if s.Run != "" {
				found++
			}
		}
	}
	if found == 0 {
		t.Fatal("no run script found: the workflow's shape changed, and this test checks nothing")
	}
	// The check above must catch what it means to catch.
	bad := strings.Replace(raw, `--version="$version"`, `--version=${{ github.ref_name }}`, 1)
	if bad == raw || !strings.Contains(bad, "${{ github.ref_name }}") {
		t.Fatal("could not plant an expression in the publish script")
	}
	var planted workflow
	if err := yaml.Unmarshal([]byte(bad), &planted); err != nil {
		t.Fatal(err)
	}
	caught := false
	for _, s := range planted.Jobs["publish"].Steps {
		caught = caught || strings.Contains(s.Run, "${{")
	}
	if !caught {
		t.Error("an expression planted in the publish script is not seen in its run")
	}
	// The tag is validated before it is used as the version.
	if !strings.Contains(raw, `[[ "$REF_NAME" =~ ^v[0-9]+`) {
		t.Error("the publish script uses the tag without checking it is a version")
	}
}
