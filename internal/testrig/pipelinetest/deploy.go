package pipelinetest

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/todo-app/todo-app/ci/contract"
)

// CheckDeploy checks a deploy report: every step of want ran, in that order,
// each said what it should (the smoke test's every step passed, helm test
// succeeded). It returns the steps' times, for the self-test's line.
func CheckDeploy(report string, want ...string) (string, error) {
	steps := contract.ReadReport(report)
	byName := map[string]contract.ReportStep{}
	var order, times []string
	for _, s := range steps {
		byName[s.Name] = s
		order = append(order, s.Name)
	}
	last, prev := -1, ""
	for _, w := range want {
		i := slices.Index(order, w)
		if i < 0 {
			return "", fmt.Errorf("the report has no step %q (steps: %s)", w, strings.Join(order, ", "))
		}
		if i < last {
			return "", fmt.Errorf("step %q ran before %q", w, prev)
		}
		last, prev = i, w
		times = append(times, fmt.Sprintf("%s %s", w, byName[w].Took))
	}
	if s, ok := byName["helm test"]; ok && !strings.Contains(s.Output, "Succeeded") {
		return "", fmt.Errorf("helm test did not succeed:\n%s", s.Output)
	}
	if s, ok := byName["smoke"]; ok {
		if m := regexp.MustCompile(`(\d+) of (\d+) steps passed`).FindStringSubmatch(s.Output); m == nil || m[1] != m[2] {
			return "", fmt.Errorf("the smoke test did not pass every step:\n%s", s.Output)
		}
	}
	return strings.Join(times, ", "), nil
}

// proofLine is a proof's line as `todoctl prove` prints it.
var proofLine = regexp.MustCompile(`(?m)^(pod-loss|persistence|rolling-update|rollback|autoscaling|security|node-drain|node-loss)\s+(ok|FAILED)\s+(.*)$`)

// usersTraffic is the end of the first line of each proof under users'
// traffic: every request of every kind served, every acknowledged write kept.
const usersTraffic = `failed 0 of [1-9]\d* requests of 5 kinds, writes lost 0 of [1-9]\d*$`

// ProofGoals are, for each deploy-time proof, what its figures must show.
var ProofGoals = map[string][]*regexp.Regexp{
	"pod-loss":    {regexp.MustCompile(`^(deleted \S+ \(serving\), replacement ready in \S+, gone in \S+; ){2}` + usersTraffic)},
	"persistence": {regexp.MustCompile(`^rows lost 0 of [1-9]\d* after restarting every pod`)},
	"rolling-update": {regexp.MustCompile(`^rollout \S+; window: first old pod signalled at \+(\S+), the last of [1-9]\d* deleted at \+(\S+), ` +
		`load ran (\S+) past it \(drain delay (\S+)\); ` + usersTraffic)},
	"rollback":    {regexp.MustCompile(`^broken upgrade failed and rolled back in \S+; rollback to revision (\d+) \(now \d+\) in \S+; ` + usersTraffic)},
	"autoscaling": {regexp.MustCompile(`^scaled up from (\d+) after \S+ under load .*, peak (\d+) replicas; back to (\d+) `)},
	"security": {regexp.MustCompile(`^\d+ containers in [1-9]\d* running pods non-root`),
		regexp.MustCompile(`[1-9]\d* secret values absent from pod specs, no service account tokens`),
		regexp.MustCompile(`NetworkPolicy: a pod outside the app cannot reach PostgreSQL \(it does reach the frontend\)`)},
	"node-drain": {regexp.MustCompile(`^drained \S+: evicted [1-9]\d* pods \([1-9]\d* of the apps\), \d+ refusals by a PodDisruptionBudget; ` +
		`window: first eviction at \+\S+, all through at \+\S+, last evicted pod deleted at \+\S+, replacements ready at \+\S+, load ran \S+ past it; ` + usersTraffic)},
	// Requests to a lost node's pods fail until the endpoints drop them: that
	// is the measurement. What must hold is every write, and the apps whole.
	"node-loss": {regexp.MustCompile(`^lost \S+ \(stop asked at \S+\): NotReady at \+\S+, out of the endpoints at \+\S+, the apps whole elsewhere at \+\S+; ` +
		`failed \d+ of [1-9]\d* requests of 5 kinds, writes lost 0 of [1-9]\d*$`)},
}

// failuresMeasured are the proofs whose kinds may fail: they measure how many.
var failuresMeasured = map[string]bool{"node-loss": true}

// spreadChecked are the proofs that report where the apps ran ("before:
// backend on a, b; …"): there no app may have two replicas on one node.
var spreadChecked = map[string]bool{"node-drain": true, "node-loss": true}

var placementLine = regexp.MustCompile(`^    \| before: (.*)$`)

