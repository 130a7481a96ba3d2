package main

import (
	"os"
	"reflect"
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
