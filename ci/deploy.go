package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/todo-app/todo-app/ci/contract"
	"github.com/todo-app/todo-app/ci/internal/dagger"
	"github.com/todo-app/todo-app/ci/pipeline"
)

// Deploy installs the app and checks it. By default it creates an ephemeral
// k3s cluster with both images preloaded, installs the chart with dev values
// and in-cluster PostgreSQL, waits for the rollout, runs helm test and the
// smoke test through the Ingress. With --kubeconfig and --registry it pushes
// the images and deploys to that cluster instead (Minikube, kind, k3d, or
// dagger call cluster). Returns a report: each step's time and output.
// +cache="never"
func (m *TodoApp) Deploy(
	ctx context.Context,
	// Kubeconfig of an existing cluster, with its certificates inlined
	// (kubectl config view --minify --flatten); empty: an ephemeral k3s.
	// +optional
	kubeconfig *dagger.Secret,
	// Registry the existing cluster pulls from, e.g. localhost:5000/todo (with
	// --kubeconfig); its credentials, if it asks for any, through with-registry-auth.
	// +optional
	registry string,
	// The registry as a service, for one that containers cannot reach by its
	// address or that speaks plain http: --registry-service=tcp://$(minikube ip):5000.
	// +optional
	registryService *dagger.Service,
	// Ports of this machine's loopback that the kubeconfig's server, --registry
	// or --url name (kind, k3d and Docker Desktop write https://127.0.0.1:PORT),
	// which the pipeline's containers reach only so:
	// --tunnel=tcp://127.0.0.1:6443,tcp://127.0.0.1:8080.
	// +optional
	tunnel []*dagger.Service,
	// Ingress class of the existing cluster (Minikube: nginx, k3s: traefik).
	// +optional
	// +default="nginx"
	ingressClass string,
	// Where the existing cluster's Ingress answers, e.g. http://192.168.49.2 (with --kubeconfig).
	// +optional
	url string,
	// Host name of the Ingress rule.
	// +optional
	// +default="todo.local"
	host string,
	// Agent nodes the ephemeral k3s gets beside its server (not with
	// --kubeconfig): the report then shows where each pod runs.
	// +optional
	// +default=0
	agents int,
) (string, error) {
	d, err := m.prepare(ctx, target{kubeconfig, registry, registryService, tunnel, ingressClass, url, host, agents}, nil)
	if err != nil {
		return "", err
	}
	defer d.stop()
	return d.finish(ctx, d.run(ctx, d.plan.Steps()))
}

// Prove deploys to an ephemeral k3s (two replicas of each app with their
// PodDisruptionBudgets, the backend's HPA on with a 30 s scale-down window)
// as deploy does, then runs the deploy-time proofs through the Ingress, each
// reporting its figures: pod-loss, rolling-update, rollback and (with
// agents) node-drain under users' traffic (the page, the auth API, reads,
// writes, streamed chat: each kind failed 0, no acknowledged write lost),
// until the disturbance is over (the old, deleted or evicted pods gone,
// their replacements ready); persistence (rows lost across restarts of
// every pod); autoscaling (time to scale up under load, peak replicas,
// scale-down); security (running users, secrets in pod specs, service
// account tokens, the NetworkPolicy keeping outsiders from PostgreSQL, and
// the image scan). node-loss runs only by name, with agents: an agent is
// killed, and it measures the failed requests until the endpoints drop its
// pods and the time until the apps are whole elsewhere. With agents, what
// runs one replica (CoreDNS, Traefik, the database) stays on the server, so
// that the agent drained or killed holds only the apps' replicas.
// +cache="never"
// +check
func (m *TodoApp) Prove(
	ctx context.Context,
	// Proofs to run; when empty, all but node-loss (node-drain only with agents).
	// +optional
	proofs []string,
	// Agent nodes beside the server: node-drain needs at least one.
	// +optional
	// +default=0
	agents int,
) (string, error) {
	return m.prove(ctx, proofs, agents, pipeline.ScanWithProofs(proofs))
}

