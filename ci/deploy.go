package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"time"

	"github.com/todo-app/todo-app/ci/internal/dagger"
	"github.com/todo-app/todo-app/ci/pipeline"
)

// Deploy installs the app and checks it. By default it creates an ephemeral
// k3s cluster with both images preloaded, installs the chart with dev values
// and in-cluster PostgreSQL, waits for the rollout, runs helm test and the
// smoke test through the Ingress. With --kubeconfig and --registry it pushes
// the images and deploys to that cluster instead (e.g. Minikube). Returns a
// report: what was deployed, each step's output and time.
// +cache="never"
func (m *TodoApp) Deploy(
	ctx context.Context,
	// Kubeconfig of an existing cluster; empty: an ephemeral k3s.
	// +optional
	kubeconfig *dagger.Secret,
	// Registry the existing cluster pulls from, e.g. localhost:5000/todo (with --kubeconfig).
	// +optional
	registry string,
	// Registry user (with --registry).
	// +optional
	registryUsername string,
	// Registry password (with --registry).
	// +optional
	registryPassword *dagger.Secret,
	// The registry as a service, for one that containers cannot reach by its
	// address or that speaks plain http: --registry-service=tcp://$(minikube ip):5000.
	// +optional
	registryService *dagger.Service,
	// Ingress class of the existing cluster (Minikube: nginx).
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
) (string, error) {
	d, err := m.prepare(ctx, target{kubeconfig, registry, registryUsername, registryPassword, registryService, ingressClass, url, host}, nil)
	if err != nil {
		return "", err
	}
	defer d.stop()
	if err := d.run(ctx, d.plan.Steps()); err != nil {
		return "", err
	}
	d.finalStatus(ctx)
	return d.report.String(), nil
}

// Prove deploys to an ephemeral k3s (two replicas of each app, the backend's
// HPA on with a 30 s scale-down window) as deploy does, then runs the deploy-time proofs through the Ingress, each reporting
// a line of figures: pod-loss (failed requests while pods are replaced),
// persistence (rows lost across restarts of every pod), rolling-update
// (failed requests during a rollout), rollback (a broken upgrade rolled back
// while serving, then a rollback to the earlier revision), autoscaling (time
// to scale up under load, peak replicas, scale-down) and security (running
// users, secrets in pod specs, service account tokens, the NetworkPolicy
// keeping outsiders from PostgreSQL, and the image scan).
// +cache="never"
// +check
func (m *TodoApp) Prove(
	ctx context.Context,
	// Proofs to run; all when empty.
	// +optional
	proofs []string,
) (string, error) {
	d, err := m.prepare(ctx, target{ingressClass: "traefik", host: "todo.local"}, pipeline.ProofSets)
	if err != nil {
		return "", err
	}
	defer d.stop()
	if err := d.run(ctx, append(d.plan.Steps(), d.plan.ProveStep(proofs))); err != nil {
		return "", err
	}
	d.finalStatus(ctx)
	if pipeline.ScanWithProofs(proofs) {
		// Part of security: the images carry no critical CVEs.
		scan, err := m.Scan(ctx, "CRITICAL", nil)
		fmt.Fprintf(&d.report, "== security: image scan (CRITICAL fails)\n%s\n", scan)
		if err != nil {
			return "", fmt.Errorf("%simage scan: %w", d.report.String(), err)
		}
	}
	return d.report.String(), nil
}

// target is where to deploy: an existing cluster when kubeconfig is set.
type target struct {
	kubeconfig       *dagger.Secret
	registry         string
	registryUsername string
	registryPassword *dagger.Secret
	registryService  *dagger.Service
	ingressClass     string
	url              string
	host             string
}

// deployment is a prepared deploy: the deploy tool's container wired to the
// cluster, the plan it follows, and the report so far.
type deployment struct {
	runner *dagger.Container
	plan   pipeline.DeployPlan
	report strings.Builder
	stop   func()
}

