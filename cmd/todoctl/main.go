// Command todoctl deploys todo-app with the Helm SDK and checks the result. The
// Dagger pipeline runs it inside a container against an ephemeral k3s; users
// run it against their own cluster (e.g. Minikube). `todoctl help` lists its
// commands, `todoctl help COMMAND` their flags, and `todoctl completion SHELL`
// writes shell completion.
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
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "todoctl:", err)
		os.Exit(1)
	}
}

// run runs one todoctl command line, writing what it reports to out.
func run(ctx context.Context, args []string, out io.Writer) error {
	root := newRootCommand()
	root.SetArgs(args)
	root.SetOut(out)
	return root.ExecuteContext(ctx)
}

// The groups the help lists the commands in.
const (
	groupDeploy  = "deploy"
	groupCheck   = "check"
	groupRelease = "release"
)

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "todoctl",
		Short: "Deploy todo-app with the Helm SDK and check the result",
		Long: `todoctl deploys todo-app's chart with the Helm SDK and checks the result: the
rollout, the chart's tests, a smoke test through the Ingress, and deploy-time
proofs under disturbance. It also packages, normalizes and publishes the
release's artifacts so that one commit gives the same bytes anywhere.`,
		// Errors are printed once, by main, without the usage.
		SilenceErrors:     true,
		SilenceUsage:      true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error { return startTunnels(cmd) },
	}
	root.AddGroup(
		&cobra.Group{ID: groupDeploy, Title: "Deploy to a cluster:"},
		&cobra.Group{ID: groupCheck, Title: "Check a deployment:"},
		&cobra.Group{ID: groupRelease, Title: "Package and publish a release:"},
	)
	for group, commands := range map[string][]*cobra.Command{
		groupDeploy: {newRenderCommand(), newInstallCommand(), newWaitCommand(), newNodesCommand(),
			newRollbackCommand(), newUninstallCommand(), newStepsCommand()},
		groupCheck: {newTestCommand(), newSmokeCommand(), newLoadCommand(), newProveCommand(),
			newNodeLossRequestCommand(), newFingerprintsCommand()},
		groupRelease: {newPackageCommand(), newPushCommand(), newDiffChartCommand(), newNormalizeImageCommand(),
			newNormalizeSBOMCommand(), newPushImageCommand(), newDiffImageCommand()},
	} {
		for _, c := range commands {
			c.GroupID = group
			root.AddCommand(c)
		}
	}
	return root
}
