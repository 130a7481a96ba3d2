// Command todoctl deploys todo-app with the Helm SDK and checks the result. The
// Dagger pipeline runs it inside a container against an ephemeral k3s; users
// run it against their own cluster (e.g. Minikube).
//
//	todoctl render    [-f values.yaml]... [--set k=v]...    manifests for review
//	todoctl install   [-f ...] [--set ...]                  install or upgrade, atomically
//	todoctl wait      [--selector L]                         rollout of every Deployment/StatefulSet
//	todoctl nodes     [--count N]                            wait for N Ready nodes; the nodes' table
//	todoctl test                                             the chart's helm test pods
//	todoctl smoke     --url http://todo.local [--host H]    end-to-end check through the Ingress
//	todoctl rollback  [--revision N]                         back to a revision (default: previous)
//	todoctl uninstall
//	todoctl prove     --url U [--host H] [--proof NAME]...    deploy-time proofs; -f/--set as for install
//	todoctl node-loss-request                                wait for the node-loss proof to ask for a node to be
//	                                                         stopped; print its name (then stop that machine)
//	todoctl load      --url U [--host H] [--duration D]       users' traffic of every kind (the proofs'), each
//	                                                         kind's figures; to run while you disturb the app
//	todoctl fingerprints                                     SHA-256 and length of each credential of the release
//	                                                         and the kubeconfig, to check logs for them
//	todoctl package   [--out DIR]                            the packaged chart (.tgz)
//	todoctl push      --package F --ref oci://HOST/PATH      push a packaged chart; REGISTRY_USERNAME/PASSWORD;
//	                  [--plain-http]                         http, not https (always so for localhost)
//	todoctl diff-chart --package F --ref oci://HOST/PATH/NAME:V  compare a packaged chart with a published one
//	todoctl steps     --plan plan.json                       the commands of a plan ([{"name","args"}]), in order,
//	                                                         each reported with its time
//	todoctl normalize-image --package F --out F2 [--base B] [--dockerfile D]  make a built OCI image tarball
//	                  (one or more platforms) reproducible: every time from SOURCE_DATE_EPOCH but in the layers
//	                  of the base image B (its tarball), D's HEALTHCHECK (which Dagger's builds drop);
//	                  prints its digest
//	todoctl normalize-sbom --package F --out F2              make a CycloneDX SBOM (Trivy's) reproducible: bom-refs
//	                  and serialNumber derived from it, the timestamp from SOURCE_DATE_EPOCH
//	todoctl push-image --package F --ref HOST/REPO --tag T... push an OCI image tarball under each tag, as it is;
//	                  REGISTRY_USERNAME/PASSWORD; [--plain-http]
//	todoctl diff-image --package F --ref REF                 compare an image tarball with a published image:
//	                                                         what differs, down to files; exit 1 when anything does
//
// --source-date-epoch (default: $SOURCE_DATE_EPOCH, seconds since 1970) is the
// time package, push and normalize-image stamp everything with: the commit's,
// so that one commit gives the same bytes anywhere, any day.
//
// In a pipeline container, TODOCTL_TUNNELS=PORT=HOST:PORT,… forwards those
// ports of the container's loopback to tunnels of the user's machine (see
// internal/tunnel); a kubeconfig server, --url or --ref on the loopback that
// no tunnel covers is then an error that says how to add one.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"helm.sh/helm/v3/pkg/action"
	helmchart "helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"

	"github.com/todo-app/todo-app/ci/contract"
	"github.com/todo-app/todo-app/internal/chart"
	"github.com/todo-app/todo-app/internal/deploy"
	"github.com/todo-app/todo-app/internal/fingerprint"
	"github.com/todo-app/todo-app/internal/images"
	"github.com/todo-app/todo-app/internal/proof"
	"github.com/todo-app/todo-app/internal/sbom"
	"github.com/todo-app/todo-app/internal/smoke"
	"github.com/todo-app/todo-app/internal/tunnel"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "todoctl:", err)
		os.Exit(1)
	}
}

// list collects repeated flags (-f, --set).
type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(v string) error { *l = append(*l, v); return nil }

