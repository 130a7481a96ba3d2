package chart_test

import (
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/todo-app/todo-app/internal/chart"
)

// installed renders like `helm install todo ./helm-chart -n apps …` and
// returns the release's Secret and whether PostgreSQL would run in the cluster.
func installed(t *testing.T, files []string, sets ...string) (*corev1.Secret, bool, string) {
	t.Helper()
	docs, notes := renderWithNotes(t, scenario{files: files, sets: sets})
	secrets := objects[corev1.Secret](docs, false)
	pg := objects[corev1.Service](docs, false)["todo-todo-app-postgresql"] != nil
	return secrets["todo-todo-app"], pg, notes
}

func renderWithNotes(t *testing.T, sc scenario) ([]chart.Document, string) {
	t.Helper()
	ch, err := chart.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	rel, err := chart.Render(t.Context(), ch, sc.values(t), chart.RenderOptions{ReleaseName: "todo", Namespace: "apps"})
	if err != nil {
		t.Fatal(err)
	}
	docs, err := chart.Decode(rel)
	if err != nil {
		t.Fatal(err)
	}
	return docs, rel.Info.Notes
}

// The deployment plan's own Minikube command gives a database URL: that
// database is used, and no PostgreSQL is deployed or asked for.
func TestGivenDatabaseURLMeansThatDatabase(t *testing.T) {
	secret, pg, notes := installed(t, []string{"values-dev.yaml"},
		"secrets.databaseUrl="+dbURL, "secrets.betterAuthSecret="+authSecret, "secrets.openaiApiKey="+openAIKey)
	if pg {
		t.Error("an in-cluster PostgreSQL is deployed although secrets.databaseUrl names the database")
	}
	if secret.StringData["database-url"] != dbURL || secret.StringData["postgresql-password"] != "" {
		t.Errorf("Secret: database-url %q, postgresql-password %q", secret.StringData["database-url"], secret.StringData["postgresql-password"])
	}
	if !strings.Contains(notes, "the one in secrets.databaseUrl") {
		t.Errorf("NOTES do not say which database is used:\n%s", notes)
	}
}

// `helm install todo ./helm-chart -f helm-chart/values-dev.yaml` installs as
// it is: the PostgreSQL password and the Better Auth secret are generated,
// and the database URL uses the same password; given values are kept.
func TestDevInstallGeneratesItsSecrets(t *testing.T) {
	secret, pg, notes := installed(t, []string{"values-dev.yaml"})
	if !pg {
		t.Fatal("the dev values deploy no PostgreSQL")
	}
	pw, auth := secret.StringData["postgresql-password"], secret.StringData["better-auth-secret"]
	if len(pw) != 48 || !strings.Contains(secret.StringData["database-url"], ":"+pw+"@todo-todo-app-postgresql:5432/") {
		t.Fatalf("generated password %q, database-url %q", pw, secret.StringData["database-url"])
	}
	if len(auth) != 48 || auth == pw {
		t.Fatalf("generated Better Auth secret %q (password %q)", auth, pw)
	}
	again, _, _ := installed(t, []string{"values-dev.yaml"})
	if again.StringData["postgresql-password"] == pw || again.StringData["better-auth-secret"] == auth {
		t.Error("two fresh installs generated the same secrets")
	}
	want := "kubectl -n apps get secret todo-todo-app -o jsonpath='{.data.postgresql-password}' | base64 -d"
	if !strings.Contains(notes, want) {
		t.Errorf("NOTES do not say how to read the password (%s):\n%s", want, notes)
	}
	given, _, _ := installed(t, []string{"values-dev.yaml"}, "secrets.betterAuthSecret="+authSecret, "postgresql.auth.password="+pgPassword)
	if given.StringData["postgresql-password"] != pgPassword || given.StringData["better-auth-secret"] != authSecret {
		t.Errorf("given secrets were replaced: %v", given.StringData)
	}
}

// secretsInCluster answers the chart's lookups from a fake cluster.
type secretsInCluster struct{ client dynamic.Interface }

