package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/todo-app/todo-app/internal/fingerprint"
)

func TestRenderDevValues(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"render", "--chart", "../../helm-chart", "-f", "../../helm-chart/values-dev.yaml",
		"--set", "secrets.betterAuthSecret=0123456789abcdef0123456789abcdef", "--set", "postgresql.auth.password=pw",
		"--set", "ingress.className=traefik"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kind: Deployment", "kind: StatefulSet", "ingressClassName: traefik", "name: todo-todo-app-backend"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("rendered manifests lack %q", want)
		}
	}
}

func TestRenderFailsClearly(t *testing.T) {
	err := run(t.Context(), []string{"render", "--chart", "../../helm-chart"}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "is required") {
		t.Fatalf("err = %v", err)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"smoke"}, "smoke needs --url"},
		{[]string{"prove"}, "prove needs --url"},
		{[]string{"render", "stray"}, `unknown command "stray"`},
		{[]string{"render", "--proof", "x"}, "unknown flag: --proof"},
	} {
		if err := run(t.Context(), tt.args, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("todoctl %v: %v, want %q", tt.args, err, tt.want)
		}
	}
}

// The help lists every command, and completion scripts come for the usual shells.
func TestHelpAndCompletion(t *testing.T) {
	var help bytes.Buffer
	if err := run(t.Context(), nil, &help); err != nil {
		t.Fatal(err)
	}
	commands := newRootCommand().Commands()
	if len(commands) < 20 {
		t.Fatalf("only %d commands", len(commands))
	}
	for _, c := range commands {
		if !regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(c.Name()) + `\s+\S`).MatchString(help.String()) {
			t.Errorf("the help does not list %s:\n%s", c.Name(), help.String())
		}
	}
	for shell, want := range map[string]string{"bash": "__start_todoctl", "zsh": "#compdef todoctl", "fish": "complete -c todoctl"} {
		var out bytes.Buffer
		if err := run(t.Context(), []string{"completion", shell}, &out); err != nil || !strings.Contains(out.String(), want) {
			t.Errorf("completion %s: %v, output lacks %q", shell, err, want)
		}
	}
}

// Every flag the Dagger module, the README and users' scripts pass keeps its
// name on the command that takes it.
func TestFlagNamesStay(t *testing.T) {
	release := []string{"kubeconfig", "context", "namespace", "release", "timeout"}
	chartValues := []string{"chart", "f", "set"}
	registry := []string{"package", "ref", "plain-http"}
	for command, flags := range map[string][]string{
		"render":            {"chart", "f", "set", "release", "namespace", "kube-version"},
		"install":           slices.Concat(release, chartValues),
		"wait":              append(slices.Clone(release), "selector"),
		"nodes":             {"kubeconfig", "context", "count", "timeout", "pin-to-control-plane"},
		"test":              release,
		"rollback":          append(slices.Clone(release), "revision"),
		"uninstall":         release,
		"prove":             slices.Concat(release, chartValues, []string{"url", "host", "proof", "rollout-set"}),
		"node-loss-request": release,
		"fingerprints":      release,
		"smoke":             {"url", "host", "timeout"},
		"load":              {"url", "host", "duration"},
		"steps":             {"plan"},
		"package":           {"chart", "out", "source-date-epoch"},
		"push":              append(slices.Clone(registry), "source-date-epoch"),
		"diff-chart":        registry,
		"push-image":        append(slices.Clone(registry), "tag"),
		"diff-image":        registry,
		"normalize-image":   {"package", "out", "base", "dockerfile", "source-date-epoch"},
		"normalize-sbom":    {"package", "out", "source-date-epoch"},
	} {
		cmd, _, err := newRootCommand().Find([]string{command})
		if err != nil || cmd.Name() != command {
			t.Errorf("no command %s: %v", command, err)
			continue
		}
		for _, name := range flags {
			if f := cmd.Flags().Lookup(name); f == nil && cmd.Flags().ShorthandLookup(name) == nil {
				t.Errorf("%s has no flag %s", command, name)
			}
		}
	}
}

