package main

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/todo-app/todo-app/ci/internal/dagger"
	"github.com/todo-app/todo-app/ci/pipeline"
)

// cgroupEntrypoint lets k3s run under cgroup v2 when it is not PID 1: it moves
// every process out of the root cgroup and enables the controllers for
// children, which k3s only does by itself as PID 1.
const cgroupEntrypoint = `#!/bin/sh
set -e
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  mkdir -p /sys/fs/cgroup/init
  xargs -rn1 < /sys/fs/cgroup/cgroup.procs > /sys/fs/cgroup/init/cgroup.procs 2>/dev/null || :
  sed -e 's/ / +/g' -e 's/^/+/' < /sys/fs/cgroup/cgroup.controllers > /sys/fs/cgroup/cgroup.subtree_control
fi
exec "$@"
`

// cluster is an ephemeral k3s with both app images preloaded (k3s imports
// tarballs from its air-gap directory; containerd names them from the
// annotation), and its kubeconfig as seen from a container bound to it as "k3s".
type cluster struct {
	svc        *dagger.Service
	kubeconfig *dagger.File
}

// k3s starts a fresh cluster; run keys its volumes so runs never share state.
func (m *TodoApp) k3s(ctx context.Context, tag string) (*cluster, error) {
	run := rand.Text()[:12]
	backend := m.BackendImage("", tag, "deploy")
	images := dag.Directory()
	for file, preload := range map[string]struct {
		img       *dagger.Container
		name, tag string
	}{
		"backend.tar":      {backend, pipeline.BackendImage, tag},
		"backend-next.tar": {backend, pipeline.BackendImage, pipeline.NextTag(tag)}, // for the rolling-update proof
		"frontend.tar":     {m.FrontendImage("", tag, "deploy"), pipeline.FrontendImage, tag},
	} {
		ref := "docker.io/library/" + pipeline.ImageRef("", preload.name, preload.tag)
		images = images.WithFile(file, preload.img.WithAnnotation("io.containerd.image.name", ref).AsTarball())
	}
	config := dag.CacheVolume("todo-app-k3s-config-" + run)
	svc := dag.Container().From(m.ClusterImage).
		WithNewFile("/usr/local/bin/cgroup-entrypoint", cgroupEntrypoint, dagger.ContainerWithNewFileOpts{Permissions: 0o755}).
		WithMountedCache("/etc/rancher/k3s", config).
		// containerd's overlay snapshotter needs a real filesystem, not the container's own.
		WithMountedCache("/var/lib/rancher", dag.CacheVolume("todo-app-k3s-state-"+run),
			dagger.ContainerWithMountedCacheOpts{Sharing: dagger.CacheSharingModePrivate}).
		WithMountedDirectory("/var/lib/rancher/k3s/agent/images", images).
		WithMountedTemp("/var/lib/kubelet").
		WithExposedPort(6443).
		WithExposedPort(80, dagger.ContainerWithExposedPortOpts{ExperimentalSkipHealthcheck: true}).
		AsService(dagger.ContainerAsServiceOpts{
			Args: []string{"cgroup-entrypoint", "k3s", "server", "--tls-san=k3s",
				"--write-kubeconfig-mode=644", "--egress-selector-mode=disabled"},
			InsecureRootCapabilities: true,
		})
	svc, err := svc.Start(ctx)
	if err != nil {
		return nil, fmt.Errorf("start k3s: %w", err)
	}
	raw, err := dag.Container().From(m.GoImage).
		WithMountedCache("/etc/rancher/k3s", config).
		WithEnvVariable("RUN", run).
		WithExec([]string{"sh", "-c", "for i in $(seq 120); do [ -s /etc/rancher/k3s/k3s.yaml ] && exec cat /etc/rancher/k3s/k3s.yaml; sleep 1; done; echo 'k3s wrote no kubeconfig in 120 s' >&2; exit 1"}).
		Stdout(ctx)
	if err != nil {
		return nil, fmt.Errorf("k3s kubeconfig: %w", describe(err))
	}
	kc, err := pipeline.InClusterKubeconfig(raw, "k3s")
	if err != nil {
		return nil, err
	}
	return &cluster{svc: svc, kubeconfig: dag.Directory().WithNewFile("config", kc).File("config")}, nil
}
