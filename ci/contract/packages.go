package contract

// GoModule is one of the repository's Go modules as the pipeline's test step
// runs it: its directory from the repository root and its package patterns.
type GoModule struct {
	Dir      string
	Packages []string
}

// GoTestModules are the Go modules the pipeline's test step runs (the backend,
// then the root module's tools), and NeedsLocalStack the import-path suffixes
// of those packages whose tests start the whole stack as local processes
// (initdb, the backend, node and the standalone frontend build), which the
// pipeline's Go image lacks: make test runs them, and in the pipeline e2e,
// deploy and prove cover the same ground with containers and k3s.
var (
	GoTestModules = []GoModule{
		{Dir: "backend", Packages: []string{"./..."}},
		{Dir: ".", Packages: []string{"./internal/...", "./cmd/..."}},
	}
	NeedsLocalStack = []string{"/internal/proof", "/internal/smoke", "/internal/testrig/devstack"}
)
