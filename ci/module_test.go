package main

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// TestEveryFunctionIsDispatched guards against codegen silently ignoring the
// module: the main object must be named after the module (todo-app: TodoApp),
// and every exported method must reach the generated dispatch.
func TestEveryFunctionIsDispatched(t *testing.T) {
	gen, err := os.ReadFile("dagger.gen.go")
	if err != nil {
		t.Fatal(err)
	}
	src := string(gen)
	if !strings.Contains(src, `case "TodoApp":`) {
		t.Fatal(`dagger.gen.go dispatches no "TodoApp" object: is the main type named after the module, and are bindings regenerated?`)
	}
	typ := reflect.TypeFor[*TodoApp]()
	if typ.NumMethod() < 10 {
		t.Fatalf("TodoApp has %d exported functions, expected the whole pipeline", typ.NumMethod())
	}
	for i := range typ.NumMethod() {
		name := typ.Method(i).Name
		if name == "MarshalJSON" || name == "UnmarshalJSON" {
			continue // generated: the object's state between calls, not functions
		}
		if !strings.Contains(src, `case "`+name+`":`) {
			t.Errorf("function %s is not in dagger.gen.go: run ../shared/dagger/bindings.sh", name)
		}
	}
}

// make test and the pipeline's lint run the same actionlint release.
func TestActionlintVersionMatchesMakefile(t *testing.T) {
	makefile, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(makefile), "cmd/actionlint@v")
	version, _, _ := strings.Cut(after, " ")
	main, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	if !ok || !strings.Contains(string(main), `+default="rhysd/actionlint:`+version+"@sha256:") {
		t.Fatalf("the Makefile runs actionlint %q; main.go's default actionlintImage must be rhysd/actionlint:%s@sha256:…", version, version)
	}
}

// The pipeline names paths and stages inside files it does not own; each
// must still be there.
func TestFilesThePipelineAssumes(t *testing.T) {
	for _, tt := range []struct{ file, pattern, usedBy string }{
		{"../backend/Dockerfile", `(?m)^COPY --from=\S+ \S+ /server$`, "up and e2e copy /server out of the backend image"},
		{"../frontend/Dockerfile", `(?m)^FROM \S+ AS deps$`, "lint and test run in the deps stage"},
		{"../frontend/Dockerfile", `(?m)^WORKDIR /app$`, "lint and test use /app"},
		{"../frontend/Dockerfile", `(?m)^CMD \["node", "server.js"\]$`, "up and e2e start node server.js"},
		{"../frontend/playwright.config.ts", `outputDir: "test-results"`, "e2e returns /app/test-results"},
		{"../frontend/playwright.config.ts", `outputFolder: "playwright-report"`, "e2e returns /app/playwright-report"},
		{"../frontend/playwright.config.ts", `process.env.E2E_BASE_URL`, "e2e points the journeys at the stack"},
		{"../helm-chart/values-dev.yaml", `(?m)^postgresql:\n  enabled: true$`, "deploy relies on in-cluster PostgreSQL"},
	} {
		b, err := os.ReadFile(tt.file)
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(tt.pattern).Match(b) {
			t.Errorf("%s lacks %s: %s", tt.file, tt.pattern, tt.usedBy)
		}
	}
}

// The self-test on the engine kit passes tag-only images (the kit resolves no
// digest): each must be the release the constructor pins by digest.
func TestSelfTestImagesMatchTheConstructor(t *testing.T) {
	run, err := os.ReadFile("../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	main, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	flags := regexp.MustCompile(`--([a-z-]+-image)=(\S+?)["\s\\]`).FindAllStringSubmatch(string(run), -1)
	if len(flags) < 3 {
		t.Fatalf(".ci/run passes %d image flags", len(flags))
	}
	for _, f := range flags {
		if !strings.Contains(string(main), `+default="`+f[2]+"@sha256:") {
			t.Errorf(".ci/run passes --%s=%s, but main.go pins another release", f[1], f[2])
		}
	}
}
