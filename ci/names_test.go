package main

import (
	"cmp"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/iancoleman/strcase"

	"github.com/todo-app/todo-app/ci/pipeline"
)

// moduleAPI is what the module registers with the engine, by Go name:
// functions of the main object (the constructor under ""), their arguments,
// and the fields of every exported type.
type moduleAPI struct {
	functions map[string][]string // Go method name -> argument names
	chains    map[string]bool     // Go method names of the functions that return the module (with-…)
	fields    []string
	aliases   []string // first arguments of WithServiceBinding, resolved
}

func parseModule(t *testing.T) moduleAPI {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	// The pipeline package's constants may name aliases too (pipeline.X).
	more, err := filepath.Glob("pipeline/*.go")
	if err != nil {
		t.Fatal(err)
	}
	api := moduleAPI{functions: map[string][]string{}, chains: map[string]bool{}}
	consts := map[string]string{}
	var bindings []ast.Expr
	for _, file := range append(files, more...) {
		if file == "dagger.gen.go" || strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		inModule := f.Name.Name == "main"
		ast.Inspect(f, func(n ast.Node) bool {
			if !inModule {
				if v, ok := n.(*ast.ValueSpec); ok {
					collectConsts(v, consts)
				}
				return true
			}
			switch n := n.(type) {
			case *ast.FuncDecl:
				if fn, ok := moduleFunction(n); ok {
					api.functions[fn] = argNames(n.Type.Params)
					if r := n.Type.Results; r != nil && len(r.List) > 0 {
						if star, ok := r.List[0].Type.(*ast.StarExpr); ok {
							if id, ok := star.X.(*ast.Ident); ok && id.Name == "TodoApp" {
								api.chains[fn] = true
							}
						}
					}
				}
			case *ast.TypeSpec:
				if st, ok := n.Type.(*ast.StructType); ok && n.Name.IsExported() {
					for _, field := range st.Fields.List {
						for _, name := range field.Names {
							api.fields = append(api.fields, name.Name)
						}
					}
				}
			case *ast.ValueSpec:
				collectConsts(n, consts)
			case *ast.CallExpr:
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "WithServiceBinding" && len(n.Args) > 0 {
					bindings = append(bindings, n.Args[0])
				}
			}
			return true
		})
	}
	for _, arg := range bindings {
		switch arg := arg.(type) {
		case *ast.BasicLit:
			alias, _ := strconv.Unquote(arg.Value)
			api.aliases = append(api.aliases, alias)
		case *ast.Ident, *ast.SelectorExpr: // a constant here or in package pipeline
			name := ""
			if id, ok := arg.(*ast.Ident); ok {
				name = id.Name
			} else {
				name = arg.(*ast.SelectorExpr).Sel.Name
			}
			alias, ok := consts[name]
			if !ok {
				t.Fatalf("service alias %s is not a string constant of the module", name)
			}
			api.aliases = append(api.aliases, alias)
		case *ast.CallExpr: // an alias function of package pipeline, sampled
			sel, ok := arg.Fun.(*ast.SelectorExpr)
			sample := aliasFunctions[cmp.Or(sel, &ast.SelectorExpr{Sel: &ast.Ident{}}).Sel.Name]
			if !ok || sample == nil {
				t.Fatalf("service alias %s(…): add it to aliasFunctions, so this test can read it", exprName(arg.Fun))
			}
			api.aliases = append(api.aliases, sample())
		default:
			t.Fatalf("service alias %T: use a string literal or constant, so this test can read it", arg)
		}
	}
	if len(api.functions) < 10 || len(api.aliases) < 3 {
		t.Fatalf("found %d functions and %d service aliases: is this ci/?", len(api.functions), len(api.aliases))
	}
	return api
}

// aliasFunctions make service aliases at run time; each gives a sample.
var aliasFunctions = map[string]func() string{
	"TunnelAlias": func() string { return pipeline.TunnelAlias(6443) },
	"AgentName":   func() string { return pipeline.AgentName(1) },
}

func exprName(e ast.Expr) string {
	if sel, ok := e.(*ast.SelectorExpr); ok {
		return exprName(sel.X) + "." + sel.Sel.Name
	}
	if id, ok := e.(*ast.Ident); ok {
		return id.Name
	}
	return "?"
}

