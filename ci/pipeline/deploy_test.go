package pipeline

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
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

// Every deploy-tool command the pipeline runs, run through sh as the pipeline
// runs it, is a command the real deploy tool knows, with flags it parses and
// values the chart accepts (rendered with the same flags). The first real run
// of these steps is a CI job: a typo must fail here instead.
func TestStepsWorkWithTheDeployTool(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin, "./cmd/todoctl")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the deploy tool: %v\n%s", err, out)
	}
	sh := func(args []string) (string, error) {
		cmd := exec.Command("sh", "-c", ShellLine(args))
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
			"AUTH_SECRET="+strings.Repeat("a", 64), "PG_PASSWORD=pg-password", "KUBECONFIG="+filepath.Join(bin, "no-such-kubeconfig"))
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	secrets := []string{"secrets.betterAuthSecret=$AUTH_SECRET", "postgresql.auth.password=$PG_PASSWORD"}
	k3s := DeployPlan{Release: "todo", Namespace: "todo", ValuesFiles: []string{"helm-chart/values-dev.yaml"},
		Values:  DeployValues{Tag: "ci-abc", IngressClass: "traefik", Host: "todo.local"},
		Secrets: secrets, WaitForIngress: true, SmokeURL: "http://k3s"}
	existing := k3s
	existing.Values.Registry, existing.Values.IngressClass, existing.WaitForIngress, existing.SmokeURL =
		"localhost:5000/todo", "nginx", false, "http://192.168.49.2"
	proofs := k3s
	proofs.Extra = ProofSets

	for name, p := range map[string]DeployPlan{"k3s": k3s, "existing cluster": existing, "proofs": proofs} {
		steps := append(p.Steps(), p.ProveStep(nil))
		// The rolling-update proof's upgrade: the install's values and the rollout's.
		upgrade := append([]string{"todoctl", "install", "--chart", "helm-chart"}, p.valueArgs()...)
		for _, set := range p.RolloutSets() {
			upgrade = append(upgrade, "--set", set)
		}
		steps = append(steps, Step{"rolling-update upgrade", upgrade})
		for _, s := range steps {
			if len(s.Args) < 2 || s.Args[0] != "todoctl" {
				t.Fatalf("%s, %s: not a deploy-tool command: %q", name, s.Name, s.Args)
			}
			// Without a cluster the command fails, but not as unknown.
			if out, _ := sh(s.Args[:2]); strings.Contains(out, "unknown command") {
				t.Errorf("%s, %s: %s", name, s.Name, out)
			}
			// The same flags, plus the install's values for steps that carry none.
			render := append(slices.Clone(s.Args), p.valueArgs()...)
			render[1] = "render"
			out, err := sh(render)
			if err != nil {
				t.Errorf("%s, %s: flags or values refused: %v\n%s", name, s.Name, err, out)
				continue
			}
			if strings.Contains(out, "$AUTH_SECRET") || strings.Contains(out, "$PG_PASSWORD") {
				t.Errorf("%s, %s: a secret reference was not expanded", name, s.Name)
			}
		}
		installed, _ := sh(append([]string{"todoctl", "render"}, p.valueArgs()...))
		upgraded, _ := sh(append([]string{"todoctl", "render"}, upgrade[2:]...))
		for what, want := range map[string]string{
			installed: "image: " + ImageRef(p.Values.Registry, BackendImage, "ci-abc") + "\n",
			upgraded:  "image: " + ImageRef(p.Values.Registry, BackendImage, NextTag("ci-abc")) + "\n",
		} {
			if !strings.Contains(what, want) {
				t.Errorf("%s: rendered manifests lack image %s", name, want)
			}
		}
	}
}

// The autoscaling proof checks the HPA these values make; the deploy tool
// names them too (internal/proof.AutoscalingSets), which ci/ cannot import.
func TestProofSetsCarryTheAutoscalingProofsValues(t *testing.T) {
	src, err := os.ReadFile("../../internal/proof/autoscaling.go")
	if err != nil {
		t.Fatal(err)
	}
	_, block, _ := strings.Cut(string(src), "var AutoscalingSets = []string{")
	block, _, _ = strings.Cut(block, "}")
	sets := regexp.MustCompile(`"([^"]+)"`).FindAllStringSubmatch(block, -1)
	if len(sets) < 3 {
		t.Fatalf("found %d values in AutoscalingSets: has it moved?", len(sets))
	}
	for _, m := range sets {
		if !slices.Contains(ProofSets, m[1]) {
			t.Errorf("ProofSets lacks %s, which the autoscaling proof expects", m[1])
		}
	}
}
