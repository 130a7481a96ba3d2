package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestDockerfile checks the image recipe's contract; no container engine runs
// here, so this and the same-flags build of `make image-size` stand in for it.
func TestDockerfile(t *testing.T) {
	raw, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := strings.ReplaceAll(string(raw), "\\\n", " ")
	for _, want := range []string{
		`(?m)^FROM --platform=\$BUILDPLATFORM \$\{GO_IMAGE\} AS build$`,
		`(?m)^ARG GO_IMAGE=golang:1\.26-alpine$`,
		`--mount=type=cache,target=/go/pkg/mod`,
		`--mount=type=cache,target=/root/.cache/go-build`,
		`CGO_ENABLED=0`,
		`-X main\.version=\$\{VERSION\} -X main\.commit=\$\{COMMIT\}`,
		`(?m)^USER 1000:1000$`,
		`(?m)^EXPOSE 8000$`,
		`(?m)^HEALTHCHECK .*CMD \["/server", "healthcheck"\]$`,
		`(?m)^ENTRYPOINT \["/server"\]$`,
	} {
		if !regexp.MustCompile(want).MatchString(df) {
			t.Errorf("backend/Dockerfile lacks %s", want)
		}
	}
	if n := strings.Count(df, "\nFROM "); n != 2 {
		t.Errorf("want a two-stage build, found %d FROM lines", n)
	}
	ignore, err := os.ReadFile("../../../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"*", "!go.mod", "!go.sum", "!backend/"} {
		if !strings.Contains("\n"+string(ignore)+"\n", "\n"+want+"\n") {
			t.Errorf(".dockerignore lacks %q", want)
		}
	}
}
