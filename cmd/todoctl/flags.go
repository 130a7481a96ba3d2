package main

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/spf13/pflag"
	"helm.sh/helm/v3/pkg/action"
	helmchart "helm.sh/helm/v3/pkg/chart"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"

	"github.com/todo-app/todo-app/internal/chart"
	"github.com/todo-app/todo-app/internal/deploy"
	"github.com/todo-app/todo-app/internal/images"
)

// The flag groups several commands share, each added by its own method.

// defaultRelease and defaultNamespace are where todoctl installs unless told.
const (
	defaultRelease   = "todo"
	defaultNamespace = "todo"
)

// chartFlags pick the chart and its values, as Helm's -f and --set do.
type chartFlags struct {
	path             string
	valueFiles, sets []string
}

func (c *chartFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&c.path, "chart", "helm-chart", "chart directory or package")
	fs.StringArrayVarP(&c.valueFiles, "values", "f", nil, "values file (repeatable)")
	fs.StringArrayVar(&c.sets, "set", nil, "value override key=value (repeatable)")
}

// load reads the chart and merges its values with extra --set overrides last.
func (c chartFlags) load(extraSets ...string) (*helmchart.Chart, map[string]any, error) {
	ch, err := chart.Load(c.path)
	if err != nil {
		return nil, nil, err
	}
	vals, err := chart.Values(c.valueFiles, append(append([]string{}, c.sets...), extraSets...))
	return ch, vals, err
}

// clusterFlags are kubectl's connection flags (--kubeconfig, --context,
// -n/--namespace and the rest), with todoctl's namespace as the default.
type clusterFlags struct {
	kube *genericclioptions.ConfigFlags
}

func (c *clusterFlags) add(fs *pflag.FlagSet) {
	c.kube = genericclioptions.NewConfigFlags(true)
	// An explicit file, so that a KUBECONFIG naming none fails at once
	// rather than waiting on localhost:8080 until the timeout.
	kubeconfig, namespace := os.Getenv("KUBECONFIG"), defaultNamespace
	c.kube.KubeConfig, c.kube.Namespace = &kubeconfig, &namespace
	c.kube.AddFlags(fs)
}

func (c clusterFlags) namespace() string { return *c.kube.Namespace }

// client connects to the cluster's API server.
func (c clusterFlags) client() (kubernetes.Interface, error) {
	rc, err := c.kube.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	return kubernetes.NewForConfig(rc)
}

// releaseFlags name a Helm release in a cluster, and how long to wait for it.
type releaseFlags struct {
	clusterFlags
	release string
	timeout time.Duration
}

func (r *releaseFlags) add(fs *pflag.FlagSet) {
	r.clusterFlags.add(fs)
	fs.StringVar(&r.release, "release", defaultRelease, "release name")
	fs.DurationVar(&r.timeout, "timeout", 5*time.Minute, "how long to wait for the cluster")
}

// selector matches every object of the release.
func (r releaseFlags) selector() string { return "app.kubernetes.io/instance=" + r.release }

// connected is a release's cluster, reached through Helm and client-go.
type connected struct {
	helm *action.Configuration
	kube kubernetes.Interface
	rel  *deploy.Releaser
}

func (r releaseFlags) connect() (*connected, error) {
	cfg := new(action.Configuration)
	if err := cfg.Init(r.kube, r.namespace(), "secret", func(string, ...any) {}); err != nil {
		return nil, fmt.Errorf("connect to the cluster: %w", err)
	}
	kube, err := r.client()
	if err != nil {
		return nil, err
	}
	return &connected{helm: cfg, kube: kube, rel: deploy.NewReleaser(cfg, kube, r.namespace(), r.timeout)}, nil
}

// appFlags reach the app through its Ingress.
type appFlags struct {
	url, host string
}

func (a *appFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&a.url, "url", "", "base URL of the app")
	fs.StringVar(&a.host, "host", "", "Host header to send, for an Ingress reached by address")
}

func (a appFlags) check(command string) error {
	if a.url == "" {
		return fmt.Errorf("%s needs --url", command)
	}
	return nil
}

// registryFlags reach an OCI registry, with REGISTRY_USERNAME and
// REGISTRY_PASSWORD from the environment (never a flag: it would show in ps).
type registryFlags struct {
	pkg, ref  string
	plainHTTP bool
}

func (r *registryFlags) add(fs *pflag.FlagSet, pkgUsage, refUsage string) {
	fs.StringVar(&r.pkg, "package", "", pkgUsage)
	fs.StringVar(&r.ref, "ref", "", refUsage)
	fs.BoolVar(&r.plainHTTP, "plain-http", false, "speak http to the registry, not https (always so for localhost)")
}

func (r registryFlags) options() images.Options {
	return images.Options{Username: os.Getenv("REGISTRY_USERNAME"), Password: os.Getenv("REGISTRY_PASSWORD"), PlainHTTP: r.plainHTTP}
}

func (r registryFlags) chartOptions(created time.Time) chart.PushOptions {
	o := r.options()
	return chart.PushOptions{Username: o.Username, Password: o.Password, PlainHTTP: o.PlainHTTP, Created: created}
}

// epochFlag is the commit's time that reproducible artifacts are stamped with.
type epochFlag struct {
	seconds int64
}

func (e *epochFlag) add(fs *pflag.FlagSet) {
	fs.Int64Var(&e.seconds, "source-date-epoch", 0, "the commit's time, seconds since 1970, to stamp (default $SOURCE_DATE_EPOCH)")
}

// time is the flag's time, else $SOURCE_DATE_EPOCH's (see
// reproducible-builds.org), else zero.
func (e epochFlag) time() (time.Time, error) {
	if e.seconds < 0 {
		return time.Time{}, fmt.Errorf("--source-date-epoch=%d: want seconds since 1970", e.seconds)
	}
	if e.seconds != 0 {
		return time.Unix(e.seconds, 0).UTC(), nil
	}
	env := os.Getenv("SOURCE_DATE_EPOCH")
	if env == "" {
		return time.Time{}, nil
	}
	secs, err := strconv.ParseInt(env, 10, 64)
	if err != nil || secs <= 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: want seconds since 1970", env)
	}
	return time.Unix(secs, 0).UTC(), nil
}