// prove runs the proofs, and the image scan beside them when scan is set
// (check runs the scan as a part of its own): the scan needs no cluster, and
// run after the proofs it made prove 37 s longer.
func (m *TodoApp) prove(ctx context.Context, proofs []string, agents int, scan bool) (string, error) {
	d, err := m.prepare(ctx, target{ingressClass: "traefik", host: "todo.local", agents: agents}, pipeline.ProofSets)
	if err != nil {
		return "", err
	}
	defer d.stop()
	type scanned struct {
		report string
		took   time.Duration
		err    error
	}
	var scanDone chan scanned
	if scan {
		scanDone = make(chan scanned, 1)
		go func() {
			// Part of security: the images carry no critical CVEs.
			start := time.Now()
			report, err := m.Scan(ctx, "CRITICAL", []string{"backend", "frontend"})
			scanDone <- scanned{report, time.Since(start), err}
		}()
	}
	var stopped chan string
	if slices.Contains(proofs, "node-loss") {
		stopped = make(chan string, 1)
		go func() { stopped <- d.stopNodeOnRequest(ctx) }()
	}
	err = d.run(ctx, append(d.plan.Steps(), d.plan.ProveStep(proofs)))
	if stopped != nil {
		select {
		case s := <-stopped:
			d.report.WriteString(s)
		default: // the proof never asked: its own figures say why
		}
	}
	if scan {
		s := <-scanDone
		d.recordTook("image scan", "scan --severity=CRITICAL --only=backend,frontend (part of security, beside the proofs)", s.took, s.report)
		if s.err != nil && err == nil {
			// Its table and output are in the report already: the error names the failure.
			first, _, _ := strings.Cut(s.err.Error(), "\n")
			err = fmt.Errorf("image scan: %s", strings.TrimSuffix(first, ":"))
		}
	}
	return d.finish(ctx, err)
}

// stopNodeOnRequest waits for the node-loss proof to ask for a node to be
// stopped, kills that agent's container at once (a machine gone, not a
// graceful shutdown), and says so for the report.
func (d *deployment) stopNodeOnRequest(ctx context.Context) string {
	out, err := d.runner.WithExec([]string{"todoctl", "node-loss-request", "--release", d.plan.Release,
		"--namespace", d.plan.Namespace, "--timeout", "30m"}).Stdout(ctx)
	if err != nil {
		return fmt.Sprintf("== node stop: no request: %v\n", describe(err))
	}
	node := strings.TrimSpace(out)
	agent := d.agents[node]
	if agent == nil {
		return fmt.Sprintf("== node stop: %s is not an agent of this cluster\n", node)
	}
	if _, err := agent.Stop(ctx, dagger.ServiceStopOpts{Kill: true}); err != nil {
		return fmt.Sprintf("== node stop: %s: %v\n", node, err)
	}
	return fmt.Sprintf("== node stop: %s killed at %s, on the node-loss proof's request\n", node, time.Now().UTC().Format("15:04:05.0"))
}

// target is where to deploy: an existing cluster when kubeconfig is set.
type target struct {
	kubeconfig      *dagger.Secret
	registry        string
	registryService *dagger.Service
	tunnels         []*dagger.Service
	ingressClass    string
	url             string
	host            string
	agents          int // of an ephemeral cluster
}

// deployment is a prepared deploy: the deploy tool's container wired to the
// cluster, the plan it follows, and the report so far.
type deployment struct {
	runner *dagger.Container
	plan   pipeline.DeployPlan
	report strings.Builder
	stop   func()
	agents map[string]*dagger.Service // an ephemeral cluster's, by node name
}

