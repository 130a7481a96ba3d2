// Package contract holds what crosses between the Dagger module (ci/) and the
// root module's tools (todoctl, the pipeline's self-test): the deploy plan
// and its report, the tunnel variable, the loopback rule and the packages
// the pipeline's test step runs. Both sides import it, so neither can drift
// from the other. It is its own module with no dependency beyond the standard
// library: ci/ requires it within the Go version its engine's SDK accepts, and
// it lives inside ci/ because the engine uploads nothing of the repository
// outside the module's source for the module's own build.
package contract