type options struct {
	chartPath, release, namespace, kubeconfig, kubeContext, kubeVersion string
	valueFiles, sets, proofs, rolloutSets, tags                         list
	timeout, duration                                                   time.Duration
	url, host, selector                                                 string
	out, pkg, ref, dockerfile, plan, base                               string
	plainHTTP                                                           bool
	revision, count                                                     int
	sourceDateEpoch                                                     int64
}

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New("usage: todoctl render|install|wait|nodes|test|smoke|load|prove|fingerprints|rollback|uninstall [flags]")
	}
	cmd := args[0]
	var o options
	fs := flag.NewFlagSet("todoctl "+cmd, flag.ContinueOnError)
	fs.StringVar(&o.chartPath, "chart", "helm-chart", "chart directory or package")
	fs.StringVar(&o.release, "release", "todo", "release name")
	fs.StringVar(&o.namespace, "namespace", "todo", "namespace")
	fs.StringVar(&o.kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig file")
	fs.StringVar(&o.kubeContext, "context", "", "kubeconfig context")
	fs.StringVar(&o.kubeVersion, "kube-version", chart.DefaultKubeVersion, "Kubernetes version to render for (render only)")
	fs.Var(&o.valueFiles, "f", "values file (repeatable)")
	fs.Var(&o.sets, "set", "value override key=value (repeatable)")
	fs.Var(&o.proofs, "proof", "proof to run (repeatable; default all): "+strings.Join(proof.Names(), ", "))
	fs.Var(&o.rolloutSets, "rollout-set", "value of the rolling-update's new release, e.g. backend.image.tag=v2 (repeatable)")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Minute, "how long to wait for the cluster (smoke: for the app to answer)")
	fs.StringVar(&o.url, "url", "", "base URL of the app (smoke, load, prove)")
	fs.DurationVar(&o.duration, "duration", time.Minute, "how long to load the app (load; Ctrl-C ends it sooner)")
	fs.StringVar(&o.host, "host", "", "Host header to send, for an Ingress reached by address (smoke)")
	fs.IntVar(&o.revision, "revision", 0, "revision to roll back to; 0 is the previous one")
	fs.IntVar(&o.count, "count", 1, "how many Ready nodes to wait for (nodes)")
	fs.StringVar(&o.selector, "selector", "", "label selector of the workloads to wait for (default: the release's)")
	fs.StringVar(&o.out, "out", ".", "directory for the packaged chart (package), or the file to write (normalize-image, normalize-sbom)")
	fs.StringVar(&o.pkg, "package", "", "packaged chart (push) or OCI image tarball (push-image) to push")
	fs.StringVar(&o.ref, "ref", "", "OCI repository to push to, e.g. oci://ghcr.io/acme/charts (push)")
	fs.BoolVar(&o.plainHTTP, "plain-http", false, "speak http to the registry, not https (push, push-image)")
	fs.Var(&o.tags, "tag", "tag to push the image under (push-image; repeatable)")
	fs.StringVar(&o.dockerfile, "dockerfile", "", "Dockerfile whose HEALTHCHECK the image gets (normalize-image)")
	fs.StringVar(&o.base, "base", "", "tarball of the base image, whose layers keep their times (normalize-image)")
	fs.StringVar(&o.plan, "plan", "", "JSON list of steps, each {\"name\", \"args\"} (steps)")
	fs.Int64Var(&o.sourceDateEpoch, "source-date-epoch", 0, "the commit's time, seconds since 1970, that package, push and normalize-image stamp (default $SOURCE_DATE_EPOCH)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	epoch, err := sourceDateEpoch(o.sourceDateEpoch)
	if err != nil {
		return err
	}
	if err := startTunnels(ctx, cmd, o); err != nil {
		return err
	}

	switch cmd {
	case "steps":
		return runSteps(ctx, o.plan, out)
	case "render":
		return render(ctx, o, out)
	case "load":
		if o.url == "" {
			return errors.New("load needs --url")
		}
		r := proof.Load(ctx, proof.Env{URL: o.url, Host: o.host}, o.duration)
		fmt.Fprintln(out, r)
		return r.Err
	case "smoke":
		if o.url == "" {
			return errors.New("smoke needs --url")
		}
		report := smoke.Run(ctx, o.url, smoke.Options{Host: o.host, Reachable: o.timeout})
		fmt.Fprint(out, report)
		return report.Err()
	case "package":
		ch, err := chart.Load(o.chartPath)
		if err != nil {
			return err
		}
		var path string
		if epoch.IsZero() {
			path, err = chartutil.Save(ch, o.out)
		} else {
			path, err = chart.Package(ch, o.out, epoch)
		}
		if err != nil {
			return fmt.Errorf("package: %w", err)
		}
		fmt.Fprintln(out, path)
		return nil
	case "push":
		ref, err := chart.Push(o.pkg, o.ref, chart.PushOptions{Username: os.Getenv("REGISTRY_USERNAME"),
			Password: os.Getenv("REGISTRY_PASSWORD"), PlainHTTP: o.plainHTTP, Created: epoch})
		if err != nil {
			return err
		}
		fmt.Fprintln(out, ref)
		return nil
	case "diff-chart":
		diffs, err := chart.DiffPublished(o.pkg, o.ref, chart.PushOptions{Username: os.Getenv("REGISTRY_USERNAME"),
			Password: os.Getenv("REGISTRY_PASSWORD"), PlainHTTP: o.plainHTTP})
		return reportDiff(out, o.ref, diffs, err)
	case "normalize-image":
		stamp := images.Stamp{Epoch: epoch}
		if o.base != "" {
			if stamp.Base, err = images.DiffIDs(o.base); err != nil {
				return err
			}
		}
		if o.dockerfile != "" {
			b, err := os.ReadFile(o.dockerfile)
			if err != nil {
				return err
			}
			if stamp.Healthcheck, err = images.DockerfileHealthcheck(string(b)); err != nil {
				return fmt.Errorf("%s: %w", o.dockerfile, err)
			}
		}
		digest, err := images.NormalizeTarball(o.pkg, o.out, stamp)
		if err != nil {
			return err
		}
		fmt.Fprintln(out, digest)
		return nil
	case "normalize-sbom":
		if epoch.IsZero() {
			return errors.New("normalize-sbom: no epoch: give the commit's time (--source-date-epoch or SOURCE_DATE_EPOCH)")
		}
		doc, err := os.ReadFile(o.pkg)
		if err != nil {
			return err
		}
		normalized, err := sbom.Normalize(doc, epoch)
		if err != nil {
			return fmt.Errorf("%s: %w", o.pkg, err)
		}
		return os.WriteFile(o.out, normalized, 0o644)
	case "push-image":
		refs, err := images.Push(o.pkg, o.ref, o.tags, registryOptions(o))
		if err != nil {
			return err
		}
		fmt.Fprintln(out, strings.Join(refs, "\n"))
		return nil
	case "diff-image":
		var diffs []string
		err := images.OpenTarball(o.pkg, func(rebuilt images.Artifact) error {
			published, err := images.Fetch(o.ref, registryOptions(o))
			if err != nil {
				return err
			}
			diffs, err = images.Diff(published, rebuilt)
			return err
		})
		return reportDiff(out, o.ref, diffs, err)
	default:
		if !slices.Contains(clusterCommands, cmd) {
			return fmt.Errorf("unknown command %q", cmd)
		}
	}

	flags := genericclioptions.NewConfigFlags(true)
	flags.KubeConfig, flags.Context, flags.Namespace = &o.kubeconfig, &o.kubeContext, &o.namespace
	cfg := new(action.Configuration)
	if err := cfg.Init(flags, o.namespace, "secret", func(string, ...any) {}); err != nil {
		return fmt.Errorf("connect to the cluster: %w", err)
	}
	kube, err := kubeClient(flags)
	if err != nil {
		return err
	}
	rel := deploy.NewReleaser(cfg, kube, o.namespace, o.timeout)
	switch cmd {
	case "install":
		ch, vals, err := load(o)
		if err != nil {
			return err
		}
		selector := "app.kubernetes.io/instance=" + o.release
		existing, err := deploy.PodUIDs(ctx, kube, o.namespace, selector)
		if err != nil {
			return err
		}
		start := time.Now()
		r, err := rel.Apply(ctx, o.release, ch, vals)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "release %s revision %d %s in %s\n", r.Name, r.Version, r.Info.Status, time.Since(start).Round(time.Second))
		// Where the time went: the new pods' start-up, by the cluster's clock.
		timeline, err := deploy.Timeline(ctx, kube, o.namespace, selector, existing)
		if err != nil {
			return err
		}
		fmt.Fprint(out, timeline)
		return nil
	case "prove":
		if o.url == "" {
			return errors.New("prove needs --url")
		}
		env := proof.Env{Kube: kube, Namespace: o.namespace, Release: o.release, URL: o.url, Host: o.host,
			Timeout: o.timeout, RolloutSets: o.rolloutSets}
		// Upgrades re-apply the chart with the same -f and --set as the install, plus the proof's own.
		env.Upgrade = func(ctx context.Context, extra []string, timeout time.Duration) error {
			o := o
			o.sets = append(append(list{}, o.sets...), extra...)
			ch, vals, err := load(o)
			if err != nil {
				return err
			}
			_, err = deploy.NewReleaser(cfg, kube, o.namespace, timeout).Apply(ctx, o.release, ch, vals)
			return err
		}
		env.Rollback = func(ctx context.Context, revision int) error { return rel.Rollback(ctx, o.release, revision) }
		env.Revision = func() (int, error) {
			r, err := rel.Deployed(o.release)
			if err != nil {
				return 0, err
			}
			return r.Version, nil
		}
		results, err := proof.Run(ctx, env, o.proofs)
		if err != nil {
			return err
		}
		var failed []string
		for _, r := range results {
			fmt.Fprintln(out, r)
			if r.Err != nil {
				failed = append(failed, r.Name)
			}
		}
		if len(failed) > 0 {
			return fmt.Errorf("proofs failed: %s", strings.Join(failed, ", "))
		}
		return nil
	case "wait":
		start := time.Now()
		selector := o.selector
		if selector == "" {
			selector = "app.kubernetes.io/instance=" + o.release
		}
		status, err := deploy.Wait(ctx, kube, o.namespace, selector, deploy.WaitOptions{Timeout: o.timeout})
		if err != nil {
			return err
		}
		for _, s := range status {
			fmt.Fprintln(out, s)
		}
		fmt.Fprintf(out, "rolled out in %s\n", time.Since(start).Round(time.Second))
		return nil
	case "node-loss-request":
		node, err := proof.AwaitNodeLossRequest(ctx, proof.Env{Kube: kube, Namespace: o.namespace, Release: o.release}, o.timeout)
		if err != nil {
			return err
		}
		fmt.Fprintln(out, node)
		return nil
	case "nodes":
		start := time.Now()
		nodes, err := deploy.WaitNodes(ctx, kube, o.count, o.timeout, 2*time.Second)
		if err != nil {
			return err
		}
		fmt.Fprint(out, deploy.NodeTable(nodes))
		fmt.Fprintf(out, "%d nodes ready in %s\n", o.count, time.Since(start).Round(time.Second))
		return nil
	case "fingerprints":
		return printFingerprints(ctx, out, kube, flags, o)
	case "test":
		summary, err := rel.Test(o.release)
		fmt.Fprint(out, summary)
		return err
	case "rollback":
		return rel.Rollback(ctx, o.release, o.revision)
	default: // uninstall
		return rel.Uninstall(o.release)
	}
}

