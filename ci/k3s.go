package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/todo-app/todo-app/ci/internal/dagger"
	"github.com/todo-app/todo-app/ci/pipeline"
)

// k3sEntrypoint lets k3s run under cgroup v2 when it is not PID 1: it moves
// every process out of the root cgroup and enables the controllers for
// children, which k3s only does by itself as PID 1. On the server
// (TODO_APP_CONFIG_VOLUME set) it also marks the config volume, which
// outlives the server: the kubeconfig of an earlier run goes, .started says
// when this run began and .alive is touched every second while it runs, so
// that kubeconfig takes only a file this live server wrote. With
// TODO_APP_FRESH_STATE set it first empties the node's state volume, which
// a standing cluster reuses from one up to the next.
const k3sEntrypoint = `#!/bin/sh
set -e
if [ -n "$TODO_APP_FRESH_STATE" ]; then
  rm -rf /var/lib/rancher/* /var/lib/rancher/.[!.]* /var/lib/rancher/..?*
fi
if [ -n "$TODO_APP_CONFIG_VOLUME" ]; then
  rm -f "$TODO_APP_CONFIG_VOLUME/k3s.yaml"
  touch "$TODO_APP_CONFIG_VOLUME/.started"
  (while :; do touch "$TODO_APP_CONFIG_VOLUME/.alive"; sleep 1; done) &
fi
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  mkdir -p /sys/fs/cgroup/init
  xargs -rn1 < /sys/fs/cgroup/cgroup.procs > /sys/fs/cgroup/init/cgroup.procs 2>/dev/null || :
  sed -e 's/ / +/g' -e 's/^/+/' < /sys/fs/cgroup/cgroup.controllers > /sys/fs/cgroup/cgroup.subtree_control
fi
exec "$@"
`

// k3sHost is the host name the deploy tool's container binds the ephemeral
// cluster under; its API server's certificate names it.
const k3sHost = "k3s"

// k3sSpec is one k3s cluster: a server, where its nodes' state and its
// kubeconfig live, the images every node imports at start, a registry of
// the caller's machine the nodes pull from, and the agents that join it.
type k3sSpec struct {
	// volumes names each node's state volume: volumes-<node name>.
	volumes string
	// freshState empties each node's state volume before k3s starts.
	freshState      bool
	config          *dagger.CacheVolume
	images          *dagger.Directory // air-gap tarballs; nil for none
	registry        string            // e.g. localhost:5000, with registryService
	registryService *dagger.Service
	// agents is how many agent nodes join the server; run tells this
	// cluster's agents' state volumes and join token from any other's.
	agents int
	run    string
}

// nodeState is the state volume of the node of that name.
func (s k3sSpec) nodeState(node string) *dagger.CacheVolume {
	return dag.CacheVolume(s.volumes + "-" + node)
}

// stateVolumes are every node's state volume.
func (s k3sSpec) stateVolumes() []*dagger.CacheVolume {
	volumes := []*dagger.CacheVolume{s.nodeState(k3sHost)}
	for i := 1; i <= s.agents; i++ {
		volumes = append(volumes, s.nodeState(pipeline.AgentName(i)))
	}
	return volumes
}

