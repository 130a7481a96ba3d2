package contract

// GoTestPackages are the root module's package patterns the pipeline's test
// step runs, and NeedsLocalStack those of them whose tests start the whole
// stack as local processes (initdb, the backend, node and the standalone
// frontend build), which the pipeline's Go image lacks: make test runs them,
// and in the pipeline e2e, deploy and prove cover the same ground with
// containers and k3s.
var (
	GoTestPackages  = []string{"./backend/...", "./internal/...", "./cmd/..."}
	NeedsLocalStack = []string{"/internal/proof", "/internal/smoke", "/internal/testrig/devstack"}
)