// collectConsts records string constants by name.
func collectConsts(v *ast.ValueSpec, consts map[string]string) {
	for i, name := range v.Names {
		if i < len(v.Values) {
			if lit, ok := v.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				consts[name.Name], _ = strconv.Unquote(lit.Value)
			}
		}
	}
}

// moduleFunction is the Go name of a function the module exposes: New (as
// ""), an exported method of *TodoApp, or Type.Method of another exported
// object the module returns (Cluster).
func moduleFunction(fn *ast.FuncDecl) (string, bool) {
	if fn.Recv == nil {
		return "", fn.Name.Name == "New"
	}
	star, ok := fn.Recv.List[0].Type.(*ast.StarExpr)
	if !ok || !fn.Name.IsExported() {
		return "", false
	}
	recv, ok := star.X.(*ast.Ident)
	switch {
	case !ok || !recv.IsExported():
		return "", false
	case recv.Name == "TodoApp":
		return fn.Name.Name, true
	default:
		return recv.Name + "." + fn.Name.Name, true
	}
}

func argNames(params *ast.FieldList) []string {
	var names []string
	for _, p := range params.List {
		if sel, ok := p.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "Context" {
			continue
		}
		for _, name := range p.Names {
			names = append(names, name.Name)
		}
	}
	return names
}

// nameProblem says why a name would not survive the engine, or "". Codegen
// registers functions and fields in lower camel case and arguments under
// their Go names; the engine converts each to lower camel case once more
// (strcase, as the engine does), and the CLI shows it in kebab case, which
// must read back as the same name. Names with digits are refused outright.
func nameProblem(goName string, isArg bool) string {
	if strings.ContainsAny(goName, "0123456789") {
		// The conversions split at digits: k3sImage is looked up as k3SImage, E2e is e-2-e.
		return goName + " has a digit, which the engine's and the CLI's case conversions split at"
	}
	registered := strcase.ToLowerCamel(goName)
	if isArg && registered != goName {
		return "the argument " + goName + " is registered as is and looked up as " + registered
	}
	if again := strcase.ToLowerCamel(registered); again != registered {
		return registered + " becomes " + again + " in the engine"
	}
	if cli := strcase.ToKebab(registered); strcase.ToLowerCamel(cli) != registered {
		return registered + " is --" + cli + " on the CLI, which reads back as " + strcase.ToLowerCamel(cli)
	}
	return ""
}

func TestNameProblemCatchesWhatTheEngineBroke(t *testing.T) {
	for _, tt := range []struct {
		name  string
		isArg bool
		bad   bool
	}{
		{"k3sImage", true, true}, // every call failed: find arg "k3SImage"
		{"E2e", false, true},     // the CLI's e-2-e
		{"playwrightImage", true, false},
		{"clusterImage", true, false},
		{"EndToEnd", false, false},
		{"BackendImage", false, false},
		{"ClusterImage", false, false},
		{"url", true, false},
		{"URLValue", false, false},
		{"imageURL", true, true}, // registered as imageUrl
	} {
		if got := nameProblem(tt.name, tt.isArg); (got != "") != tt.bad {
			t.Errorf("nameProblem(%q) = %q, want a problem: %v", tt.name, got, tt.bad)
		}
	}
}

func TestEveryNameSurvivesTheEngine(t *testing.T) {
	api := parseModule(t)
	for fn, args := range api.functions {
		if _, method, ok := strings.Cut(fn, "."); ok {
			fn = method
		}
		if fn != "" {
			if p := nameProblem(fn, false); p != "" {
				t.Errorf("function %s: %s", fn, p)
			}
		}
		for _, arg := range args {
			if p := nameProblem(arg, true); p != "" {
				t.Errorf("%s: %s", fn, p)
			}
		}
	}
	for _, field := range api.fields {
		if p := nameProblem(field, false); p != "" {
			t.Errorf("field %s: %s", field, p)
		}
	}
}

// hstsPreloadedTLDs are the TLDs on Chromium's built-in HSTS preload list as
// a whole: a service alias equal to one is reached over https only.
var hstsPreloadedTLDs = []string{
	"android", "app", "bank", "boo", "channel", "chrome", "dad", "day", "dev", "eat", "esq", "fly",
	"foo", "gle", "gmail", "google", "hangout", "ing", "insurance", "meet", "meme", "mov", "new",
	"nexus", "page", "phd", "play", "prof", "rsvp", "search", "youtube", "zip",
}

