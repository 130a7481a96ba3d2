package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/todo-app/todo-app/internal/fingerprint"
	"github.com/todo-app/todo-app/internal/smoke"
	"github.com/todo-app/todo-app/internal/testrig/devstack"
	"github.com/todo-app/todo-app/internal/testrig/pipelinetest"
)

// The deploy half: functions that need a Kubernetes cluster (k3s in the
// engine). Each runs with --progress=plain, and no credential may show in
// what it prints: the cluster's key, generated passwords, the auth secret.

// deploySteps are the steps every deploy report must show, in order.
var deploySteps = []string{"install", "rollout", "helm test", "smoke", "credentials"}

// deploy deploys to an ephemeral k3s, as `dagger call deploy` does for a user.
func (t *selftest) deploy(ctx context.Context) (string, error) {
	out, err := t.call(ctx, "deploy", "deploy")
	if err != nil {
		return "", err
	}
	times, err := pipelinetest.CheckDeploy(out, append([]string{"build", "cluster"}, deploySteps...)...)
	if err != nil {
		return "", fmt.Errorf("%w\n%s", err, out)
	}
	checked, err := t.noCredentials("deploy", out, nil)
	if err != nil {
		return "", err
	}
	return times + "; " + checked, nil
}

// existingCluster serves the module's cluster as a standing one (as a user
// serves kind or k3d), pulling from the registry served here; takes its
// kubeconfig, whose server is this machine's loopback; checks it from here;
// then deploys to it with deploy --kubeconfig, every loopback address
// (API server, registry, Ingress) reached through --tunnel.
func (t *selftest) existingCluster(ctx context.Context) (string, error) {
	api, err := devstack.FreePort()
	if err != nil {
		return "", err
	}
	web, err := devstack.FreePort()
	if err != nil {
		return "", err
	}
	name := "selftest-" + strings.ToLower(rand.Text()[:6])
	cluster := []string{"cluster", "--name=" + name}
	server, err := t.background("cluster-server", append(cluster, "--registry="+t.registry, "--registry-service=tcp://"+t.registry,
		"server", "up", fmt.Sprintf("--ports=%d:6443,%d:80", api, web))...)
	if err != nil {
		return "", err
	}
	defer server.stop()

	kubeconfig := filepath.Join(t.out, "cluster.kubeconfig")
	exported, err := t.call(ctx, "cluster-kubeconfig", append(cluster, "kubeconfig", fmt.Sprintf("--server=https://127.0.0.1:%d", api), "-o", kubeconfig)...)
	if err != nil {
		return "", err
	}
	kube, key, err := clusterFromHere(ctx, kubeconfig)
	if err != nil {
		return "", err
	}

	started := time.Now()
	deployArgs := []string{"deploy", "--kubeconfig=file://" + kubeconfig, "--registry=" + t.registry + "/selftest",
		fmt.Sprintf("--url=http://127.0.0.1:%d", web), "--ingress-class=traefik",
		fmt.Sprintf("--tunnel=tcp://127.0.0.1:%d,tcp://%s,tcp://127.0.0.1:%d", api, t.registry, web)}
	out, err := t.call(ctx, "cluster-deploy", deployArgs...)
	if err != nil {
		return "", err
	}
	took := time.Since(started)
	times, err := pipelinetest.CheckDeploy(out, append([]string{"build", "push"}, deploySteps...)...)
	if err != nil {
		return "", fmt.Errorf("%w\n%s", err, out)
	}
	// The release is there, running what was pushed to the registry served here.
	secret, err := kube.CoreV1().Secrets("todo").Get(ctx, "todo-todo-app", metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("the release's Secret: %w", err)
	}
	known := map[string]string{"the cluster's client key": key}
	for k, v := range secret.Data {
		known["the release's "+k] = string(v)
	}
	var checked string
	// The kubeconfig's export prints no fingerprints: the deploy's name the same credentials.
	for _, c := range []struct{ log, stdout string }{{"cluster-kubeconfig", exported + "\n" + out}, {"cluster-deploy", out}} {
		if checked, err = t.noCredentials(c.log, c.stdout, known); err != nil {
			return "", err
		}
	}
	images, err := releaseImages(ctx, kube)
	if err != nil {
		return "", err
	}
	for _, img := range images {
		if !strings.HasPrefix(img, t.registry+"/selftest/") {
			return "", fmt.Errorf("the release runs %s, not an image pushed to %s/selftest", img, t.registry)
		}
	}
	// And the app answers here, through the Ingress the cluster's up forwards.
	report := smoke.Run(ctx, fmt.Sprintf("http://127.0.0.1:%d", web), smoke.Options{Host: "todo.local", Reachable: time.Minute})
	if err := report.Err(); err != nil {
		return "", fmt.Errorf("smoke test from this machine:\n%s", report)
	}
	deleted, err := t.deleteCluster(ctx, cluster, server)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("deployed in %s through 3 tunnels (%s); kubeconfig on 127.0.0.1:%d works here; runs %d images from the registry here; "+
		"smoke from here %d steps; %s; %s", took.Round(time.Second), times, api, len(images), len(report.Steps), checked, deleted), nil
}

