package main

import (
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/imgver/imgver/internal/config"
	"github.com/imgver/imgver/internal/pinfile"
	"github.com/imgver/imgver/internal/release"
)

// listOptions are the flags of imgver list.
type listOptions struct {
	format *choiceFlag
	shard  shardFlag
}

func newListCmd(g *globalOptions) *cobra.Command {
	o := &listOptions{}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List every image with its pin state and version",
		Long: `List every image of images.hcl: its name, shell variable, state (pinned,
manual or unpinned), pinned version and repository.

A pin file line imgver cannot read is reported as a warning on stderr and
skipped; every other command refuses such a file.

--shard K/N lists only the images of shard K of N, as imgver detect --shard
K/N compares them: what a CI job of a matrix builds.`,
		Example: `  imgver list
  imgver list --format json | jq -r '.[] | select(.state == "unpinned") | .name'
  imgver list --shard 2/3 --format json | jq -r '.[].name'   # the images a matrix job builds`,
		Args: cobra.NoArgs,
		RunE: g.onConfig(nil, o.run),
	}
	o.format = formatVar(cmd, "text", "json")
	cmd.Flags().Var(&o.shard, "shard", "K/N: list only the images of shard K of N (as imgver detect --shard)")
	return cmd
}

func (o *listOptions) run(cmd *cobra.Command, cfg *config.Config, _ []string) error {
	data, err := pinfile.ReadData(cfg.PinFile)
	if err != nil {
		return err
	}
	f, errs := pinfile.ParseLenient(cfg.PinFile, data, release.Owned(cfg))
	for _, e := range errs {
		warnf(cmd.ErrOrStderr(), "%v (line skipped)", e)
	}
	statuses := slices.DeleteFunc(release.Statuses(cfg, f), func(s release.Status) bool { return !o.shard.Has(s.Name) })
	warnUnknownVars(cmd.ErrOrStderr(), f)
	w := cmd.OutOrStdout()
	if o.format.value == "json" {
		return writeJSON(w, statuses)
	}
	tw := newTable(w)
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
