package pipelinetest

import (
	"strings"
	"testing"
	"time"

	"github.com/todo-app/todo-app/ci/contract"
)

const deployReport = `deploying release todo (images tag ci-abc) to an ephemeral k3s (rancher/k3s:v1.33.4-k3s1)

== cluster (38s)
k3s started and its API server answers; images preloaded: todo-backend:ci-abc, todo-frontend:ci-abc
== install (21s): todoctl install --chart helm-chart --timeout 10m --release todo --namespace todo
release todo revision 1 deployed in 21s
== rollout (1s): todoctl wait --timeout 5m --release todo --namespace todo
Deployment/todo-todo-app-backend 1/1 ready
rolled out in 0s
== helm test (6s): todoctl test --timeout 3m --release todo --namespace todo
todo-todo-app-test                                 Succeeded
== ingress controller (0s): todoctl wait --namespace kube-system --selector app.kubernetes.io/name=traefik --timeout 5m
Deployment/traefik 1/1 ready
== smoke (4s): todoctl smoke --url http://k3s --host todo.local
frontend health                            12ms  ok
11 of 11 steps passed
== final status
Deployment/todo-todo-app-backend 1/1 ready
`

// A report as deploy writes it reads back step by step.
func TestReadDeployReport(t *testing.T) {
	steps := contract.ReadReport(deployReport)
	var names []string
	for _, s := range steps {
		names = append(names, s.Name)
	}
	if got := strings.Join(names, ","); got != "cluster,install,rollout,helm test,ingress controller,smoke" {
		t.Fatalf("steps = %s", got)
	}
	if steps[1].Took != 21*time.Second || !strings.HasPrefix(steps[1].Output, "release todo revision 1") {
		t.Errorf("install = %+v", steps[1])
	}
}

func TestCheckDeploy(t *testing.T) {
	times, err := CheckDeploy(deployReport, "cluster", "install", "rollout", "helm test", "smoke")
	if err != nil || times != "cluster 38s, install 21s, rollout 1s, helm test 6s, smoke 4s" {
		t.Fatalf("CheckDeploy = %q, %v", times, err)
	}
	for name, report := range map[string]string{
		"a step missing":    strings.Replace(deployReport, "== rollout", "== rolled", 1),
		"helm test failing": strings.Replace(deployReport, "Succeeded", "Failed", 1),
		"smoke failing":     strings.Replace(deployReport, "11 of 11", "10 of 11", 1),
	} {
		if _, err := CheckDeploy(report, "cluster", "install", "rollout", "helm test", "smoke"); err == nil {
			t.Errorf("%s: passed", name)
		}
	}
	if _, err := CheckDeploy(deployReport, "smoke", "install"); err == nil {
		t.Error("steps out of order passed")
	}
}

const trafficLines = `    | page    failed 0 of 88, p50 31ms, p99 90ms
    | auth    failed 0 of 40, p50 9ms, p99 20ms
    | reads   failed 0 of 20311, p50 2ms, p99 9ms
    | writes  failed 0 of 901, p50 4ms, p99 12ms; 451 tasks created and 450 completed, acknowledged; lost 0
    | chat    failed 0 of 9, p50 20ms, p99 40ms; each reply streamed to its done event
`

var proofsOut = `autoscaling  ok      scaled up from 2 after 33s under load (412 req/s), peak 4 replicas; back to 2 1m2s after the load (scale-down window 30 s; the chart's default is 300 s)
persistence  ok      rows lost 0 of 6 after restarting every pod, serving again in 41.2s
pod-loss     ok      deleted todo-todo-app-backend-7f9-abcde (serving), replacement ready in 6.1s, gone in 11.4s; deleted todo-todo-app-frontend-5c8-fghij (serving), replacement ready in 7.2s, gone in 11.6s; failed 0 of 21349 requests of 5 kinds, writes lost 0 of 901
` + trafficLines + `rollback     ok      broken upgrade failed and rolled back in 4.2s; rollback to revision 3 (now 5) in 1.8s; failed 0 of 21349 requests of 5 kinds, writes lost 0 of 901
` + trafficLines + `rolling-update ok      rollout 31.2s; window: first old pod signalled at +9.1s, the last of 4 deleted at +33.5s, load ran 10.9s past it (drain delay 10s); failed 0 of 21349 requests of 5 kinds, writes lost 0 of 901
` + trafficLines + `security     ok      12 containers in 6 running pods non-root (uid reported by the kubelet for 12), 3 secret values absent from pod specs, no service account tokens; NetworkPolicy: a pod outside the app cannot reach PostgreSQL (it does reach the frontend)
`

