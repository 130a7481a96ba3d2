package pipelinetest

import (
	"strings"
	"testing"
	"time"
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

func TestDeploySteps(t *testing.T) {
	steps := DeploySteps(deployReport)
	var names []string
	for _, s := range steps {
		names = append(names, s.Name)
	}
	if got := strings.Join(names, ","); got != "cluster,install,rollout,helm test,ingress controller,smoke" {
		t.Fatalf("steps = %s", got)
	}
	if steps[1].Duration != 21*time.Second || !strings.HasPrefix(steps[1].Output, "release todo revision 1") {
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

const proofsOut = `autoscaling  ok      scaled up from 2 after 33s under load (412 req/s), peak 4 replicas; back to 2 1m2s after the load (scale-down window 30 s; the chart's default is 300 s)
persistence  ok      rows lost 0 of 6 after restarting every pod, serving again in 41.2s
pod-loss     ok      failed requests 0 of 38873, full replica sets again in 22.1s
rollback     ok      broken upgrade failed and rolled back in 2m4s, failed requests 0 of 123000; rollback to revision 3 (now 5) in 9.8s
rolling-update ok      failed requests 0 of 59699 during a rollout of 1m8.7s
security     ok      12 containers in 6 running pods non-root (uid reported by the kubelet for 12), 3 secret values absent from pod specs, no service account tokens; NetworkPolicy: a pod outside the app cannot reach PostgreSQL (it does reach the frontend)
`

func TestCheckProofs(t *testing.T) {
	all := []string{"pod-loss", "persistence", "rolling-update", "rollback", "autoscaling", "security"}
	found, err := CheckProofs(proofsOut, all...)
	if err != nil || len(found) != 6 {
		t.Fatalf("CheckProofs: %d found, %v", len(found), err)
	}
	for name, out := range map[string]string{
		"a failed request":     strings.Replace(proofsOut, "failed requests 0 of 38873", "failed requests 35 of 31576", 1),
		"a row lost":           strings.Replace(proofsOut, "rows lost 0 of 6", "rows lost 1 of 6", 1),
		"no scale-up":          strings.Replace(proofsOut, "peak 4 replicas", "peak 2 replicas", 1),
		"not back down":        strings.Replace(proofsOut, "back to 2 1m2s", "back to 3 1m2s", 1),
		"no traffic":           strings.Replace(proofsOut, "0 of 59699", "0 of 0", 1),
		"a FAILED line":        strings.Replace(proofsOut, "persistence  ok", "persistence  FAILED", 1),
		"no NetworkPolicy":     strings.Replace(proofsOut, "; NetworkPolicy: a pod outside the app cannot reach PostgreSQL (it does reach the frontend)", "", 1),
		"a proof not reported": strings.Replace(proofsOut, "rollback ", "rollbock ", 1),
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
