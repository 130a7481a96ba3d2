package stackfiles_test

import (
	"bufio"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/patternmatcher"
)

// moduleUploads are the Dagger module's directory arguments with a default
// path, as the engine reads them from ci/main.go's Go: each argument of New
// whose doc comment has the pragmas +defaultPath (the folder, relative to the
// repository) and +ignore (its patterns, applied as a .dockerignore).
func moduleUploads(t *testing.T) map[string][]string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, filepath.Join(root, "ci/main.go"), nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	comments := ast.NewCommentMap(fset, f, f.Comments)
	uploads := map[string][]string{}
	for _, decl := range f.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok || fn.Name.Name != "New" || fn.Recv != nil {
			continue
		}
		for _, param := range fn.Type.Params.List {
			pragmas := map[string]string{}
			for _, group := range comments[param] {
				for _, c := range group.List {
					name, value, ok := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(c.Text, "//"), " "), "=")
					if ok && strings.HasPrefix(name, "+") {
						pragmas[name] = value
					}
				}
			}
			dir, hasDir := pragmas["+defaultPath"]
			if !hasDir || pragmas["+ignore"] == "" {
				continue
			}
			if dir, err = strconv.Unquote(dir); err != nil {
				t.Fatalf("+defaultPath of %s: %v", param.Names[0].Name, err)
			}
			var patterns []string
			if err := json.Unmarshal([]byte(pragmas["+ignore"]), &patterns); err != nil {
				t.Fatalf("+ignore of %s: %v", dir, err)
			}
			uploads[strings.Trim(dir, "/")] = patterns
		}
	}
	if len(uploads) != 2 {
		t.Fatalf("found %d arguments of New with +defaultPath and +ignore in ci/main.go, want 2 (the repository and frontend/)", len(uploads))
	}
	return uploads
}

// gitignored are paths, relative to the repository, that a .gitignore in dir
// keeps out: one per pattern at the top of dir and, for a pattern that may
// match at any depth, in a nested folder and at the top and in a nested
// folder of each of subdirs too. Globs are filled in.
func gitignored(t *testing.T, dir string, subdirs ...string) []string {
	t.Helper()
	var paths []string
	sc := bufio.NewScanner(strings.NewReader(read(t, path.Join(dir, ".gitignore"))))
	for sc.Scan() {
		p := strings.TrimSpace(sc.Text())
		if p == "" || strings.HasPrefix(p, "#") || strings.HasPrefix(p, "!") {
			continue
		}
		dirOnly := strings.HasSuffix(p, "/")
		p = strings.TrimSuffix(p, "/")
		anchored := strings.Contains(p, "/") // a leading or inner slash anchors to dir
		p = strings.NewReplacer("**", "deep", "*", "sample", "?", "x").Replace(strings.TrimPrefix(p, "/"))
		name := p
		if dirOnly {
			name = p + "/file"
		}
		paths = append(paths, path.Join(dir, name))
		if !anchored {
			for _, base := range append([]string{dir}, subdirs...) {
				paths = append(paths, path.Join(base, name), path.Join(base, "some/where", name))
			}
		}
	}
	return paths
}

// Nothing .gitignore keeps out of the repository (local secrets in .env and
// .local/, databases, build outputs, files every build rewrites) enters the
// pipeline: each module upload's +ignore covers every such path under it,
// and still uploads what the pipeline builds from.
func TestModuleUploadsFollowGitignore(t *testing.T) {
	uploads := moduleUploads(t)
	ignored := append(gitignored(t, "", "frontend"), gitignored(t, "frontend")...)
	kept := map[string][]string{
		"": {"go.mod", "backend/cmd/server/main.go", "helm-chart/Chart.yaml", "frontend/Dockerfile", "frontend/.dockerignore", "frontend/.gitignore", ".github/workflows/ci.yml", "ci/main.go",
			"ci/contract/go.mod", "ci/contract/plan.go"},
		"frontend": {"package.json", "src/app/page.tsx", "tests/e2e/app.spec.ts", "Dockerfile"},
	}
	for dir, patterns := range uploads {
		pm, err := patternmatcher.New(patterns)
		if err != nil {
			t.Fatal(err)
		}
		excluded := func(p string) bool {
			m, err := pm.MatchesOrParentMatches(p)
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
		for _, p := range ignored {
			rel, under := strings.CutPrefix(p, dir+"/")
			if dir == "" {
				rel, under = p, true
			}
			if under && !excluded(rel) {
				t.Errorf("upload of %q: %s is git-ignored but not in its +ignore %q", "/"+dir, rel, patterns)
			}
		}
		for _, p := range kept[dir] {
			if excluded(p) {
				t.Errorf("upload of %q: its +ignore leaves out %s, which the pipeline needs", "/"+dir, p)
			}
		}
	}
	// The samples themselves must be sensible: secrets among them.
	for _, want := range []string{".env", "frontend/some/where/.env.local", ".local/file", "frontend/next-env.d.ts"} {
		if !slices.Contains(ignored, want) {
			t.Errorf("the git-ignored samples lack %s: %v", want, ignored)
		}
	}
}
