// Package deploytest provides a Helm release store and fake cluster for tests
// of what drives Helm: releases install and upgrade in memory, and a release
// can be made to never become ready.
package deploytest

import (
	"errors"
	"io"
	"sync/atomic"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/kube"
	kubefake "helm.sh/helm/v3/pkg/kube/fake"
	"helm.sh/helm/v3/pkg/storage"
	"helm.sh/helm/v3/pkg/storage/driver"

	"github.com/todo-app/todo-app/internal/chart"
	"github.com/todo-app/todo-app/internal/deploy"
)

// Cluster accepts every object; the next wait fails when FailNextWait is set,
// as for a release whose pods never become ready.
type Cluster struct {
	kubefake.PrintingKubeClient
	FailNextWait atomic.Bool
}

// Wait fails once after FailNextWait was set.
func (c *Cluster) Wait(r kube.ResourceList, d time.Duration) error {
	if c.FailNextWait.CompareAndSwap(true, false) {
		return errors.New("timed out waiting for the condition: deployment todo-backend: 0 of 1 updated replicas are available")
	}
	return nil
}

// WaitWithJobs is Wait.
func (c *Cluster) WaitWithJobs(r kube.ResourceList, d time.Duration) error { return c.Wait(r, d) }

// NewReleaser returns a Releaser over an in-memory release store and Cluster.
func NewReleaser(timeout time.Duration) (*deploy.Releaser, *Cluster) {
	cluster := &Cluster{PrintingKubeClient: kubefake.PrintingKubeClient{Out: io.Discard}}
	caps := *chartutil.DefaultCapabilities
	kv, _ := chartutil.ParseKubeVersion(chart.DefaultKubeVersion)
	caps.KubeVersion = *kv // the default claims v1.20, below the chart's kubeVersion
	cfg := &action.Configuration{
		Releases:     storage.Init(driver.NewMemory()),
		KubeClient:   cluster,
		Capabilities: &caps,
		Log:          func(string, ...any) {},
	}
	return deploy.NewReleaser(cfg, "apps", timeout), cluster
}
