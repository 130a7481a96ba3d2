package pipeline

import (
	"strings"
	"testing"
)

func TestDeployPlanSteps(t *testing.T) {
	p := DeployPlan{
		Release: "todo", Namespace: "todo", ValuesFiles: []string{"helm-chart/values-dev.yaml"},
		Values:         DeployValues{Tag: "ci", IngressClass: "traefik", Host: "todo.local"},
		Secrets:        []string{"secrets.betterAuthSecret=s3cr3t", "postgresql.auth.password=pw"},
		WaitForIngress: true, SmokeURL: "http://k3s",
	}
	steps := p.Steps()
	var names []string
	for _, s := range steps {
		names = append(names, s.Name)
	}
	if got := strings.Join(names, ","); got != "ingress controller,install,rollout,helm test,smoke" {
		t.Fatalf("steps = %s", got)
	}
	install := strings.Join(steps[1].Args, " ")
	for _, want := range []string{"todoctl install --chart helm-chart", "-f helm-chart/values-dev.yaml",
		"--set backend.image.pullPolicy=Never", "--set ingress.className=traefik", "--set secrets.betterAuthSecret=s3cr3t", "--release todo --namespace todo"} {
		if !strings.Contains(install, want) {
			t.Errorf("install lacks %q: %s", want, install)
		}
	}
	if got := strings.Join(steps[4].Args, " "); got != "todoctl smoke --url http://k3s --host todo.local" {
		t.Errorf("smoke = %s", got)
	}
	p.WaitForIngress = false
	if p.Steps()[0].Name != "install" {
		t.Error("an existing cluster must not wait for k3s's Traefik")
	}
}

func TestRedact(t *testing.T) {
	got := Redact([]string{"--set", "secrets.betterAuthSecret=s3cr3t", "--set", "postgresql.auth.password=pw", "--set", "ingress.host=todo.local"})
	if strings.Contains(got, "s3cr3t") || strings.Contains(got, "=pw") || !strings.Contains(got, "ingress.host=todo.local") {
		t.Fatalf("Redact = %s", got)
	}
}

func TestInClusterKubeconfig(t *testing.T) {
	in := "apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: x\n    server: https://127.0.0.1:6443\n  name: default\n"
	got, err := InClusterKubeconfig(in, "k3s")
	if err != nil || !strings.Contains(got, "    server: https://k3s:6443\n") || strings.Contains(got, "127.0.0.1") {
		t.Fatalf("got %q, %v", got, err)
	}
	if _, err := InClusterKubeconfig("nothing here", "k3s"); err == nil {
		t.Fatal("a kubeconfig without a server line was accepted")
	}
}

func TestShellLine(t *testing.T) {
	got := ShellLine([]string{"todoctl", "--set", "secrets.betterAuthSecret=$AUTH_SECRET", `a "quoted" \ value`, "back`tick"})
	want := `"todoctl" "--set" "secrets.betterAuthSecret=$AUTH_SECRET" "a \"quoted\" \\ value" "back\` + "`" + `tick"`
	if got != want {
		t.Fatalf("ShellLine =\n%s\nwant\n%s", got, want)
	}
}

func TestProveStep(t *testing.T) {
	p := DeployPlan{Release: "todo", Namespace: "todo", SmokeURL: "http://k3s", Values: DeployValues{Host: "todo.local"}, Extra: ProofSets}
	got := strings.Join(p.ProveStep([]string{"pod-loss"}).Args, " ")
	if !strings.HasPrefix(got, "todoctl prove --chart helm-chart --release todo --namespace todo --url http://k3s --host todo.local --timeout 10m ") ||
		!strings.HasSuffix(got, "--proof pod-loss") || !strings.Contains(got, "--set backend.replicaCount=2") {
		t.Fatalf("prove step = %s", got)
	}
	p.Values.Tag = "ci-abc"
	if got := strings.Join(p.ProveStep(nil).Args, " "); !strings.Contains(got, "--rollout-set backend.image.tag=ci-abc-next") ||
		!strings.Contains(got, "--rollout-set frontend.podAnnotations.todo-app/rollout=ci-abc") {
		t.Fatalf("prove step lacks the rollout values: %s", got)
	}
	install := strings.Join(p.Steps()[0].Args, " ")
	if !strings.Contains(install, "--set backend.replicaCount=2") || !strings.Contains(install, "--set frontend.replicaCount=2") {
		t.Fatalf("install lacks the proof replicas: %s", install)
	}
}

func TestScanWithProofs(t *testing.T) {
	for proofs, want := range map[string]bool{"": true, "security": true, "pod-loss,security": true, "pod-loss": false} {
		var list []string
		if proofs != "" {
			list = strings.Split(proofs, ",")
		}
		if got := ScanWithProofs(list); got != want {
			t.Errorf("ScanWithProofs(%v) = %v", list, got)
		}
	}
}