// deleteCluster deletes the standing cluster as its user would, once its up
// has stopped; while it runs, delete must refuse.
func (t *selftest) deleteCluster(ctx context.Context, cluster []string, server *running) (string, error) {
	deleteArgs := append(slices.Clone(cluster), "delete")
	if _, err := t.call(ctx, "cluster-delete-running", deleteArgs...); err == nil {
		return "", fmt.Errorf("cluster delete emptied a running cluster's volumes")
	} else if !strings.Contains(err.Error(), "stop its up first") {
		return "", fmt.Errorf("cluster delete of a running cluster failed, but not as refused: %w", err)
	}
	server.stop()
	out, err := t.call(ctx, "cluster-delete", deleteArgs...)
	if err != nil {
		return "", err
	}
	if !strings.Contains(out, "deleted") {
		return "", fmt.Errorf("cluster delete said %q", out)
	}
	return "delete refused while up ran, then emptied its volumes", nil
}

// prove runs the deploy-time proofs on one node, as check does, and checks
// each one's figures against its goal.
func (t *selftest) prove(ctx context.Context) (string, error) {
	names := t.proofs
	if len(names) == 0 {
		names = []string{"pod-loss", "persistence", "rolling-update", "rollback", "autoscaling", "security"}
	}
	return t.proveOn(ctx, "prove", 0, names, t.proofs)
}

// proveNodes drains a node of three under users' traffic: node-drain, which
// a one-node cluster cannot run.
func (t *selftest) proveNodes(ctx context.Context) (string, error) {
	return t.proveOn(ctx, "prove-nodes", 2, []string{"node-drain"}, []string{"node-drain"})
}

// proveOn runs prove with agents beside the server (--proofs for each of
// asked; all when none) and checks the figures of the proofs named.
// Where Trivy cannot download its vulnerability database (this machine), the
// image scan is the one part allowed to fail, and only so.
func (t *selftest) proveOn(ctx context.Context, log string, agents int, names, asked []string) (string, error) {
	args := []string{"prove"}
	steps := []string{"build", "cluster"}
	if agents > 0 {
		args = append(args, fmt.Sprintf("--agents=%d", agents))
		steps = append(steps, "nodes")
	}
	for _, p := range asked {
		args = append(args, "--proofs="+p)
	}
	out, callErr := t.call(ctx, log, args...)
	logged, _ := os.ReadFile(filepath.Join(t.out, "logs", log+".log"))
	// A failed call's report is its error, which the CLI prints to the log.
	text := out + "\n" + string(logged)
	var note string
	if callErr != nil {
		scanFailed := strings.Contains(text, "image scan: ") && strings.Contains(text, "trivy could not scan")
		if !scanFailed {
			return "", callErr
		}
		note = "; the image scan could not run: Trivy has no vulnerability database here (the only failure)"
	}
	if _, err := pipelinetest.CheckDeploy(text, append(steps, deploySteps...)...); err != nil {
		return "", err
	}
	figures, err := pipelinetest.CheckProofs(text, names...)
	if err != nil {
		return "", err
	}
	checked, err := t.noCredentials(log, text, nil)
	if err != nil {
		return "", err
	}
	var lines []string
	for _, n := range names {
		lines = append(lines, n+": "+figures[n])
	}
	return fmt.Sprintf("%d proofs meet their goals on %d nodes%s; %s\n    %s", len(names), agents+1, note, checked, strings.Join(lines, "\n    ")), nil
}