func (m *TodoApp) prepare(ctx context.Context, t target, extra []string) (*deployment, error) {
	tag := "ci-" + strings.ToLower(rand.Text()[:8])
	d := &deployment{stop: func() {}, plan: pipeline.DeployPlan{
		Release: "todo", Namespace: "todo",
		ValuesFiles: []string{"helm-chart/values-dev.yaml"},
		Values:      pipeline.DeployValues{Tag: tag, IngressClass: t.ingressClass, Host: t.host},
		// Expanded from the container's secret environment, never written in arguments.
		Secrets:  []string{"secrets.betterAuthSecret=$AUTH_SECRET", "postgresql.auth.password=$PG_PASSWORD"},
		Extra:    extra,
		SmokeURL: t.url,
	}}
	runner := m.toolbox().
		WithSecretVariable("AUTH_SECRET", dag.SetSecret("todo-auth-"+tag, rand.Text()+rand.Text())).
		WithSecretVariable("PG_PASSWORD", dag.SetSecret("todo-pg-"+tag, rand.Text()))
	where := "an ephemeral k3s (" + m.ClusterImage + ")"
	if t.kubeconfig == nil {
		c, err := m.k3s(ctx, tag)
		if err != nil {
			return nil, err
		}
		d.stop = func() { c.svc.Stop(context.WithoutCancel(ctx)) }
		d.plan.Values.IngressClass, d.plan.WaitForIngress, d.plan.SmokeURL = "traefik", true, "http://k3s"
		runner = runner.WithServiceBinding("k3s", c.svc).WithMountedFile("/kube/config", c.kubeconfig)
	} else {
		if t.registry == "" || t.url == "" {
			return nil, fmt.Errorf("--kubeconfig needs --registry (where the cluster pulls images) and --url (where its Ingress answers)")
		}
		route, err := pipeline.NewRegistryRoute(t.registry, t.registryService != nil)
		if err != nil {
			return nil, err
		}
		refs, _, err := m.pushImages(ctx, m.pusher(registryAccess{route, t.registryUsername, t.registryPassword, t.registryService}), route, []string{tag},
			imageBuild{version: tag, commit: "deploy"})
		if err != nil {
			return nil, err
		}
		d.plan.Values.Registry = t.registry
		where = "the given cluster, images " + strings.Join(refs, ", ")
		runner = runner.WithMountedSecret("/kube/config", t.kubeconfig,
			dagger.ContainerWithMountedSecretOpts{Mode: 0o400})
	}
	// A per-run value in every exec's cache key: each step must run against this cluster.
	d.runner = runner.WithEnvVariable("KUBECONFIG", "/kube/config").WithEnvVariable("DEPLOY_RUN", tag)
	fmt.Fprintf(&d.report, "deploying release %s (images tag %s) to %s\n\n", d.plan.Release, tag, where)
	return d, nil
}

// run executes steps in order, adding each one's output and time to the report.
func (d *deployment) run(ctx context.Context, steps []pipeline.Step) error {
	for _, s := range steps {
		start := time.Now()
		d.runner = d.runner.WithExec([]string{"sh", "-c", pipeline.ShellLine(s.Args)})
		out, err := d.runner.Stdout(ctx)
		fmt.Fprintf(&d.report, "== %s (%s): %s\n%s\n", s.Name, time.Since(start).Round(time.Second), pipeline.Redact(s.Args), out)
		if err != nil {
			return fmt.Errorf("%s%s failed: %w", d.report.String(), s.Name, describe(err))
		}
	}
	return nil
}

// finalStatus appends the workloads' state to the report.
func (d *deployment) finalStatus(ctx context.Context) {
	status, err := d.runner.WithExec([]string{"sh", "-c", pipeline.ShellLine([]string{"todoctl", "wait",
		"--release", d.plan.Release, "--namespace", d.plan.Namespace, "--timeout", "30s"})}).Stdout(ctx)
	if err == nil {
		fmt.Fprintf(&d.report, "== final status\n%s", status)
	}
}
