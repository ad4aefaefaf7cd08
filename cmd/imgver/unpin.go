package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/imgver/imgver/internal/release"
)

type unpinOptions struct {
	*globalOptions
}

func newUnpinCmd(g *globalOptions) *cobra.Command {
	o := &unpinOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "unpin NAME...",
		Short: "Remove the pin of one or more images",
		Long: `Remove the pin, automatic or manual, of each named image, so that it is
rebuilt and deploys under the short commit SHA. A release header left with no
pins under it is removed too. Images that are not pinned are left alone.`,
		Example: `  imgver unpin api-gateway
  imgver unpin svc-bie-kafka postgres`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, args) },
	}
	return cmd
}

func (o *unpinOptions) run(cmd *cobra.Command, names []string) error {
	cfg, err := o.load()
	if err != nil {
		return err
	}
	cs, err := release.Unpin(cmd.Context(), cfg, names)
	if err != nil {
		return err
	}
	for _, c := range cs {
		fmt.Fprintln(cmd.OutOrStdout(), describeChange(c))
	}
	return nil
}