// noCredentials fails when what a call printed, or its log, holds a
// credential: one of known, one the report's fingerprints name (the
// release's generated values and the kubeconfig's key, read from the
// cluster by the deploy's last step), or anything shaped like one. The
// report must name the kubeconfig's key and at least 3 values of the
// release: a check of nothing proves nothing. It says what it checked.
func (t *selftest) noCredentials(log, stdout string, known map[string]string) (string, error) {
	logged, err := os.ReadFile(filepath.Join(t.out, "logs", log+".log"))
	if err != nil {
		return "", err
	}
	fps := fingerprint.Parse(stdout)
	var names []string
	for _, f := range fps {
		names = append(names, f.Name)
	}
	if len(fps) < 4 || !slices.Contains(names, "kubeconfig/client-key") {
		return "", fmt.Errorf("dagger call %s: its report fingerprints %v: want the kubeconfig's key and the release's values", log, names)
	}
	text := stdout + "\n" + string(logged)
	found := append(pipelinetest.FindCredentials(text, known), fingerprint.Find(text, fps)...)
	if len(found) > 0 {
		return "", fmt.Errorf("dagger call %s printed %s (logs/%s.log)", log, strings.Join(found, ", "), log)
	}
	return fmt.Sprintf("none of %d credentials (%s) in its output", len(fps), strings.Join(names, ", ")), nil
}

// running is a `dagger call` left running (a service's up).
type running struct {
	cmd      *exec.Cmd
	log      *os.File
	done     chan struct{} // closed when it exits, err then set
	err      error
	stopOnce sync.Once
}

// background starts `dagger call … args`, its output in logs/<log>.log.
func (t *selftest) background(log string, args ...string) (*running, error) {
	f, err := os.Create(filepath.Join(t.out, "logs", log+".log"))
	if err != nil {
		return nil, err
	}
	r := &running{log: f, done: make(chan struct{}),
		cmd: exec.Command(t.dagger, append(append([]string{"--progress=plain", "call"}, t.constructor...), args...)...)}
	r.cmd.Stdout, r.cmd.Stderr = f, f
	if err := r.cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	go func() { r.err = r.cmd.Wait(); close(r.done) }()
	return r, nil
}

// stop ends it as Ctrl-C would, killing it after 30 s; once.
func (r *running) stop() {
	r.stopOnce.Do(func() {
		_ = r.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-r.done:
		case <-time.After(30 * time.Second):
			_ = r.cmd.Process.Kill()
			<-r.done
		}
		r.log.Close()
	})
}

// clusterFromHere checks a kubeconfig from this machine, as kubectl would
// use it: the node is Ready. It returns a client and the client key.
func clusterFromHere(ctx context.Context, kubeconfig string) (kubernetes.Interface, string, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, "", fmt.Errorf("the exported kubeconfig: %w", err)
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, "", err
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		nodes, err := kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err == nil && len(nodes.Items) > 0 && nodeReady(nodes.Items[0]) {
			return kube, string(cfg.KeyData), nil
		}
		if time.Now().After(deadline) {
			return nil, "", fmt.Errorf("no Ready node through %s after 3 min: %v", cfg.Host, err)
		}
		select {
		case <-ctx.Done():
			return nil, "", ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

func nodeReady(n corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// releaseImages are the images the release's Deployments run.
func releaseImages(ctx context.Context, kube kubernetes.Interface) ([]string, error) {
	deps, err := kube.AppsV1().Deployments("todo").List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=todo"})
	if err != nil {
		return nil, err
	}
	var images []string
	for _, d := range deps.Items {
		for _, c := range d.Spec.Template.Spec.Containers {
			images = append(images, c.Image)
		}
	}
	if len(images) == 0 {
		return nil, errors.New("the release has no Deployment")
	}
	return images, nil
}