func (c secretsInCluster) GetClientFor(apiVersion, kind string) (dynamic.NamespaceableResourceInterface, bool, error) {
	gvr := schema.GroupVersionResource{Version: "v1", Resource: strings.ToLower(kind) + "s"}
	return c.client.Resource(gvr), true, nil
}

// helm upgrade reads the generated secrets the release's Secret holds, so
// PostgreSQL (whose data directory keeps the first password) and the apps keep
// agreeing, and sessions and signing keys (encrypted with the auth secret) survive.
func TestUpgradeKeepsTheGeneratedSecrets(t *testing.T) {
	ch, err := chart.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	existing := &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: "todo-todo-app", Namespace: "apps"},
		Data: map[string][]byte{"postgresql-password": []byte("kept-from-the-install"),
			"better-auth-secret": []byte("auth-secret-kept-from-the-install-0123456789")},
	}
	sch := runtime.NewScheme()
	if err := scheme.AddToScheme(sch); err != nil {
		t.Fatal(err)
	}
	cluster := secretsInCluster{dynamicfake.NewSimpleDynamicClient(sch, existing)}
	vals := scenario{files: []string{"values-dev.yaml"}}.values(t)
	caps := chartutil.DefaultCapabilities.Copy()
	caps.KubeVersion.Version = chart.DefaultKubeVersion
	top, err := chartutil.ToRenderValues(ch, vals, chartutil.ReleaseOptions{Name: "todo", Namespace: "apps", IsUpgrade: true}, caps)
	if err != nil {
		t.Fatal(err)
	}
	out, err := engine.RenderWithClientProvider(ch, top, cluster)
	if err != nil {
		t.Fatal(err)
	}
	secret := out["todo-app/templates/secret.yaml"]
	for _, want := range []string{`postgresql-password: "kept-from-the-install"`, `:kept-from-the-install@todo-todo-app-postgresql:5432/todo`,
		`better-auth-secret: "auth-secret-kept-from-the-install-0123456789"`} {
		if !strings.Contains(secret, want) {
			t.Errorf("the upgraded Secret lacks %s:\n%s", want, secret)
		}
	}
}

// Prod values take their secrets from an existing Secret; without one they
// need the database URL given (the auth secret is generated when not given).
func TestProdValuesNeedAnExistingSecretOrValues(t *testing.T) {
	ch, err := chart.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		sets []string
		want string // "" renders
	}{
		{nil, ""},
		{[]string{"secrets.existingSecret="}, "secrets.databaseUrl is required"},
		{[]string{"secrets.existingSecret=", "secrets.databaseUrl=" + dbURL}, ""},
		{[]string{"secrets.existingSecret=", "secrets.betterAuthSecret=" + authSecret, "secrets.databaseUrl=" + dbURL}, ""},
	} {
		vals := scenario{files: []string{"values-prod.yaml"}, sets: tt.sets}.values(t)
		rel, err := chart.Render(t.Context(), ch, vals, chart.RenderOptions{ReleaseName: "todo", Namespace: "apps"})
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("prod with %v: %v", tt.sets, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("prod with %v: error %v, want %q", tt.sets, err, tt.want)
		case err == nil && strings.Contains(rel.Manifest, "todo-todo-app-postgresql"):
			t.Errorf("prod with %v deploys PostgreSQL", tt.sets)
		}
	}
}

// The port-forward is always in the NOTES: the way in when an Ingress does not answer.
func TestNotesAlwaysShowThePortForward(t *testing.T) {
	forward := "kubectl -n apps port-forward svc/todo-todo-app-frontend 3000:3000"
	for _, sets := range [][]string{{"ingress.enabled=true"}, {"ingress.enabled=false"}} {
		_, notes := renderWithNotes(t, scenario{sets: append(sets, "secrets.existingSecret=s")})
		if !strings.Contains(notes, forward) {
			t.Errorf("NOTES with %v lack %q:\n%s", sets, forward, notes)
		}
	}
}
