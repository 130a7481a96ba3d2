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

// make test runs the packages the pipeline's test step runs, module by module.
func TestMakefileTestsThePipelinesPackages(t *testing.T) {
	makefile := read(t, "Makefile")
	variables := map[string]string{"backend": "BACKEND_PKGS", ".": "TOOLS_PKGS"}
	if len(contract.GoTestModules) != len(variables) {
		t.Fatalf("contract.GoTestModules has %d modules, the Makefile %d", len(contract.GoTestModules), len(variables))
	}
	for _, m := range contract.GoTestModules {
		name, ok := variables[m.Dir]
		if !ok {
			t.Fatalf("the Makefile has no package list for the module in %q", m.Dir)
		}
		def := regexp.MustCompile(`(?m)^` + name + `\s*:=\s*(.+)$`).FindStringSubmatch(makefile)
		if def == nil {
			t.Fatalf("the Makefile has no %s", name)
		}
		if got := strings.Fields(def[1]); !slices.Equal(got, m.Packages) {
			t.Errorf("Makefile %s = %q, contract.GoTestModules[%q] = %q", name, got, m.Dir, m.Packages)
		}
		if m.Dir != "." && !strings.Contains(makefile, "$(GO) -C "+m.Dir+" test -race -count=1 $("+name+")") {
			t.Errorf("the Makefile's go-test does not run %s in %s", name, m.Dir)
		}
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