func (m *TodoApp) prepare(ctx context.Context, t target, extra []string) (*deployment, error) {
	run := strings.ToLower(rand.Text()[:8])
	// A fresh cluster gets the images preloaded under a fixed tag, so that an
	// unchanged build is a cache hit, tarballs included; a standing cluster
	// pulls, and needs a tag it has never seen.
	tag := pipeline.PreloadTag
	if t.kubeconfig != nil {
		tag = "deploy-" + run
		if t.agents > 0 {
			return nil, fmt.Errorf("--agents makes the ephemeral cluster's nodes; with --kubeconfig the cluster has its own")
		}
	}
	if err := pipeline.CheckAgents(t.agents); err != nil {
		return nil, err
	}
	d := &deployment{stop: func() {}, plan: pipeline.DeployPlan{
		Release: "todo", Namespace: "todo",
		ValuesFiles: []string{"helm-chart/values-dev.yaml"},
		Values:      pipeline.DeployValues{Tag: tag, IngressClass: t.ingressClass, Host: t.host},
		Extra:       extra,
		SmokeURL:    t.url,
	}}
	// The chart generates the auth secret and the database password, and
	// keeps them across upgrades: no credential passes through the pipeline.
	runner := m.toolbox()
	if t.kubeconfig == nil {
		fmt.Fprintf(&d.report, "deploying release %s (images tag %s) to an ephemeral k3s (%s)\n\n", d.plan.Release, tag, m.ClusterImage)
		images := m.preloadImages(tag, extra != nil)
		tarballs := func(ctx context.Context) error { _, err := images.Sync(ctx); return err }
		if err := d.build(ctx, "both images, as tarballs for the cluster to import,", tarballs, built(runner)); err != nil {
			return nil, err
		}
		start := time.Now()
		cluster, err := m.startCluster(ctx, images, t.agents)
		if err != nil {
			return nil, d.fail("cluster", err)
		}
		d.agents = cluster.agents
		d.record("cluster", "", start, fmt.Sprintf("k3s started (a server and %d agents), its images imported, its API server answering", t.agents))
		// With agents, the install waits for every node, so that the scheduler spreads over all of them.
		d.plan.Nodes = t.agents + 1
		// The proofs drain and stop agents: what has one replica stays on the server.
		d.plan.ServingOnControlPlane = extra != nil && t.agents > 0
		d.stop = func() { cluster.discard(ctx) }
		d.plan.Values.IngressClass, d.plan.WaitForIngress, d.plan.SmokeURL = "traefik", true, "http://"+k3sHost
		runner = runner.WithServiceBinding(k3sHost, cluster.server)
		t.kubeconfig = cluster.kubeconfig
	} else {
		if t.registry == "" || t.url == "" {
			return nil, fmt.Errorf("--kubeconfig needs --registry (where the cluster pulls images) and --url (where its Ingress answers)")
		}
		route, err := pipeline.NewRegistryRoute(t.registry, t.registryService != nil)
		if err != nil {
			return nil, err
		}
		if runner, err = withTunnels(ctx, runner, t.tunnels); err != nil {
			return nil, err
		}
		pusher, err := withTunnels(ctx, m.pusher(m.access(route, t.registryService)), t.tunnels)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&d.report, "deploying release %s (images tag %s) to the given cluster\n\n", d.plan.Release, tag)
		// The build an ephemeral deploy preloads (so cached), pushed under this deploy's tag.
		backend, frontend := m.devImage(pipeline.BackendImage), m.devImage(pipeline.FrontendImage)
		if err := d.build(ctx, "both images", built(backend), built(frontend), built(runner)); err != nil {
			return nil, err
		}
		start := time.Now()
		refs, _, err := m.pushImages(ctx, pusher, route, []string{tag},
			[]builtImage{{name: pipeline.BackendImage, tarball: backend.AsTarball()}, {name: pipeline.FrontendImage, tarball: frontend.AsTarball()}})
		if err != nil {
			return nil, d.fail("push", err)
		}
		d.record("push", "", start, strings.Join(refs, "\n"))
		d.plan.Values.Registry = t.registry
	}
	// Either cluster's kubeconfig, a Secret end to end: mounted, never in a layer or a log.
	runner = runner.WithMountedSecret("/kube/config", t.kubeconfig, dagger.ContainerWithMountedSecretOpts{Mode: 0o400})
	// A per-run value in every exec's cache key: each step must run against this cluster.
	d.runner = runner.WithEnvVariable("KUBECONFIG", "/kube/config").WithEnvVariable("DEPLOY_RUN", run)
	return d, nil
}

