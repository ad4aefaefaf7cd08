package main

import (
	"github.com/spf13/cobra"

	"github.com/imgver/imgver/internal/config"
	"github.com/imgver/imgver/internal/flow"
)

// applyOptions are the flags of imgver apply.
type applyOptions struct {
	reportFlags
	dryRun bool
}

func newApplyCmd(g *globalOptions) *cobra.Command {
	o := &applyOptions{}
	cmd := &cobra.Command{
		Use:   "apply RESULT.json...",
		Short: "Merge the results of imgver detect --shard and unpin the changed images once",
		Long: `Merge the results of the shards of one detect run (imgver detect --shard K/N
--output RESULT.json, one per CI job of a matrix) and do what one
imgver detect --write of every image would: unpin the changed images in one
atomic write, under the pin file's lock, only if the pin file is still byte
for byte what the shards read; then print the merged report, exactly as that
detect --write prints it (--format text, json, github or dotenv; see imgver
detect --help).

The results must cover every image of images.hcl exactly once and come from
one run: the same commit, images.hcl, pin file content, N and options
(--platform, --history, --no-check, --no-base). A missing or duplicated image,
results that differ, a file that is not a shard result, or a pin file
changed since the shards read it: exit 2, nothing written. --dry-run writes
nothing and prints what detect without --write prints.

Exit codes as imgver detect: 0 done (1 with --exit-code when an image
changed), 1 a fresh build fails its checks (the pin file is written, as
detect --write does), 2 error.`,
		Example: `  imgver apply results/*.json --format github
  imgver apply result-1.json result-2.json result-3.json --dry-run`,
		Args: cobra.MinimumNArgs(1),
		RunE: g.onConfig(o.reportFlags.check, o.run),
	}
	o.reportFlags.bind(cmd)
	cmd.Flags().BoolVar(&o.dryRun, "dry-run", false, "write nothing: say what would be unpinned")
	return cmd
}

func (o *applyOptions) run(cmd *cobra.Command, cfg *config.Config, paths []string) error {
	rep, err := flow.Apply(cmd.Context(), cfg, paths, flow.ApplyOptions{DryRun: o.dryRun})
	if err != nil {
		return err
	}
	return o.finish(cmd, rep)
}
