package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/imgver/imgver/internal/config"
	"github.com/imgver/imgver/internal/release"
)

func newUnpinCmd(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "unpin NAME...",
		Short: "Remove the pin of one or more images",
		Long: `Remove the pin, automatic or manual, of each named image, so that it is
rebuilt and deploys under the short commit SHA. A release header left with no
pins under it is removed too. Images that are not pinned are left alone.`,
		Example: `  imgver unpin api-gateway
  imgver unpin svc-bie-kafka postgres`,
		Args: cobra.MinimumNArgs(1),
		RunE: g.onConfig(nil, runUnpin),
	}
}

func runUnpin(cmd *cobra.Command, cfg *config.Config, names []string) error {
	cs, err := release.Unpin(cmd.Context(), cfg, names)
	if err != nil {
		return err
	}
	for _, c := range cs {
		fmt.Fprintln(cmd.OutOrStdout(), describeChange(c))
	}
	return nil
}
