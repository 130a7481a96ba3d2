// Package deploy installs the chart with the Helm SDK, waits for it, and
// explains what is not ready. The deploy tool (cmd/todoctl) is its command line.
package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage/driver"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// Releaser runs Helm actions in one namespace.
type Releaser struct {
	cfg       *action.Configuration
	kube      kubernetes.Interface
	namespace string
	timeout   time.Duration
}

// NewReleaser wraps an initialised Helm configuration and a client of the
// same cluster, which watches what Helm applies.
func NewReleaser(cfg *action.Configuration, kube kubernetes.Interface, namespace string, timeout time.Duration) *Releaser {
	return &Releaser{cfg: cfg, kube: kube, namespace: namespace, timeout: timeout}
}

// Apply installs the release, or upgrades it when it exists, then waits for
// it (Wait: every pod of the new templates ready, none of the old ones left).
// Both are atomic, as helm --atomic: a release that does not become ready
// within the timeout is marked failed and removed (install) or rolled back to
// the last good revision (upgrade). And neither waits out its timeout for what
// it can already see will never become ready: a new pod whose image cannot be
// pulled, whose configuration names what does not exist, or that keeps
// crashing (see Hopeless) fails it at once, as Argo CD's and Flux's health
// checks do.
func (r *Releaser) Apply(ctx context.Context, name string, ch *chart.Chart, vals map[string]any) (*release.Release, error) {
	hist := action.NewHistory(r.cfg)
	hist.Max = 1
	_, err := hist.Run(name)
	install := errors.Is(err, driver.ErrReleaseNotFound)
	if err != nil && !install {
		return nil, fmt.Errorf("history of %s: %w", name, err)
	}
	existing, err := PodUIDs(ctx, r.kube, r.namespace, r.selector(name))
	if err != nil {
		return nil, err
	}
	var rel *release.Release
	verb := "upgrade"
	if install {
		verb = "install"
		in := action.NewInstall(r.cfg)
		in.ReleaseName, in.Namespace, in.CreateNamespace, in.Timeout = name, r.namespace, true, r.timeout
		rel, err = in.RunWithContext(ctx, ch, vals)
	} else {
		up := action.NewUpgrade(r.cfg)
		up.Namespace, up.Timeout = r.namespace, r.timeout
		rel, err = up.RunWithContext(ctx, name, ch, vals)
	}
	if err == nil {
		err = r.wait(ctx, name, existing)
	}
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", verb, name, r.undo(ctx, name, install, rel, err))
	}
	return rel, nil
}

// undo is helm --atomic's answer to a failed install or upgrade: the
// release's failed revision is recorded as failed, then an install is
// removed and an upgrade rolled back to the last revision that was deployed.
func (r *Releaser) undo(ctx context.Context, name string, install bool, failed *release.Release, cause error) error {
	if failed != nil {
		failed.SetStatus(release.StatusFailed, fmt.Sprintf("Release %q failed: %v", name, cause))
		if err := r.cfg.Releases.Update(failed); err != nil {
			return fmt.Errorf("%w; recording the failure: %w", cause, err)
		}
	}
	if install {
		un := action.NewUninstall(r.cfg)
		un.Timeout = r.timeout
		if _, err := un.Run(name); err != nil && !errors.Is(err, driver.ErrReleaseNotFound) {
			return fmt.Errorf("%w; removing the release: %w", cause, err)
		}
		return fmt.Errorf("%w; the release has been removed", cause)
	}
	history, err := action.NewHistory(r.cfg).Run(name)
	if err != nil {
		return fmt.Errorf("%w; finding the last good revision: %w", cause, err)
	}
	good := 0
	for _, h := range history {
		if (h.Info.Status == release.StatusDeployed || h.Info.Status == release.StatusSuperseded) && h.Version > good {
			good = h.Version
		}
	}
	if good == 0 {
		return fmt.Errorf("%w; no earlier revision was deployed to roll back to", cause)
	}
	if err := r.Rollback(ctx, name, good); err != nil {
		return fmt.Errorf("%w; %w", cause, err)
	}
	return fmt.Errorf("%w; rolled back to revision %d", cause, good)
}

// wait waits for the release's rollout, judging the pods that are not among
// existing (those Helm's change made) hopeless as soon as they are.
func (r *Releaser) wait(ctx context.Context, name string, existing map[types.UID]bool) error {
	_, err := Wait(ctx, r.kube, r.namespace, r.selector(name), WaitOptions{Timeout: r.timeout, Interval: time.Second, FailFast: true, Existing: existing})
	return err
}

func (r *Releaser) selector(name string) string { return "app.kubernetes.io/instance=" + name }

// Rollback returns the release to revision (0: the previous one) and waits
// for it as Apply does.
func (r *Releaser) Rollback(ctx context.Context, name string, revision int) error {
	existing, err := PodUIDs(ctx, r.kube, r.namespace, r.selector(name))
	if err != nil {
		return err
	}
	rb := action.NewRollback(r.cfg)
	rb.Version, rb.Timeout = revision, r.timeout
	if err := rb.Run(name); err != nil {
		return fmt.Errorf("rollback %s to revision %d: %w", name, revision, err)
	}
	if err := r.wait(ctx, name, existing); err != nil {
		return fmt.Errorf("rollback %s to revision %d: %w", name, revision, err)
	}
	return nil
}

// Uninstall removes the release.
func (r *Releaser) Uninstall(name string) error {
	un := action.NewUninstall(r.cfg)
	un.Wait, un.Timeout = true, r.timeout
	if _, err := un.Run(name); err != nil {
		return fmt.Errorf("uninstall %s: %w", name, err)
	}
	return nil
}

// Test runs the chart's `helm test` hooks and summarises them.
func (r *Releaser) Test(name string) (string, error) {
	t := action.NewReleaseTesting(r.cfg)
	t.Namespace, t.Timeout = r.namespace, r.timeout
	rel, err := t.Run(name)
	var b strings.Builder
	if rel != nil {
		for _, h := range rel.Hooks {
			if len(h.Events) > 0 && h.Events[0] == release.HookTest {
				fmt.Fprintf(&b, "%-50s %s\n", h.Name, h.LastRun.Phase)
			}
		}
	}
	if err != nil {
		return b.String(), fmt.Errorf("helm test %s: %w", name, err)
	}
	return b.String(), nil
}

// History lists the release's revisions, oldest first.
func (r *Releaser) History(name string) ([]*release.Release, error) {
	return action.NewHistory(r.cfg).Run(name)
}

// Deployed returns the release's deployed revision.
func (r *Releaser) Deployed(name string) (*release.Release, error) {
	rel, err := r.cfg.Releases.Deployed(name)
	if err != nil {
		return nil, fmt.Errorf("deployed revision of %s: %w", name, err)
	}
	return rel, nil
}