// spreadProblem says which app had two replicas on one node in a placement
// ("backend on a, b; frontend on a, b; postgresql on c"), or "".
func spreadProblem(placement string) string {
	apps := 0
	for _, part := range strings.Split(placement, "; ") {
		app, nodes, ok := strings.Cut(part, " on ")
		if !ok || (app != "backend" && app != "frontend") {
			continue
		}
		apps++
		list := strings.Split(nodes, ", ")
		slices.Sort(list)
		if len(slices.Compact(list)) < len(strings.Split(nodes, ", ")) {
			return app + " has two replicas on one node: " + nodes
		}
	}
	if apps != 2 {
		return "no placement of both apps in " + strconv.Quote(placement)
	}
	return ""
}

// TrafficKinds are the kinds of users' traffic a proof under traffic
// reports a line of figures for, in order.
var TrafficKinds = []string{"page", "auth", "reads", "writes", "chat"}

// kindLine is a kind's line below its proof's, as `todoctl prove` prints it.
var kindLine = regexp.MustCompile(`^    \| (\w+)\s+failed (\d+) of (\d+),`)

// CheckProofs finds each named proof's line in out and checks its figures
// against its goal, and the proofs under users' traffic a line per kind,
// each with requests and none failed; it returns each proof's figures by
// name.
func CheckProofs(out string, names ...string) (map[string]string, error) {
	found := map[string]string{}
	kinds := map[string][]string{}
	placed := map[string]string{}
	var problems []string
	current := ""
	for _, line := range strings.Split(out, "\n") {
		if m := proofLine.FindStringSubmatch(line); m != nil {
			current = m[1]
			found[current] = m[3]
			if m[2] != "ok" {
				problems = append(problems, current+" FAILED: "+m[3])
			}
			continue
		}
		if m := placementLine.FindStringSubmatch(line); m != nil && current != "" {
			placed[current] = m[1]
			continue
		}
		m := kindLine.FindStringSubmatch(line)
		if m == nil || current == "" {
			current = ""
			continue
		}
		kinds[current] = append(kinds[current], m[1])
		if (m[2] != "0" && !failuresMeasured[current]) || m[3] == "0" {
			problems = append(problems, fmt.Sprintf("%s: %s failed %s of %s", current, m[1], m[2], m[3]))
		}
	}
	for _, name := range names {
		figures, ok := found[name]
		if !ok {
			problems = append(problems, name+": no line in the report")
			continue
		}
		for _, goal := range ProofGoals[name] {
			if !goal.MatchString(figures) {
				problems = append(problems, fmt.Sprintf("%s: %q does not show %s", name, figures, goal))
			}
		}
		if spreadChecked[name] {
			if p := spreadProblem(placed[name]); p != "" {
				problems = append(problems, name+": before: "+p)
			}
		}
		if strings.Contains(ProofGoals[name][0].String(), "requests of 5 kinds") && !slices.Equal(kinds[name], TrafficKinds) {
			problems = append(problems, fmt.Sprintf("%s: lines for the kinds %v, want %v", name, kinds[name], TrafficKinds))
		}
		switch m := ProofGoals[name][0].FindStringSubmatch(figures); {
		case m == nil:
		case name == "autoscaling":
			from, peak, back := atoi(m[1]), atoi(m[2]), atoi(m[3])
			if peak <= from || back != from {
				problems = append(problems, fmt.Sprintf("autoscaling: from %d to a peak of %d and back to %d: want more pods under load, then the minimum again", from, peak, back))
			}
		case name == "rolling-update":
			past, _ := time.ParseDuration(m[3])
			delay, _ := time.ParseDuration(m[4])
			if past < delay {
				problems = append(problems, fmt.Sprintf("rolling-update: the load ran %s past the last old pod, less than the drain delay %s", m[3], m[4]))
			}
		}
	}
	if len(problems) > 0 {
		return found, fmt.Errorf("%s", strings.Join(problems, "\n"))
	}
	return found, nil
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// credentialPatterns are what no deploy output may hold, whoever made the
// credential: private keys as PEM or base64-encoded PEM (a kubeconfig's
// client-key-data), and a kubeconfig's key fields with a value.
var credentialPatterns = []*regexp.Regexp{
	regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----`),
	regexp.MustCompile(`LS0tLS1CRUdJTi[A-Za-z0-9+/=]{20,}`), // base64 of "-----BEGIN"
	regexp.MustCompile(`(client-key-data|client-certificate-data|token):\s*\S{16,}`),
}

// FindCredentials lists what in text is a credential: any of known (values
// the caller knows, such as a cluster's key or a generated password) and
// anything shaped like one. Known values shorter than 8 characters are skipped.
func FindCredentials(text string, known map[string]string) []string {
	var found []string
	for name, value := range known {
		if len(value) >= 8 && strings.Contains(text, value) {
			found = append(found, name)
		}
	}
	for _, re := range credentialPatterns {
		if m := re.FindString(text); m != "" {
			found = append(found, fmt.Sprintf("something shaped like a credential (%.24s…)", m))
		}
	}
	return found
}