// k3s is the cluster as a service: the server's API on 6443, Traefik on 80;
// and its agents by node name. They are bound to the server, so that
// starting it starts them; they reach it by its own hostname (no binding
// back), join with a token that is a Secret end to end, and import the same
// images.
func (m *TodoApp) k3s(s k3sSpec) (*dagger.Service, map[string]*dagger.Service, error) {
	registries := ""
	if s.registryService != nil {
		registries = "/etc/todo-app/registries.yaml"
	}
	node := func(state *dagger.CacheVolume) (*dagger.Container, error) {
		ctr := dag.Container().From(m.ClusterImage).
			WithNewFile("/usr/local/bin/k3s-entrypoint", k3sEntrypoint, dagger.ContainerWithNewFileOpts{Permissions: 0o755}).
			// containerd's overlay snapshotter needs a real filesystem, not the container's own.
			WithMountedCache("/var/lib/rancher", state, dagger.ContainerWithMountedCacheOpts{Sharing: dagger.CacheSharingModePrivate}).
			WithMountedTemp("/var/lib/kubelet")
		if s.freshState {
			ctr = ctr.WithEnvVariable("TODO_APP_FRESH_STATE", "1")
		}
		if s.images != nil {
			ctr = ctr.WithMountedDirectory("/var/lib/rancher/k3s/agent/images", s.images)
		}
		if s.registryService != nil {
			yaml, err := pipeline.RegistriesYAML(s.registry)
			if err != nil {
				return nil, err
			}
			ctr = ctr.WithNewFile(registries, yaml).WithServiceBinding(pipeline.RegistryTunnelHost, s.registryService)
		}
		return ctr, nil
	}
	server, err := node(s.nodeState(k3sHost))
	if err != nil {
		return nil, nil, err
	}
	server = server.WithMountedCache("/etc/rancher/k3s", s.config).
		WithEnvVariable("TODO_APP_CONFIG_VOLUME", "/etc/rancher/k3s").
		WithExposedPort(6443).
		WithExposedPort(80, dagger.ContainerWithExposedPortOpts{ExperimentalSkipHealthcheck: true})
	// Short: the engine makes it <host>.<module>.<session>.dagger.local, the
	// container's hostname, which may not exceed 64 bytes.
	serverHost := "k3s-" + s.run[:8]
	agents := map[string]*dagger.Service{}
	if s.agents > 0 {
		token := dag.SetSecret("todo-app-k3s-token-"+s.run, rand.Text())
		server = server.WithSecretVariable("K3S_TOKEN", token)
		for i := 1; i <= s.agents; i++ {
			name := pipeline.AgentName(i)
			ctr, err := node(s.nodeState(name))
			if err != nil {
				return nil, nil, err
			}
			agents[name] = ctr.
				WithSecretVariable("K3S_TOKEN", token).
				WithEnvVariable("K3S_URL", "https://"+serverHost+":6443").
				AsService(dagger.ContainerAsServiceOpts{
					Args:                     append([]string{"k3s-entrypoint"}, pipeline.K3sAgentArgs(name, registries)...),
					InsecureRootCapabilities: true,
				})
			server = server.WithServiceBinding(pipeline.AgentName(i), agents[name])
		}
	}
	svc := server.AsService(dagger.ContainerAsServiceOpts{
		Args:                     append([]string{"k3s-entrypoint"}, pipeline.K3sArgs(k3sHost, registries)...),
		InsecureRootCapabilities: true,
	})
	if s.agents > 0 {
		svc = svc.WithHostname(serverHost)
	}
	return svc, agents, nil
}

// kubeconfig waits (up to timeout seconds) for the kubeconfig a k3s server
// writes into its config volume once its API answers, and returns it pointed
// at server. It takes the file only from a server that runs (its .alive
// touched in the last 2 s) and wrote it after it started: a standing
// cluster's volume still holds the last run's, signed by that run's CA,
// until the new server is up. The file holds the cluster's admin key: it is
// copied, never printed, and no argument carries it.
func (m *TodoApp) kubeconfig(config *dagger.CacheVolume, server string, timeout int) *dagger.File {
	wait := fmt.Sprintf(`c=/etc/rancher/k3s i=0
while [ $i -lt %d ]; do
  touch /tmp/ref; sleep 2; i=$((i+2))
  if [ $c/.alive -nt /tmp/ref ] && [ $c/k3s.yaml -nt $c/.started ] && grep -qs client-key-data $c/k3s.yaml; then
    cp $c/k3s.yaml /out/kubeconfig; exit 0
  fi
done
echo "no running k3s server wrote a kubeconfig in %d s" >&2; exit 1`, timeout, timeout)
	// The cluster's own image: it has a shell, and is pulled already.
	return dag.Container().From(m.ClusterImage).
		WithMountedCache("/etc/rancher/k3s", config).
		WithDirectory("/out", dag.Directory()).
		WithEnvVariable("READ", rand.Text()). // read the volume now, never from the cache
		WithExec([]string{"sh", "-c", wait}).
		File("/out/kubeconfig").
		WithReplaced(pipeline.K3sServer, server)
}

// preloadImages are both app images as tarballs for a k3s air-gap folder:
// k3s imports them at start, naming each from the annotation containerd
// reads. For the proofs, the backend's comes under a second tag too, which
// the rolling-update proof upgrades to.
func (m *TodoApp) preloadImages(tag string, forProofs bool) *dagger.Directory {
	backend := m.devImage(pipeline.BackendImage)
	preloads := map[string]struct {
		img       *dagger.Container
		name, tag string
	}{
		"backend.tar":  {backend, pipeline.BackendImage, tag},
		"frontend.tar": {m.devImage(pipeline.FrontendImage), pipeline.FrontendImage, tag},
	}
	if forProofs {
		next := preloads["backend.tar"]
		next.tag = pipeline.NextTag(tag)
		preloads["backend-next.tar"] = next
	}
	images := dag.Directory()
	for file, preload := range preloads {
		ref := "docker.io/library/" + pipeline.ImageRef("", preload.name, preload.tag)
		images = images.WithFile(file, preload.img.WithAnnotation("io.containerd.image.name", ref).AsTarball())
	}
	return images
}

