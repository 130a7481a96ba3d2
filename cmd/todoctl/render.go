package main

import (
	"io"

	"github.com/spf13/cobra"

	"github.com/todo-app/todo-app/internal/chart"
)

func newRenderCommand() *cobra.Command {
	var (
		charts                          chartFlags
		release, namespace, kubeVersion string
	)
	cmd := &cobra.Command{
		Use:   "render [-f values.yaml]... [--set k=v]...",
		Short: "Render the chart's manifests for review, decoded strictly into Kubernetes types",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ch, vals, err := charts.load()
			if err != nil {
				return err
			}
			rel, err := chart.Render(cmd.Context(), ch, vals, chart.RenderOptions{ReleaseName: release, Namespace: namespace, KubeVersion: kubeVersion})
			if err != nil {
				return err
			}
			if _, err := chart.Decode(rel); err != nil {
				return err
			}
			_, err = io.WriteString(cmd.OutOrStdout(), rel.Manifest)
			return err
		},
	}
	charts.add(cmd.Flags())
	cmd.Flags().StringVar(&release, "release", defaultRelease, "release name")
	cmd.Flags().StringVarP(&namespace, "namespace", "n", defaultNamespace, "namespace")
	cmd.Flags().StringVar(&kubeVersion, "kube-version", chart.DefaultKubeVersion, "Kubernetes version to render for")
	return cmd
}
