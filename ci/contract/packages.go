package contract

// GoModule is one of the repository's Go modules as the pipeline's test step
// runs it: its directory from the repository root and its package patterns.
type GoModule struct {
	Dir      string
	Packages []string
}

// GoTestModules are the Go modules the pipeline's test step runs: the
// backend, then the root module's tools.
var GoTestModules = []GoModule{
	{Dir: "backend", Packages: []string{"./..."}},
	{Dir: ".", Packages: []string{"./internal/...", "./cmd/..."}},
}

// LocalStackTag is the build tag of the tests that start the whole stack as
// local processes (initdb, the backend, node and the standalone frontend
// build), which the pipeline's Go image lacks: make test runs them, and in
// the pipeline e2e, deploy and prove cover the same ground with containers
// and k3s. The pipeline vets them all the same.
const LocalStackTag = "localstack"