// ephemeralCluster is a fresh k3s for one deploy, of a server and agents
// with images preloaded, started, with a kubeconfig for a container that
// binds the server as k3sHost.
type ephemeralCluster struct {
	server *dagger.Service
	agents map[string]*dagger.Service // by node name
	// kubeconfig holds the cluster's admin key: it is a Secret from the
	// moment it is read, so that Dagger keeps it out of every log.
	kubeconfig *dagger.Secret
	// volumes are its nodes' state and its config, this run's alone.
	volumes []*dagger.CacheVolume
	image   string
}

func (m *TodoApp) startCluster(ctx context.Context, images *dagger.Directory, agents int) (*ephemeralCluster, error) {
	run := strings.ToLower(rand.Text()[:12]) // no two runs share state
	spec := k3sSpec{volumes: "todo-app-k3s-" + run, config: dag.CacheVolume("todo-app-k3s-config-" + run),
		images: images, agents: agents, run: run}
	svc, agentSvcs, err := m.k3s(spec)
	if err != nil {
		return nil, err
	}
	cluster := &ephemeralCluster{server: svc, agents: agentSvcs, volumes: append(spec.stateVolumes(), spec.config), image: m.ClusterImage}
	if cluster.server, err = svc.Start(ctx); err != nil {
		cluster.discard(ctx)
		return nil, fmt.Errorf("start k3s: %w", describe(err))
	}
	kubeconfig, err := m.kubeconfig(spec.config, "https://"+k3sHost+":6443", 300).Contents(ctx)
	if err != nil {
		cluster.discard(ctx)
		return nil, fmt.Errorf("k3s kubeconfig: %w", describe(err))
	}
	cluster.kubeconfig = dag.SetSecret("todo-app-k3s-kubeconfig-"+run, kubeconfig)
	return cluster, nil
}

// discard stops the cluster and empties its volumes. No later run uses
// them, yet the engine would keep them until its cache GC: a node's holds
// its imported images and the database, 1-2.3 GB each (measured), and a
// disk they fill sets every node of the next cluster on it under
// disk-pressure. Emptying them also drops the config volume's admin
// kubeconfig. A failure is logged, as the deploy's report is written by now.
func (c *ephemeralCluster) discard(ctx context.Context) {
	ctx = context.WithoutCancel(ctx)
	// Every node, so that no container holds a volume while it is emptied.
	for _, svc := range append([]*dagger.Service{c.server}, slices.Collect(maps.Values(c.agents))...) {
		if _, err := svc.Stop(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "stop a node of the ephemeral cluster: %v\n", describe(err))
		}
	}
	if err := emptyVolumes(ctx, c.image, nil, c.volumes); err != nil {
		fmt.Fprintf(os.Stderr, "empty the ephemeral cluster's volumes (the engine's cache GC will): %v\n", describe(err))
	}
}

// emptyVolumes removes everything in a cluster's volumes: its nodes'
// state, which no running node may hold (one that does keeps its own copy,
// private sharing, untouched), and its config when given, which a server
// shares: it refuses while the server that marks the config runs.
func emptyVolumes(ctx context.Context, image string, config *dagger.CacheVolume, state []*dagger.CacheVolume) error {
	empty := dag.Container().From(image).
		// The same volumes emptied again must run again, not be a cache hit.
		WithEnvVariable("TODO_APP_EMPTIED_AT", time.Now().UTC().Format(time.RFC3339Nano))
	script := ""
	var paths []string
	for i, v := range state {
		path := fmt.Sprintf("/volumes/%d", i)
		empty = empty.WithMountedCache(path, v, dagger.ContainerWithMountedCacheOpts{Sharing: dagger.CacheSharingModePrivate})
		paths = append(paths, path)
	}
	if config != nil {
		empty = empty.WithMountedCache("/config", config)
		paths = append(paths, "/config")
		script = `if [ -f /config/.alive ] && [ $(( $(date +%s) - $(date -r /config/.alive +%s) )) -lt 5 ]; then
  echo "the cluster runs (its server marked its config in the last 5 s): stop its up first" >&2; exit 1
fi
`
	}
	var globs []string
	for _, p := range paths {
		// Hidden entries too; an unmatched glob stays literal, which rm -f ignores.
		globs = append(globs, p+"/*", p+"/.[!.]*", p+"/..?*")
	}
	_, err := empty.WithExec([]string{"sh", "-c", script + "rm -rf " + strings.Join(globs, " ")}).Sync(ctx)
	return err
}

