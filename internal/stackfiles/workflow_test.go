package stackfiles_test

import (
	"regexp"
	"strings"
	"testing"
)

// actionlint itself runs in `make test` (make actionlint).
func TestWorkflowContract(t *testing.T) {
	wf := read(t, ".github/workflows/ci.yml")
	engine := regexp.MustCompile(`"engineVersion":\s*"([^"]+)"`).FindStringSubmatch(read(t, "dagger.json"))
	if engine == nil {
		t.Fatal("dagger.json has no engineVersion")
	}
	// Actions pinned by full commit SHA; the Dagger CLI pinned to the engine version.
	for _, m := range regexp.MustCompile(`uses:\s*(\S+)`).FindAllStringSubmatch(wf, -1) {
		if !regexp.MustCompile(`@[0-9a-f]{40}$`).MatchString(m[1]) {
			t.Errorf("action %s is not pinned by commit SHA", m[1])
		}
	}
	if n, want := strings.Count(wf, "version: "+engine[1]), strings.Count(wf, "dagger/dagger-for-github@"); n != want {
		t.Errorf("%d of %d dagger-for-github steps pin version %s", n, want, engine[1])
	}
	for _, want := range []string{"args: check", "publish", "packages: write", "concurrency:", "permissions:\n  contents: read"} {
		if !strings.Contains(wf, want) {
			t.Errorf("workflow lacks %q", want)
		}
	}
	// packages: write and id-token: write only in the publishing job, which signs keyless.
	check, publish, _ := strings.Cut(wf, "  publish:")
	for _, grant := range []string{"packages: write", "id-token: write"} {
		if strings.Contains(check, grant) || !strings.Contains(publish, grant) {
			t.Errorf("%s must be granted to the publish job only", grant)
		}
	}
	for _, flag := range []string{"--github-oidc-request-url=env://ACTIONS_ID_TOKEN_REQUEST_URL",
		"--github-oidc-request-token=env://ACTIONS_ID_TOKEN_REQUEST_TOKEN", "--repository=https://github.com/${{ github.repository }}"} {
		if !strings.Contains(publish, flag) {
			t.Errorf("publish does not sign keyless as the workflow: lacks %s", flag)
		}
	}
}
