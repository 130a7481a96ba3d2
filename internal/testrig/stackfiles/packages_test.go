package stackfiles_test

import (
	"go/ast"
	"go/build/constraint"
	"go/parser"
	"go/token"
	"os"
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
		if m.Dir != "." && !strings.Contains(makefile, "$(GO) -C "+m.Dir+" test $(GO_TAGS) -race -count=1 $("+name+")") {
			t.Errorf("the Makefile's go-test does not run %s in %s", name, m.Dir)
		}
	}
	if tags := regexp.MustCompile(`(?m)^GO_TAGS\s*:=\s*(.+)$`).FindStringSubmatch(makefile); tags == nil || tags[1] != "-tags="+contract.LocalStackTag {
		t.Errorf("the Makefile's GO_TAGS is %q, want -tags=%s", tags, contract.LocalStackTag)
	}
}

// Every test file that starts the local stack (devstack's own, and those
// that import it) carries the build tag that keeps it out of the pipeline's
// Go image; a tagged file elsewhere is in a package whose tests start it.
func TestLocalStackTestsCarryTheTag(t *testing.T) {
	const devstack = "github.com/todo-app/todo-app/internal/testrig/devstack"
	startsIn := map[string]bool{} // directories with a test file that starts the stack
	var tagged []string
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (d.Name() == "node_modules" || d.Name() == "ci" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		starts := filepath.Base(filepath.Dir(path)) == "devstack" && f.Name.Name == "devstack"
		for _, imp := range f.Imports {
			starts = starts || strings.Trim(imp.Path.Value, `"`) == devstack
		}
		has := hasLocalStackTag(f)
		if starts {
			startsIn[filepath.Dir(rel)] = true
			if !has {
				t.Errorf("%s starts the local stack without //go:build %s", rel, contract.LocalStackTag)
			}
		}
		if has {
			tagged = append(tagged, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(startsIn) < 3 {
		t.Fatalf("found %d packages whose tests start the local stack under %s: wrong root?", len(startsIn), root)
	}
	for _, rel := range tagged {
		if !startsIn[filepath.Dir(rel)] {
			t.Errorf("%s carries //go:build %s, but no test of its package starts the local stack", rel, contract.LocalStackTag)
		}
	}
}

// hasLocalStackTag says whether the file builds only with the local stack's tag.
func hasLocalStackTag(f *ast.File) bool {
	for _, group := range f.Comments {
		for _, c := range group.List {
			if expr, err := constraint.Parse(c.Text); err == nil {
				return expr.Eval(func(tag string) bool { return tag == contract.LocalStackTag }) &&
					!expr.Eval(func(string) bool { return false })
			}
		}
	}
	return false
}