// Cluster is a k3s cluster to keep running while you work: a target for
// deploy --kubeconfig, as a kind or k3d cluster would be. Serve it, then
// take its kubeconfig from a second terminal:
//
//	dagger call cluster server up --ports=6443:6443,8080:80
//	dagger call cluster kubeconfig -o kubeconfig.yaml
//
// Each `up` starts an empty cluster; it ends when `up` does. Its nodes'
// state stays in the engine's cache until the next `up` of its name
// empties it.
func (m *TodoApp) Cluster(
	// Name of the cluster: clusters of different names run side by side,
	// and kubeconfig finds the one of its name.
	// +optional
	// +default="dev"
	name string,
	// A registry on this machine that the cluster pulls from, as images name
	// it, e.g. localhost:5000 (with --registry-service).
	// +optional
	registry string,
	// That registry as a service: --registry-service=tcp://localhost:5000.
	// Images named localhost:5000/… (and 127.0.0.1:5000/…) come from it.
	// +optional
	registryService *dagger.Service,
	// Agent nodes that join the server (agent-1, agent-2, …): 0 is a
	// one-node cluster.
	// +optional
	// +default=0
	agents int,
) (*Cluster, error) {
	if (registry == "") != (registryService == nil) {
		return nil, fmt.Errorf("--registry and --registry-service go together: the registry's name as images give it, and how to reach it")
	}
	if err := pipeline.CheckAgents(agents); err != nil {
		return nil, err
	}
	return &Cluster{Name: name, Registry: registry, RegistryService: registryService, Agents: agents, Pipeline: m}, nil
}

// Cluster is a k3s cluster made by the cluster function: its server and the
// kubeconfig that reaches it.
type Cluster struct {
	// +private
	Name string
	// +private
	Registry string
	// +private
	RegistryService *dagger.Service
	// +private
	Agents int
	// +private
	Pipeline *TodoApp
}

// config is the volume the cluster's kubeconfig is written to, shared by
// every call that names the cluster.
func (c *Cluster) config() *dagger.CacheVolume {
	return dag.CacheVolume("todo-app-cluster-" + c.Name + "-config")
}

// spec is the cluster as k3s starts it, each node's state emptied first.
func (c *Cluster) spec() k3sSpec {
	return k3sSpec{
		volumes:         "todo-app-cluster-" + c.Name,
		freshState:      true,
		config:          c.config(),
		registry:        c.Registry,
		registryService: c.RegistryService,
		agents:          c.Agents,
		run:             strings.ToLower(rand.Text()[:12]),
	}
}

// Server serves the cluster: its API server on port 6443 and its Ingress
// (Traefik, class traefik) on port 80, with its agents. Forward both ports
// with up, e.g. dagger call cluster server up --ports=6443:6443,8080:80.
// +cache="never"
func (c *Cluster) Server() (*dagger.Service, error) {
	svc, _, err := c.Pipeline.k3s(c.spec())
	return svc, err
}

// Delete empties the stopped cluster's volumes (its nodes' state, up to
// the most agents a cluster may have, and its kubeconfig), which the
// engine's cache otherwise keeps until the next up of its name: as kind
// delete cluster does. It refuses while the cluster's up runs.
// +cache="never"
func (c *Cluster) Delete(ctx context.Context) (string, error) {
	spec := c.spec()
	spec.agents = pipeline.MaxAgents
	if err := emptyVolumes(ctx, c.Pipeline.ClusterImage, spec.config, spec.stateVolumes()); err != nil {
		return "", fmt.Errorf("empty the volumes of cluster %s: %w", c.Name, describe(err))
	}
	return fmt.Sprintf("cluster %s deleted: its volumes are empty\n", c.Name), nil
}

// Kubeconfig is the kubeconfig of the running cluster of this name (started
// by server up), for the address its API server is forwarded to. It waits
// for the cluster's API to answer. It holds the cluster's admin key: export
// it (-o kubeconfig.yaml); it is never printed.
// +cache="never"
func (c *Cluster) Kubeconfig(
	// Where the API server is reached: the host port up forwards to 6443.
	// +optional
	// +default="https://127.0.0.1:6443"
	server string,
	// How long to wait for the cluster to start, in seconds.
	// +optional
	// +default=300
	timeout int,
) *dagger.File {
	return c.Pipeline.kubeconfig(c.config(), server, timeout)
}
