package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/imgver/imgver/internal/release"
)

type releaseOptions struct {
	*globalOptions
	dryRun bool
	format string
}

func newReleaseCmd(g *globalOptions) *cobra.Command {
	o := &releaseOptions{globalOptions: g}
	cmd := &cobra.Command{
		Use:   "release VERSION",
		Short: "Pin every unpinned image to a release version",
		Long: `Pin every unpinned image to VERSION, which must match release_pattern of
images.hcl. The new pins are added as one block under a header
"# <UTC time> -- VERSION". Manual and existing automatic pins stay as they are,
so running it twice adds nothing the second time.`,
		Example: `  imgver release v3.5.0 --dry-run
  imgver release v3.5.0`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, args[0]) },
	}
	cmd.Flags().BoolVar(&o.dryRun, "dry-run", false, "print what would be pinned, write nothing")
	cmd.Flags().StringVar(&o.format, "format", "text", "output format: text or json")
	return cmd
}

func (o *releaseOptions) run(cmd *cobra.Command, version string) error {
	if err := checkFormat(o.format, "text", "json"); err != nil {
		return err
	}
	cfg, err := o.load()
	if err != nil {
		return err
	}
	pinned, err := release.Release(cmd.Context(), cfg, version, o.dryRun, time.Now())
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	if o.format == "json" {
		return writeJSON(w, struct {
			Version string           `json:"version"`
			DryRun  bool             `json:"dry_run"`
			Pinned  []release.Status `json:"pinned"`
		}{version, o.dryRun, pinned})
	}
	verb := "pinned"
	if o.dryRun {
		verb = "would pin"
	}
	if len(pinned) == 0 {
		fmt.Fprintf(w, "nothing to pin: no image is unpinned\n")
		return nil
	}
	for _, s := range pinned {
		fmt.Fprintf(w, "%s %s to %s\n", verb, s.Name, s.Version)
	}
	return nil
}
