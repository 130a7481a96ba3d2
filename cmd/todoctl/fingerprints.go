package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/todo-app/todo-app/internal/deploy"
	"github.com/todo-app/todo-app/internal/fingerprint"
)

func newFingerprintsCommand() *cobra.Command {
	var target releaseFlags
	cmd := &cobra.Command{
		Use:   "fingerprints",
		Short: "Show the SHA-256 and length of each credential of the release and the kubeconfig, to check logs for them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			kube, err := target.client()
			if err != nil {
				return err
			}
			return printFingerprints(cmd.Context(), cmd.OutOrStdout(), kube, target)
		},
	}
	target.add(cmd.Flags())
	return cmd
}

// printFingerprints prints the fingerprint of every credential a deploy
// handles: the release's secret values and the kubeconfig's own. Whoever
// holds the deploy's logs can then check that none is in them (see package
// fingerprint) without being shown any.
func printFingerprints(ctx context.Context, out io.Writer, kube kubernetes.Interface, target releaseFlags) error {
	pods, err := kube.CoreV1().Pods(target.namespace()).List(ctx, metav1.ListOptions{LabelSelector: target.selector()})
	if err != nil {
		return fmt.Errorf("list pods: %w", err)
	}
	values, err := deploy.SecretValues(ctx, kube, target.namespace(), pods.Items)
	if err != nil {
		return err
	}
	if len(values) == 0 {
		return fmt.Errorf("no pod of release %s takes a value from a Secret", target.release)
	}
	rc, err := target.kube.ToRESTConfig()
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