// In a pipeline container (TODOCTL_TUNNELS set), an address on the user's
// loopback that no tunnel covers fails at once, saying which flag adds one.
func TestLoopbackWithoutTunnelFailsClearly(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: kind, cluster: {server: "https://127.0.0.1:36789"}}, {name: other, cluster: {server: "https://127.0.0.1:36791"}}]
contexts: [{name: kind, context: {cluster: kind, user: kind}}]
current-context: kind
users: [{name: kind, user: {token: x}}]
`), 0o600)
	t.Setenv("TODOCTL_TUNNELS", "5000=loopback-5000:5000")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"wait", "--kubeconfig", kubeconfig}, "the kubeconfig's server https://127.0.0.1:36789 is on this machine's loopback"},
		{[]string{"wait", "--kubeconfig", kubeconfig, "--server", "https://127.0.0.1:36790"}, "https://127.0.0.1:36790 is on this machine's loopback"},
		{[]string{"wait", "--kubeconfig", kubeconfig, "--cluster", "other"}, "https://127.0.0.1:36791 is on this machine's loopback"},
		{[]string{"smoke", "--url", "http://localhost:8080"}, "--tunnel=tcp://localhost:8080"},
		{[]string{"push-image", "--ref", "localhost:5001/todo/todo-backend", "--package", "x.tar"}, "--tunnel=tcp://localhost:5001"},
	} {
		err := run(t.Context(), tt.args, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("todoctl %v: %v, want %q", tt.args, err, tt.want)
		}
	}
}

// A plan runs its commands in order in one process, each reported with its
// time and output, and stops at the first that fails.
func TestStepsRunsAPlanAndStopsAtAFailure(t *testing.T) {
	plan := filepath.Join(t.TempDir(), "plan.json")
	os.WriteFile(plan, []byte(`[
		{"name": "render", "args": ["render", "--chart", "../../helm-chart", "-f", "../../helm-chart/values-dev.yaml"]},
		{"name": "smoke without a url", "args": ["smoke"]},
		{"name": "never run", "args": ["render", "--chart", "../../helm-chart"]}
	]`), 0o600)
	var out bytes.Buffer
	err := run(t.Context(), []string{"steps", "--plan", plan}, &out)
	if err == nil || !strings.Contains(err.Error(), "smoke without a url failed: smoke needs --url") {
		t.Fatalf("err = %v", err)
	}
	report := out.String()
	for _, want := range []string{`(?m)^== render \(\d+s\): todoctl render --chart \.\./\.\./helm-chart -f \.\./\.\./helm-chart/values-dev\.yaml$`,
		`kind: StatefulSet`, `(?m)^== smoke without a url \(\d+s\): todoctl smoke$`} {
		if !regexp.MustCompile(want).MatchString(report) {
			t.Errorf("report lacks %s:\n%.300s", want, report)
		}
	}
	if strings.Contains(report, "never run") {
		t.Error("a step after the failure ran")
	}
	os.WriteFile(plan, []byte(`[{"name": "loop", "args": ["steps", "--plan", "x"]}]`), 0o600)
	if err := run(t.Context(), []string{"steps", "--plan", plan}, &out); err == nil {
		t.Error("a plan that runs plans was accepted")
	}
}

// The release time comes from the commit: a bad SOURCE_DATE_EPOCH is an
// error, never a silent "now", and images are never normalized without one.
func TestSourceDateEpoch(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "")
	if err := run(t.Context(), []string{"normalize-image", "--package", "x.tar", "--out", filepath.Join(t.TempDir(), "y.tar")}, &bytes.Buffer{}); err == nil ||
		!strings.Contains(err.Error(), "no epoch") {
		t.Errorf("normalize-image without an epoch: %v", err)
	}
	for _, bad := range []string{"yesterday", "-5", "1.5"} {
		t.Setenv("SOURCE_DATE_EPOCH", bad)
		if err := run(t.Context(), []string{"package", "--chart", "../../helm-chart", "--out", t.TempDir()}, &bytes.Buffer{}); err == nil ||
			!strings.Contains(err.Error(), "SOURCE_DATE_EPOCH") {
			t.Errorf("SOURCE_DATE_EPOCH=%s: %v", bad, err)
		}
	}
	t.Setenv("SOURCE_DATE_EPOCH", "1764504000")
	var first, second bytes.Buffer
	for _, out := range []*bytes.Buffer{&first, &second} {
		dir := t.TempDir()
		if err := run(t.Context(), []string{"package", "--chart", "../../helm-chart", "--out", dir}, out); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(strings.TrimSpace(out.String()))
		if err != nil {
			t.Fatal(err)
		}
		out.Reset()
		out.Write(b)
	}
	if !bytes.Equal(first.Bytes(), second.Bytes()) {
		t.Error("two packages with SOURCE_DATE_EPOCH set differ")
	}
}

// fingerprints names every credential of the release and the kubeconfig's
// key, and shows none of them.
func TestPrintFingerprints(t *testing.T) {
	key := "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIFakeKeyForTheTest\n-----END EC PRIVATE KEY-----\n"
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: k, cluster: {server: "https://127.0.0.1:6443"}}]
users: [{name: admin, user: {client-certificate-data: `+base64.StdEncoding.EncodeToString([]byte("a certificate"))+`, client-key-data: `+base64.StdEncoding.EncodeToString([]byte(key))+`}}]
contexts: [{name: k, context: {cluster: k, user: admin}}]
current-context: k
`), 0o600)
	ref := func(key string) corev1.EnvVar {
		return corev1.EnvVar{Name: strings.ToUpper(key), ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "todo-todo-app"}, Key: key}}}
	}
	kube := fake.NewClientset(
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "be", Namespace: "todo", Labels: map[string]string{"app.kubernetes.io/instance": "todo"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "backend", Env: []corev1.EnvVar{ref("database-url"), ref("better-auth-secret")}}}}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "todo-todo-app", Namespace: "todo"}, Data: map[string][]byte{
			"database-url": []byte("postgres://todo:pw-0123456789@db/todo"), "better-auth-secret": []byte("auth-secret-0123456789abcdef")}})
	target := releaseFlags{release: "todo"}
	target.add(pflag.NewFlagSet("fingerprints", pflag.ContinueOnError))
	target.kube.KubeConfig = &kubeconfig
	var out bytes.Buffer
	if err := printFingerprints(t.Context(), &out, kube, target); err != nil {
		t.Fatal(err)
	}
	fps := fingerprint.Parse(out.String())
	var names []string
	for _, f := range fps {
		names = append(names, f.Name)
	}
	if want := []string{"kubeconfig/client-key", "todo-todo-app/better-auth-secret", "todo-todo-app/database-url"}; !slices.Equal(names, want) {
		t.Fatalf("fingerprints of %v, want %v:\n%s", names, want, out.String())
	}
	if leaked := fingerprint.Find(out.String(), fps); len(leaked) > 0 {
		t.Fatalf("the fingerprints show %v", leaked)
	}
	if got := fingerprint.Find("key: "+base64.StdEncoding.EncodeToString([]byte(key)), fps); !slices.Equal(got, []string{"kubeconfig/client-key"}) {
		t.Fatalf("the kubeconfig's key not found by its fingerprint: %v", got)
	}
}
