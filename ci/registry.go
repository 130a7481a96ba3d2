package main

import (
	"slices"

	"github.com/todo-app/todo-app/ci/internal/dagger"
	"github.com/todo-app/todo-app/ci/pipeline"
)

// RegistryAuth is a registry's credentials, as with-registry-auth gives them.
type RegistryAuth struct {
	// +private
	Host string
	// +private
	Username string
	// +private
	Secret *dagger.Secret
}

// WithRegistryAuth gives a registry's credentials to every function called
// after it that reaches that registry: publish, verify, reproduce, and deploy
// with --registry. As Dagger's own Container.withRegistryAuth: chain it once
// per registry; given twice for one registry, the later wins.
//
//	dagger call with-registry-auth --address=ghcr.io --username=$USER --secret=env://GITHUB_TOKEN publish …
func (m *TodoApp) WithRegistryAuth(
	// The registry, as docker login takes it: ghcr.io, localhost:5000 (a path after it is ignored).
	address string,
	// The user name.
	username string,
	// The password or token.
	secret *dagger.Secret,
) (*TodoApp, error) {
	host, err := pipeline.RegistryAuthHost(address)
	if err != nil {
		return nil, err
	}
	next := *m
	next.RegistryAuths = append(slices.Clone(m.RegistryAuths), &RegistryAuth{Host: host, Username: username, Secret: secret})
	return &next, nil
}

// registryAccess is how the push and cosign containers reach the registry:
// the route, its credentials (none: anonymous), and the tunnel of a registry
// given as a service.
type registryAccess struct {
	route  pipeline.RegistryRoute
	auth   *RegistryAuth
	tunnel *dagger.Service
}

// access reaches the registry of route with the credentials given for it.
func (m *TodoApp) access(route pipeline.RegistryRoute, tunnel *dagger.Service) registryAccess {
	hosts := make([]string, len(m.RegistryAuths))
	for i, a := range m.RegistryAuths {
		hosts[i] = a.Host
	}
	a := registryAccess{route: route, tunnel: tunnel}
	if i := pipeline.FindRegistryAuth(hosts, route.Registry); i >= 0 {
		a.auth = m.RegistryAuths[i]
	}
	return a
}
