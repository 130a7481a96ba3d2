package pipeline

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestDeployPlanSteps(t *testing.T) {
	p := DeployPlan{
		Release: "todo", Namespace: "todo", ValuesFiles: []string{"helm-chart/values-dev.yaml"},
		Values:         DeployValues{Tag: "ci", IngressClass: "traefik", Host: "todo.local"},
		WaitForIngress: true, SmokeURL: "http://k3s",
	}
	steps := p.Steps()
	var names []string
	for _, s := range steps {
		names = append(names, s.Name)
	}
	// Nothing waits for what it does not need: only the smoke test needs Traefik.
	if got := strings.Join(names, ","); got != "install,rollout,helm test,ingress controller,smoke,credentials" {
		t.Fatalf("steps = %s", got)
	}
	install := strings.Join(steps[0].Args, " ")
	for _, want := range []string{"todoctl install --chart helm-chart", "-f helm-chart/values-dev.yaml",
		"--set backend.image.pullPolicy=Never", "--set ingress.className=traefik", "--release todo --namespace todo"} {
		if !strings.Contains(install, want) {
			t.Errorf("install lacks %q: %s", want, install)
		}
	}
	// The chart generates and keeps the secrets: none is ever an argument.
	if strings.Contains(install, "secrets.") || strings.Contains(install, "password") {
		t.Errorf("install passes a secret: %s", install)
	}
	if got := strings.Join(steps[4].Args, " "); got != "todoctl smoke --url http://k3s --host todo.local" {
		t.Errorf("smoke = %s", got)
	}
	if got := strings.Join(steps[5].Args, " "); got != "todoctl fingerprints --release todo --namespace todo" {
		t.Errorf("credentials = %s", got)
	}
	p.WaitForIngress = false
	if slices.ContainsFunc(p.Steps(), func(s Step) bool { return s.Name == "ingress controller" }) {
		t.Error("an existing cluster must not wait for k3s's Traefik")
	}
	// With agents the install waits for every node, so that the scheduler can spread.
	p.Nodes = 3
	if first := p.Steps()[0]; first.Name != "nodes" || strings.Join(first.Args, " ") != "todoctl nodes --count 3 --timeout 5m" {
		t.Errorf("first step with agents = %v", first)
	}
	// For the proofs, what has one replica stays on the server: the add-ons, and the database.
	p.ServingOnControlPlane = true
	steps = p.Steps()
	if got := strings.Join(steps[0].Args, " "); got != "todoctl nodes --count 3 --timeout 5m --pin-to-control-plane kube-system/coredns,kube-system/traefik" {
		t.Errorf("nodes step for the proofs = %s", got)
	}
	for _, step := range []Step{steps[1], p.ProveStep(nil)} {
		if got := strings.Join(step.Args, " "); !strings.Contains(got, "--set postgresql.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key=node-role.kubernetes.io/control-plane") {
			t.Errorf("%s keeps the database anywhere: %s", step.Name, got)
		}
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

// Every deploy-tool command the pipeline runs, run as the pipeline runs it,
// is a command the real deploy tool knows, with flags it parses and values
// the chart accepts (rendered with the same chart and values). The first real run
// of these steps is a CI job: a typo must fail here instead.
func TestStepsWorkWithTheDeployTool(t *testing.T) {
	root, bin := deployTool(t)
	// As the pipeline runs them: an exec, no shell.
	sh := func(args []string) (string, error) {
		cmd := exec.Command(filepath.Join(bin, args[0]), args[1:]...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "KUBECONFIG="+filepath.Join(bin, "no-such-kubeconfig"))
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	k3s := DeployPlan{Release: "todo", Namespace: "todo", ValuesFiles: []string{"helm-chart/values-dev.yaml"},
		Values:         DeployValues{Tag: "ci-abc", IngressClass: "traefik", Host: "todo.local"},
		WaitForIngress: true, SmokeURL: "http://k3s"}
	existing := k3s
	existing.Values.Registry, existing.Values.IngressClass, existing.WaitForIngress, existing.SmokeURL =
		"localhost:5000/todo", "nginx", false, "http://192.168.49.2"
	proofs := k3s
	proofs.Extra, proofs.Nodes, proofs.ServingOnControlPlane = ProofSets, 3, true

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
			// The command parses every flag it is given (help is shown only then).
			if out, err := sh(append(slices.Clone(s.Args), "--help")); err != nil {
				t.Errorf("%s, %s: flags refused: %v\n%s", name, s.Name, err, out)
			}
			// Its chart and values, when it carries any, render.
			if values := chartArgs(s.Args); len(values) > 0 {
				if out, err := sh(append([]string{"todoctl", "render"}, values...)); err != nil {
					t.Errorf("%s, %s: values refused: %v\n%s", name, s.Name, err, out)
				}
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

// chartArgs are the chart and values flags among a command's arguments.
func chartArgs(args []string) []string {
	var values []string
	for i := 0; i+1 < len(args); i++ {
		switch args[i] {
		case "--chart", "-f", "--set":
			values = append(values, args[i], args[i+1])
			i++
		}
	}
	return values
}

// deployTool builds the real deploy tool (cmd/todoctl) of the repository, once
// for the package's tests, and returns the repository's root and its folder.
func deployTool(t *testing.T) (root, bin string) {
	t.Helper()
	buildOnce.Do(func() {
		root, built.err = filepath.Abs("../..")
		if built.err != nil {
			return
		}
		built.root = root
		if built.bin, built.err = os.MkdirTemp("", "todoctl-"); built.err != nil {
			return
		}
		build := exec.Command("go", "build", "-o", built.bin, "./cmd/todoctl")
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("build the deploy tool: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.root, built.bin
}

var (
	buildOnce sync.Once
	built     struct {
		root, bin string
		err       error
	}
)

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

// The plan the pipeline writes is one the real deploy tool runs, each step
// reported as the self-test and users read it.
func TestPlanRunsInTheDeployTool(t *testing.T) {
	root, bin := deployTool(t)
	plan, err := Plan([]Step{
		{"render dev", []string{"todoctl", "render", "-f", "helm-chart/values-dev.yaml"}},
		{"render prod", []string{"todoctl", "render", "-f", "helm-chart/values-prod.yaml"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "plan.json")
	os.WriteFile(file, []byte(plan), 0o600)
	cmd := exec.Command(filepath.Join(bin, "todoctl"), "steps", "--plan", file)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("todoctl steps: %v\n%s", err, out)
	}
	for _, want := range []string{`(?m)^== render dev \(\d+s\): todoctl render -f helm-chart/values-dev.yaml$`, `(?m)^== render prod \(\d+s\): `} {
		if !regexp.MustCompile(want).Match(out) {
			t.Errorf("output lacks %s", want)
		}
	}
	if _, err := Plan([]Step{{"x", []string{"helm", "install"}}}); err == nil {
		t.Error("a step that is not the deploy tool's was planned")
	}
}
