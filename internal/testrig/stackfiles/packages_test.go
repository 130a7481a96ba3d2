package stackfiles_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/todo-app/todo-app/ci/contract"
)

// make test runs the packages the pipeline's test step runs.
func TestMakefileTestsThePipelinesPackages(t *testing.T) {
	m := regexp.MustCompile(`(?m)^GO_PKGS\s*:=\s*(.+)$`).FindStringSubmatch(read(t, "Makefile"))
	if m == nil {
		t.Fatal("the Makefile has no GO_PKGS")
	}
	if got := strings.Fields(m[1]); !slices.Equal(got, contract.GoTestPackages) {
		t.Fatalf("Makefile GO_PKGS = %q, contract.GoTestPackages = %q", got, contract.GoTestPackages)
	}
}

// The packages the pipeline's Go tests leave out are exactly the devstack
// package and those whose tests start it.
func TestNeedsLocalStackMatchesTheRootModule(t *testing.T) {
	const devstack = "github.com/todo-app/todo-app/internal/testrig/devstack"
	found := []string{"/internal/testrig/devstack"}
	var files []string
	for _, pattern := range []string{"*/*/*_test.go", "backend/*/*/*_test.go", "internal/testrig/*/*_test.go"} {
		more, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, more...)
	}
	if len(files) < 10 {
		t.Fatalf("found only %d test files under %s: wrong root?", len(files), root)
	}
	for _, file := range files {
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if strings.Trim(imp.Path.Value, `"`) == devstack {
				rel, _ := filepath.Rel(root, filepath.Dir(file))
				found = append(found, "/"+filepath.ToSlash(rel))
			}
		}
	}
	slices.Sort(found)
	if found = slices.Compact(found); !slices.Equal(found, contract.NeedsLocalStack) {
		t.Fatalf("packages that start the local stack = %q, contract.NeedsLocalStack = %q", found, contract.NeedsLocalStack)
	}
}