func registryOptions(o options) images.Options {
	return images.Options{Username: os.Getenv("REGISTRY_USERNAME"), Password: os.Getenv("REGISTRY_PASSWORD"), PlainHTTP: o.plainHTTP}
}

// reportDiff prints how a rebuild compares with what was published, and
// fails when they differ.
func reportDiff(out io.Writer, ref string, diffs []string, err error) error {
	if err != nil {
		return err
	}
	if len(diffs) == 0 {
		fmt.Fprintln(out, "identical to "+ref)
		return nil
	}
	fmt.Fprintln(out, "differs from "+ref+" (first: published, second: rebuilt):")
	for _, d := range diffs {
		fmt.Fprintln(out, "  "+d)
	}
	return fmt.Errorf("the rebuild differs from %s in %d ways", ref, len(diffs))
}

// sourceDateEpoch is the flag's time, else $SOURCE_DATE_EPOCH's (see
// reproducible-builds.org), else zero.
func sourceDateEpoch(flag int64) (time.Time, error) {
	if flag < 0 {
		return time.Time{}, fmt.Errorf("--source-date-epoch=%d: want seconds since 1970", flag)
	}
	if flag != 0 {
		return time.Unix(flag, 0).UTC(), nil
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

// startTunnels forwards the loopback ports TODOCTL_TUNNELS lists, when it is
// set, and checks that what cmd reaches is not on a loopback port left out.
func startTunnels(ctx context.Context, cmd string, o options) error {
	value, set := os.LookupEnv(contract.TunnelEnv)
	if !set {
		return nil
	}
	forwards, err := contract.ParseTunnels(value)
	if err != nil {
		return err
	}
	ports := tunnel.Ports(forwards)
	switch cmd {
	case "smoke", "prove":
		if err := tunnel.Reachable("--url", o.url, ports); err != nil {
			return err
		}
	case "push", "push-image", "diff-image", "diff-chart":
		host, _, _ := strings.Cut(strings.TrimPrefix(o.ref, "oci://"), "/")
		if err := tunnel.Reachable("the registry", host, ports); err != nil {
			return err
		}
	}
	if slices.Contains(clusterCommands, cmd) {
		flags := genericclioptions.NewConfigFlags(true)
		flags.KubeConfig, flags.Context = &o.kubeconfig, &o.kubeContext
		rc, err := flags.ToRESTConfig()
		if err != nil {
			return fmt.Errorf("kubeconfig: %w", err)
		}
		if err := tunnel.Reachable("the kubeconfig's server", rc.Host, ports); err != nil {
			return err
		}
	}
	// Once per process: the commands of a plan (steps) share the forwards.
	forwarding.Do(func() { err = tunnel.Start(ctx, forwards) })
	return err
}

var forwarding sync.Once

// clusterCommands are the commands that talk to the cluster's API server.
var clusterCommands = []string{"install", "wait", "nodes", "node-loss-request", "test", "rollback", "uninstall", "prove", "fingerprints"}

// printFingerprints prints the fingerprint of every credential a deploy
// handles: the release's secret values and the kubeconfig's own. Whoever
// holds the deploy's logs can then check that none is in them (see package
// fingerprint) without being shown any.
func printFingerprints(ctx context.Context, out io.Writer, kube kubernetes.Interface, flags *genericclioptions.ConfigFlags, o options) error {
	pods, err := kube.CoreV1().Pods(o.namespace).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=" + o.release})
	if err != nil {
		return fmt.Errorf("list pods: %w", err)
	}
	values, err := deploy.SecretValues(ctx, kube, o.namespace, pods.Items)
	if err != nil {
		return err
	}
	if len(values) == 0 {
		return fmt.Errorf("no pod of release %s takes a value from a Secret", o.release)
	}
	rc, err := flags.ToRESTConfig()
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	for name, v := range map[string]string{"kubeconfig/client-key": string(rc.KeyData), "kubeconfig/token": rc.BearerToken, "kubeconfig/password": rc.Password} {
		if v != "" {
			values[name] = v
		}
	}
	fmt.Fprintf(out, "%d credentials, none of them in this report; a log holds one where a stretch of its length has its SHA-256:\n", len(values))
	for _, name := range slices.Sorted(maps.Keys(values)) {
		fmt.Fprintln(out, fingerprint.Of(name, values[name]))
	}
	return nil
}

func kubeClient(flags *genericclioptions.ConfigFlags) (kubernetes.Interface, error) {
	rc, err := flags.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	return kubernetes.NewForConfig(rc)
}

func load(o options) (*helmchart.Chart, map[string]any, error) {
	ch, err := chart.Load(o.chartPath)
	if err != nil {
		return nil, nil, err
	}
	vals, err := chart.Values(o.valueFiles, o.sets)
	return ch, vals, err
}

func render(ctx context.Context, o options, out io.Writer) error {
	ch, vals, err := load(o)
	if err != nil {
		return err
	}
	rel, err := chart.Render(ctx, ch, vals, chart.RenderOptions{ReleaseName: o.release, Namespace: o.namespace, KubeVersion: o.kubeVersion})
	if err != nil {
		return err
	}
	if _, err := chart.Decode(rel); err != nil {
		return err
	}
	_, err = io.WriteString(out, rel.Manifest)
	return err
}