func TestServiceAliasesAreNotPreloadedTLDs(t *testing.T) {
	aliases := parseModule(t).aliases
	for _, want := range []string{"stack", "k3s", "registry"} {
		if !slices.Contains(aliases, want) {
			t.Errorf("aliases %q lack %q: does the test still read them all?", aliases, want)
		}
	}
	for _, alias := range aliases {
		if slices.Contains(hstsPreloadedTLDs, strings.ToLower(alias)) {
			t.Errorf("service alias %q is an HSTS-preloaded TLD: Chromium reaches it over https only", alias)
		}
	}
}

// Every `dagger call` in the README names functions and flags that exist, as
// the CLI spells them: the constructor's flags, then a function and its flags.
// What follows (up, export, …) is the core API's.
func TestReadmeCallsExist(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	cli := map[string]map[string]bool{} // CLI function name ("" for the constructor) -> its flags
	chains := map[string]bool{}
	api := parseModule(t)
	for fn, args := range api.functions {
		flags := map[string]bool{}
		for _, a := range args {
			flags[strcase.ToKebab(a)] = true
		}
		name := strcase.ToKebab(strcase.ToLowerCamel(fn))
		cli[name], chains[name] = flags, api.chains[fn]
	}
	if !chains["with-registry-auth"] {
		t.Fatal("with-registry-auth is not seen as returning the module: does the test still read results?")
	}
	// A command continued on the next line is one call.
	joined := regexp.MustCompile(`\\\n\s*`).ReplaceAllString(string(readme), " ")
	calls := regexp.MustCompile(`dagger call((?: +[^ \x60\n#|]+)+)`).FindAllStringSubmatch(joined, -1)
	if len(calls) < 10 {
		t.Fatalf("found %d dagger calls in the README", len(calls))
	}
	for _, call := range calls {
		if problem := callProblem(cli, chains, strings.Fields(call[1])); problem != "" {
			t.Errorf("README: `dagger call%s`: %s", call[1], problem)
		}
	}
}

// callProblem checks the words after `dagger call` against the module's CLI
// names, through chains (functions that return the module, such as
// with-registry-auth); the module has no boolean flags, so a flag without
// "=" takes the next word as its value.
func callProblem(cli map[string]map[string]bool, chains map[string]bool, words []string) string {
	fn, chosen := "", false
	for i := 0; i < len(words); i++ {
		flag, isFlag := strings.CutPrefix(words[i], "--")
		switch {
		case isFlag:
			name, _, hasValue := strings.Cut(flag, "=")
			if !cli[fn][name] {
				return "no flag --" + name + " on " + cmp.Or(fn, "the constructor")
			}
			if !hasValue {
				i++
			}
		case chosen:
			return "" // the core API's chain (up, export, …) from here on
		case cli[words[i]] == nil:
			return "no function " + words[i]
		default:
			fn, chosen = words[i], !chains[words[i]]
		}
	}
	if !chosen {
		return "no function called"
	}
	return ""
}

func TestCallProblem(t *testing.T) {
	cli := map[string]map[string]bool{"": {"go-image": true}, "serve": {"url": true}, "lint": {}, "with-auth": {"address": true}}
	chains := map[string]bool{"with-auth": true}
	for _, tt := range []struct {
		call string
		ok   bool
	}{
		{"serve up --ports 3000:3000", true},
		{"serve --url=http://localhost:8080 up --ports=8080:3000", true},
		{"--go-image golang:1.26 lint", true},
		{"up --ports 3000:3000", false},
		{"e-2-e -o ./report", false},
		{"serve --port=8080 up", false},
		{"--k-3-s-image=x lint", false},
		{"with-auth --address=ghcr.io serve --url=http://x up", true},
		{"with-auth --address=ghcr.io serve --port=1", false},
		{"with-auth --address=ghcr.io", false},
		{"with-auth --address=ghcr.io up", false},
	} {
		if got := callProblem(cli, chains, strings.Fields(tt.call)); (got == "") != tt.ok {
			t.Errorf("callProblem(%q) = %q, want ok %v", tt.call, got, tt.ok)
		}
	}
}
