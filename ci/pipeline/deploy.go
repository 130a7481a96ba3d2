package pipeline

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/todo-app/todo-app/ci/contract"
)

// DeployPlan says what `deploy` runs with the deploy tool, in order.
type DeployPlan struct {
	Release, Namespace string
	ValuesFiles        []string
	Values             DeployValues
	Extra              []string // further --set values (e.g. replicas for the proofs)
	// WaitForIngress waits for k3s's Traefik before the smoke test (ephemeral clusters).
	WaitForIngress bool
	// Nodes, when more than one, is how many Ready nodes the install waits
	// for: an ephemeral cluster's server and agents, all there to schedule on.
	Nodes int
	// ServingOnControlPlane (with Nodes) keeps the one-replica parts of the
	// serving path on the server: the cluster's CoreDNS and Traefik, and the
	// in-cluster database. Any agent can then be drained with the app up,
	// whichever node the scheduler picked for each.
	ServingOnControlPlane bool
	// SmokeURL is where the Ingress answers; Host is sent as the Host header.
	SmokeURL string
}

// Step is one deploy-tool invocation.
type Step struct {
	Name string
	Args []string
}

// Steps lists the deploy tool's commands: (with agents) the nodes, install, rollout wait, helm test,
// then (on k3s, whose Traefik starts with the cluster) the ingress
// controller's rollout, the smoke test through the Ingress, and the
// credentials' fingerprints. Nothing waits for what it does not need: the
// install starts as soon as the API answers.
func (p DeployPlan) Steps() []Step {
	common := []string{"--release", p.Release, "--namespace", p.Namespace}
	install := append(append([]string{"todoctl", "install", "--chart", "helm-chart", "--timeout", "10m"}, common...), p.valueArgs()...)
	var steps []Step
	if p.Nodes > 1 {
		nodes := []string{"todoctl", "nodes", "--count", strconv.Itoa(p.Nodes), "--timeout", "5m"}
		if p.ServingOnControlPlane {
			nodes = append(nodes, "--pin-to-control-plane", strings.Join(ClusterServingAddons, ","))
		}
		steps = append(steps, Step{"nodes", nodes})
	}
	steps = append(steps, []Step{
		{"install", install},
		{"rollout", append([]string{"todoctl", "wait", "--timeout", "5m"}, common...)},
		{"helm test", append([]string{"todoctl", "test", "--timeout", "3m"}, common...)},
	}...)
	if p.WaitForIngress {
		steps = append(steps, Step{"ingress controller", []string{"todoctl", "wait", "--namespace", "kube-system",
			"--selector", "app.kubernetes.io/name=traefik", "--timeout", "5m"}})
	}
	return append(steps, Step{"smoke", []string{"todoctl", "smoke", "--url", p.SmokeURL, "--host", p.Values.Host}},
		// The fingerprints of the credentials the deploy handled (none shown),
		// to check its logs, and any later ones, for them.
		Step{"credentials", append([]string{"todoctl", "fingerprints"}, common...)})
}

// ProofSets are the overrides the proofs need: a second replica of each app
// (pod-loss keeps serving only so) and its PodDisruptionBudget (node-drain's
// evictions honour it), the NetworkPolicy (security), and the
// backend's HPA on with a 30 s scale-down window instead of 300 s
// (autoscaling). The deploy tool's proof package names the same autoscaling
// values: ci/ cannot import it.
var ProofSets = []string{
	"backend.replicaCount=2", "frontend.replicaCount=2", "backend.pdb.enabled=true", "frontend.pdb.enabled=true",
	"networkPolicy.enabled=true",
	"backend.autoscaling.enabled=true", "backend.autoscaling.minReplicas=2", "backend.autoscaling.maxReplicas=4",
	"backend.autoscaling.targetCPUUtilizationPercentage=50", "backend.autoscaling.scaleDownStabilizationSeconds=30",
}

// ClusterServingAddons are k3s's one-replica Deployments on users' path:
// the cluster's DNS and its Ingress controller.
var ClusterServingAddons = []string{"kube-system/coredns", "kube-system/traefik"}

// databaseOnControlPlane requires the in-cluster database's node to be a
// control-plane one.
var databaseOnControlPlane = []string{
	"postgresql.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key=node-role.kubernetes.io/control-plane",
	"postgresql.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator=Exists",
}

// valueArgs are the -f and --set arguments of the install, which the proofs'
// upgrades repeat.
func (p DeployPlan) valueArgs() []string {
	var args []string
	for _, f := range p.ValuesFiles {
		args = append(args, "-f", f)
	}
	sets := append(p.Values.Sets(), p.Extra...)
	if p.ServingOnControlPlane {
		sets = append(sets, databaseOnControlPlane...)
	}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	return args
}

// PreloadTag is the tag both images are preloaded into an ephemeral cluster under.
const PreloadTag = "ci"

// NextTag is the second tag under which the backend image is preloaded, so
// that the rolling-update proof upgrades to a new image tag.
func NextTag(tag string) string { return tag + "-next" }

// RolloutSets make the rolling-update proof's new release: the backend on its
// next tag, the frontend with a changed pod template (its large image is
// loaded once).
func (p DeployPlan) RolloutSets() []string {
	return []string{"backend.image.tag=" + NextTag(p.Values.Tag), "frontend.podAnnotations.todo-app/rollout=" + p.Values.Tag}
}

// ProveStep runs the named deploy-time proofs (all when none) through the
// Ingress, with the install's values for the proofs that upgrade.
func (p DeployPlan) ProveStep(proofs []string) Step {
	args := append([]string{"todoctl", "prove", "--chart", "helm-chart", "--release", p.Release, "--namespace", p.Namespace,
		"--url", p.SmokeURL, "--host", p.Values.Host, "--timeout", "10m"}, p.valueArgs()...)
	for _, set := range p.RolloutSets() {
		args = append(args, "--rollout-set", set)
	}
	for _, name := range proofs {
		args = append(args, "--proof", name)
	}
	return Step{"proofs", args}
}

// ScanWithProofs says whether prove adds the image scan: it belongs to the
// security proof (images carry no critical CVEs).
func ScanWithProofs(proofs []string) bool {
	return len(proofs) == 0 || slices.Contains(proofs, "security")
}

// Plan is the deploy tool's plan of steps (todoctl steps --plan): run in one
// process, each reported with its time.
func Plan(steps []Step) (string, error) {
	plan := make([]contract.PlanStep, len(steps))
	for i, s := range steps {
		if len(s.Args) < 2 || s.Args[0] != "todoctl" {
			return "", fmt.Errorf("step %q is not a deploy-tool command: %q", s.Name, s.Args)
		}
		plan[i] = contract.PlanStep{Name: s.Name, Args: s.Args[1:]}
	}
	b, err := contract.EncodePlan(plan)
	return string(b), err
}
