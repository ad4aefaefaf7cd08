package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/imgver/imgver/internal/config"
	"github.com/imgver/imgver/internal/pinfile"
	"github.com/imgver/imgver/internal/release"
)

// listOptions are the flags of imgver list.
type listOptions struct {
	format string
}

func newListCmd(g *globalOptions) *cobra.Command {
	o := &listOptions{}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List every image with its pin state and version",
		Long: `List every image of images.hcl: its name, shell variable, state (pinned,
manual or unpinned), pinned version and repository.

A pin file line imgver cannot read is reported as a warning on stderr and
skipped; every other command refuses such a file.`,
		Example: `  imgver list
  imgver list --format json | jq -r '.[] | select(.state == "unpinned") | .name'`,
		Args: cobra.NoArgs,
		RunE: g.onConfig(o.check, o.run),
	}
	cmd.Flags().StringVar(&o.format, "format", "text", "output format: text or json")
	return cmd
}

func (o *listOptions) check(*cobra.Command) error { return checkFormat(o.format, "text", "json") }

func (o *listOptions) run(cmd *cobra.Command, cfg *config.Config, _ []string) error {
	data, err := pinfile.ReadData(cfg.PinFile)
	if err != nil {
		return err
	}
	f, errs := pinfile.ParseLenient(cfg.PinFile, data, release.Owned(cfg))
	for _, e := range errs {
		fmt.Fprintf(cmd.ErrOrStderr(), "imgver: warning: %v (line skipped)\n", e)
	}
	statuses := release.Statuses(cfg, f)
	for _, u := range release.UnknownVars(f) {
		fmt.Fprintf(cmd.ErrOrStderr(), "imgver: warning: %s\n", u)
	}
	w := cmd.OutOrStdout()
	if o.format == "json" {
		return writeJSON(w, statuses)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tVAR\tSTATE\tVERSION\tREPOSITORY")
	for _, s := range statuses {
		v := s.Version
		if v == "" {
			v = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Name, s.Var, s.State, v, s.Repository)
	}
	return tw.Flush()
}