// withTunnels binds each tunnel of the caller's loopback into c under its
// port's alias, and has the deploy tool forward those loopback ports to them.
// The variable is set even with no tunnel: the deploy tool then refuses an
// address on the loopback, saying how to tunnel it.
func withTunnels(ctx context.Context, c *dagger.Container, tunnels []*dagger.Service) (*dagger.Container, error) {
	var ports []int
	for _, t := range tunnels {
		exposed, err := t.Ports(ctx)
		if err != nil {
			return nil, fmt.Errorf("tunnel: %w", err)
		}
		for _, p := range exposed {
			n, err := p.Port(ctx)
			if err != nil {
				return nil, fmt.Errorf("tunnel: %w", err)
			}
			ports = append(ports, n)
			c = c.WithServiceBinding(pipeline.TunnelAlias(n), t)
		}
	}
	return c.WithEnvVariable(contract.TunnelEnv, pipeline.TunnelEnv(ports)), nil
}

// build has the engine build what the deploy needs (the images, the deploy
// tool) all at once, and reports it as one step: the steps after it are
// then timed for what they do, not for what they build.
func (d *deployment) build(ctx context.Context, what string, parts ...func(context.Context) error) error {
	start := time.Now()
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i, build := range parts {
		wg.Go(func() { errs[i] = build(ctx) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return d.fail("build", err)
	}
	d.record("build", "", start, what+" and the deploy tool")
	return nil
}

// built evaluates a lazy container.
func built(c *dagger.Container) func(context.Context) error {
	return func(ctx context.Context) error { _, err := c.Sync(ctx); return err }
}

// record adds a step's time, what it ran, and its output to the report:
// its header, then the output.
func (d *deployment) record(name, command string, start time.Time, out string) {
	d.recordTook(name, command, time.Since(start), out)
}

// recordTook adds a step that took took to the report.
func (d *deployment) recordTook(name, command string, took time.Duration, out string) {
	d.report.WriteString(contract.StepHeader(name, took, command))
	fmt.Fprintf(&d.report, "%s\n", strings.TrimRight(out, "\n"))
}

// fail is a step's error, with the report so far: what a user reads when a
// deploy stops, since a failed function returns no text.
func (d *deployment) fail(step string, err error) error {
	if step != "" {
		err = fmt.Errorf("%s failed: %w", step, describe(err))
	}
	return fmt.Errorf("%s\n%w", d.report.String(), err)
}

// run executes steps in order in one deploy-tool process (each command in
// its own exec would cost a container start), adding what it reports, each
// step's time and output, to the report.
func (d *deployment) run(ctx context.Context, steps []pipeline.Step) error {
	plan, err := pipeline.Plan(steps)
	if err != nil {
		return err
	}
	out, err := d.runner.
		WithNewFile("/work/plan.json", plan).
		WithExec([]string{"todoctl", "steps", "--plan", "/work/plan.json"}).
		Stdout(ctx)
	var ee *dagger.ExecError
	if errors.As(err, &ee) {
		// The steps up to the failed one, with its output, then why it failed.
		d.report.WriteString(ee.Stdout)
		return fmt.Errorf("%s", strings.TrimSpace(strings.TrimPrefix(ee.Stderr, "todoctl: ")))
	}
	d.report.WriteString(out)
	return err
}

// finish returns the report. When err is set, it adds the workloads' state
// (why they are not ready), and the report is the error's text.
func (d *deployment) finish(ctx context.Context, err error) (string, error) {
	if err == nil {
		return d.report.String(), nil
	}
	status, serr := d.runner.WithExec([]string{"todoctl", "wait", "--release", d.plan.Release,
		"--namespace", d.plan.Namespace, "--timeout", "30s"}).Stdout(ctx)
	if serr != nil {
		status = describe(serr).Error()
	}
	if r := d.report.String(); r != "" && !strings.HasSuffix(r, "\n") {
		d.report.WriteByte('\n') // a failed step's output may end mid-line
	}
	fmt.Fprintf(&d.report, "== status after the failure\n%s\n", strings.TrimRight(status, "\n"))
	return "", d.fail("", err)
}