func TestCheckProofs(t *testing.T) {
	all := []string{"pod-loss", "persistence", "rolling-update", "rollback", "autoscaling", "security"}
	found, err := CheckProofs(proofsOut, all...)
	if err != nil || len(found) != 6 {
		t.Fatalf("CheckProofs: %d found, %v", len(found), err)
	}
	for name, out := range map[string]string{
		"a failed request":           strings.Replace(proofsOut, "failed 0 of 21349 requests", "failed 35 of 21349 requests", 1),
		"a failed request of a kind": strings.Replace(proofsOut, "auth    failed 0 of 40", "auth    failed 2 of 40", 1),
		"a kind without requests":    strings.Replace(proofsOut, "chat    failed 0 of 9", "chat    failed 0 of 0", 1),
		"a kind not reported":        strings.Replace(proofsOut, "    | page ", "    | pages ", 1),
		"a write lost":               strings.Replace(proofsOut, "writes lost 0 of 901", "writes lost 1 of 901", 1),
		"a row lost":                 strings.Replace(proofsOut, "rows lost 0 of 6", "rows lost 1 of 6", 1),
		"no scale-up":                strings.Replace(proofsOut, "peak 4 replicas", "peak 2 replicas", 1),
		"not back down":              strings.Replace(proofsOut, "back to 2 1m2s", "back to 3 1m2s", 1),
		"no traffic":                 strings.Replace(proofsOut, "0 of 21349 requests", "0 of 0 requests", 1),
		"a window cut short":         strings.Replace(proofsOut, "load ran 10.9s past it", "load ran 2.1s past it", 1),
		"pod loss of a single pod":   strings.Replace(proofsOut, "; deleted todo-todo-app-frontend-5c8-fghij (serving), replacement ready in 7.2s, gone in 11.6s", "", 1),
		"no secret checked":          strings.Replace(proofsOut, "3 secret values absent", "0 secret values absent", 1),
		"a FAILED line":              strings.Replace(proofsOut, "persistence  ok", "persistence  FAILED", 1),
		"no NetworkPolicy":           strings.Replace(proofsOut, "; NetworkPolicy: a pod outside the app cannot reach PostgreSQL (it does reach the frontend)", "", 1),
		"a proof not reported":       strings.Replace(proofsOut, "rollback ", "rollbock ", 1),
	} {
		if _, err := CheckProofs(out, all...); err == nil {
			t.Errorf("%s: passed", name)
		}
	}
}

func TestFindCredentials(t *testing.T) {
	key := "LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0tCk1IY0NBUUVFSUFi"
	for text, want := range map[string]int{
		"== install (21s)\nrelease todo revision 1 deployed": 0,
		"users:\n- user:\n    client-key-data: " + key:       2, // the field, and base64 PEM
		"-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE":           1,
		"the password is hunter2-but-longer and it leaked":   1, // known
		"token: abc": 0, // too short to be one
	} {
		if got := FindCredentials(text, map[string]string{"database password": "hunter2-but-longer", "tiny": "pw"}); len(got) != want {
			t.Errorf("FindCredentials(%.30q) = %v, want %d findings", text, got, want)
		}
	}
}

// nodesOut is prove's report on three nodes (`--agents=2`), figures as the kit gave them.
var nodesOut = `node-drain   ok      drained agent-2: evicted 2 pods (2 of the apps), 0 refusals by a PodDisruptionBudget; window: first eviction at +2.1s, all through at +2.3s, last evicted pod deleted at +15.3s, replacements ready at +15.3s, load ran 1s past it; failed 0 of 5646 requests of 5 kinds, writes lost 0 of 445
` + trafficLines + `    | before: backend on agent-1, agent-2; frontend on agent-1, agent-2; postgresql on server
    | after:  backend on agent-1, server; frontend on agent-1, server; postgresql on server
node-loss    ok      lost agent-1 (stop asked at +2s): NotReady at +56.5s, out of the endpoints at +56.5s, the apps whole elsewhere at +1m32s; failed 142 of 229686 requests of 5 kinds, writes lost 0 of 13738
` + strings.Replace(trafficLines, "auth    failed 0 of 40", "auth    failed 12 of 40", 1) + `    | before: backend on agent-1, agent-2; frontend on agent-1, agent-2; postgresql on agent-2
    | after:  backend on agent-2, server; frontend on agent-2, server; postgresql on agent-2
`

func TestCheckProofsOnNodes(t *testing.T) {
	both := []string{"node-drain", "node-loss"}
	if found, err := CheckProofs(nodesOut, both...); err != nil || len(found) != 2 {
		t.Fatalf("CheckProofs: %d found, %v", len(found), err)
	}
	for _, tt := range []struct{ name, old, new string }{
		{"a failed request in a drain", "failed 0 of 5646", "failed 1 of 5646"},
		{"a failed kind in a drain", "auth    failed 0 of 40", "auth    failed 1 of 40"},
		{"a write lost to a node's loss", "writes lost 0 of 13738", "writes lost 1 of 13738"},
		{"no eviction", "evicted 2 pods (2 of the apps)", "evicted 0 pods (0 of the apps)"},
		{"replacements never ready", ", replacements ready at +15.3s", ""},
		{"two replicas on one node", "before: backend on agent-1, agent-2; frontend on agent-1, agent-2; postgresql on server", "before: backend on agent-1, agent-1; frontend on agent-1, agent-2; postgresql on server"},
		{"no placement", "    | before: backend on agent-1, agent-2; frontend on agent-1, agent-2; postgresql on server\n", ""},
		{"the apps never whole after a loss", "the apps whole elsewhere at +1m32s", "the apps whole elsewhere at not yet"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out := strings.Replace(nodesOut, tt.old, tt.new, 1)
			if out == nodesOut {
				t.Fatalf("%q is not in the report", tt.old)
			}
			if _, err := CheckProofs(out, both...); err == nil {
				t.Error("passed")
			}
		})
	}
}
