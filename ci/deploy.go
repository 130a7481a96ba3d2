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
	tag := "ci-" + strings.ToLower(rand.Text()[:8])
	plan := pipeline.DeployPlan{
		Release: "todo", Namespace: "todo",
		ValuesFiles: []string{"helm-chart/values-dev.yaml"},
		Values:      pipeline.DeployValues{Tag: tag, IngressClass: ingressClass, Host: host},
		// Expanded from the container's secret environment, never written in arguments.
		Secrets:  []string{"secrets.betterAuthSecret=$AUTH_SECRET", "postgresql.auth.password=$PG_PASSWORD"},
		SmokeURL: url,
	}
	runner := m.toolbox().
		WithSecretVariable("AUTH_SECRET", dag.SetSecret("todo-auth-"+tag, rand.Text()+rand.Text())).
		WithSecretVariable("PG_PASSWORD", dag.SetSecret("todo-pg-"+tag, rand.Text()))

	target := "an ephemeral k3s (" + m.K3sImage + ")"
	if kubeconfig == nil {
		c, err := m.k3s(ctx, tag)
		if err != nil {
			return "", err
		}
		defer c.svc.Stop(context.WithoutCancel(ctx))
		plan.Values.IngressClass, plan.WaitForIngress, plan.SmokeURL = "traefik", true, "http://k3s"
		runner = runner.WithServiceBinding("k3s", c.svc).WithMountedFile("/kube/config", c.kubeconfig)
	} else {
		if registry == "" || url == "" {
			return "", fmt.Errorf("--kubeconfig needs --registry (where the cluster pulls images) and --url (where its Ingress answers)")
		}
		refs, err := m.pushImages(ctx, registry, registryUsername, registryPassword, []string{tag}, nil)
		if err != nil {
			return "", err
		}
		plan.Values.Registry = registry
		target = "the given cluster, images " + strings.Join(refs, ", ")
		runner = runner.WithMountedSecret("/kube/config", kubeconfig,
			dagger.ContainerWithMountedSecretOpts{Mode: 0o400})
	}
	// A per-run value in every exec's cache key: each step must run against this cluster.
	runner = runner.WithEnvVariable("KUBECONFIG", "/kube/config").WithEnvVariable("DEPLOY_RUN", tag)

	var report strings.Builder
	fmt.Fprintf(&report, "deploying release %s (images tag %s) to %s\n\n", plan.Release, tag, target)
	for _, s := range plan.Steps() {
		start := time.Now()
		runner = runner.WithExec([]string{"sh", "-c", pipeline.ShellLine(s.Args)})
		out, err := runner.Stdout(ctx)
		fmt.Fprintf(&report, "== %s (%s): %s\n%s\n", s.Name, time.Since(start).Round(time.Second), pipeline.Redact(s.Args), out)
		if err != nil {
			return "", fmt.Errorf("%s%s failed: %w", report.String(), s.Name, describe(err))
		}
	}
	status, err := runner.WithExec([]string{"sh", "-c", "todoctl wait --release todo --namespace todo --timeout 30s"}).Stdout(ctx)
	if err == nil {
		fmt.Fprintf(&report, "== final status\n%s", status)
	}
	return report.String(), nil
}
