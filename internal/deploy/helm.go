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
)

// Releaser runs Helm actions in one namespace.
type Releaser struct {
	cfg       *action.Configuration
	namespace string
	timeout   time.Duration
}

// NewReleaser wraps an initialised Helm configuration.
func NewReleaser(cfg *action.Configuration, namespace string, timeout time.Duration) *Releaser {
	return &Releaser{cfg: cfg, namespace: namespace, timeout: timeout}
}

// Apply installs the release, or upgrades it when it exists. Both are atomic:
// a release that does not become ready is rolled back (or removed) by Helm.
func (r *Releaser) Apply(ctx context.Context, name string, ch *chart.Chart, vals map[string]any) (*release.Release, error) {
	hist := action.NewHistory(r.cfg)
	hist.Max = 1
	if _, err := hist.Run(name); errors.Is(err, driver.ErrReleaseNotFound) {
		in := action.NewInstall(r.cfg)
		in.ReleaseName, in.Namespace, in.CreateNamespace = name, r.namespace, true
		in.Atomic, in.Wait, in.Timeout = true, true, r.timeout
		rel, err := in.RunWithContext(ctx, ch, vals)
		if err != nil {
			return nil, fmt.Errorf("install %s: %w", name, err)
		}
		return rel, nil
	} else if err != nil {
		return nil, fmt.Errorf("history of %s: %w", name, err)
	}
	up := action.NewUpgrade(r.cfg)
	up.Namespace = r.namespace
	up.Atomic, up.Wait, up.Timeout, up.CleanupOnFail = true, true, r.timeout, true
	rel, err := up.RunWithContext(ctx, name, ch, vals)
	if err != nil {
		return nil, fmt.Errorf("upgrade %s: %w", name, err)
	}
	return rel, nil
}

// Rollback returns the release to revision (0: the previous one).
func (r *Releaser) Rollback(name string, revision int) error {
	rb := action.NewRollback(r.cfg)
	rb.Version, rb.Wait, rb.Timeout = revision, true, r.timeout
	if err := rb.Run(name); err != nil {
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
