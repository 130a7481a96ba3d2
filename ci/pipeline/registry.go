package pipeline

import (
	"errors"
	"fmt"
	"strings"
)

// RegistryAuthHost is the registry host whose credentials an address given
// to with-registry-auth names, as docker login takes one: a host with an
// optional port, a scheme and a path ignored, Docker Hub's aliases made one.
func RegistryAuthHost(address string) (string, error) {
	host := strings.ToLower(RegistryHost(strings.TrimSpace(address)))
	if host == "" {
		return "", errors.New("registry address is empty: give one like ghcr.io or localhost:5000")
	}
	if strings.ContainsAny(host, " @") {
		return "", fmt.Errorf("registry address %q is not a host[:port]", address)
	}
	switch host {
	case "docker.io", "index.docker.io", "registry-1.docker.io":
		return "docker.io", nil
	}
	return host, nil
}

// FindRegistryAuth is the index of the credentials (by their hosts, the
// latest given last) that apply to a registry reference such as
// ghcr.io/acme, or -1 when none does.
func FindRegistryAuth(hosts []string, registry string) int {
	host, err := RegistryAuthHost(registry)
	if err != nil {
		return -1
	}
	for i := len(hosts) - 1; i >= 0; i-- {
		if hosts[i] == host {
			return i
		}
	}
	return -1
}
