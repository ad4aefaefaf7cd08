package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/imgver/imgver/internal/config"
	"github.com/imgver/imgver/internal/release"
)

// pinOptions are the flags of imgver pin.
type pinOptions struct {
	manual bool
	force  bool
}

func newPinCmd(g *globalOptions) *cobra.Command {
	o := &pinOptions{}
	cmd := &cobra.Command{
		Use:   "pin NAME VERSION",
		Short: "Pin one image to a version",
		Long: `Pin one image to VERSION in the pin file. An existing pin of the image is
replaced in place; otherwise the pin is added under a "# <time> -- VERSION"
header. With --manual the pin is written as an export line, which automation
(release, detect) never changes or removes.

VERSION must match release_pattern of images.hcl unless --force is given; it
must always be a valid image tag.`,
		Example: `  imgver pin api-gateway v3.4.1
  imgver pin svc-bie-kafka v3.2.1 --manual      # hold it back by hand
  imgver pin console hotfix-2026-11-02 --force  # not a release version`,
		Args: cobra.ExactArgs(2),
		RunE: g.onConfig(nil, o.run),
	}
	cmd.Flags().BoolVar(&o.manual, "manual", false, "write a manual pin (export line) that automation never touches")
	cmd.Flags().BoolVar(&o.force, "force", false, "accept a VERSION that does not match release_pattern")
	return cmd
}

func (o *pinOptions) run(cmd *cobra.Command, cfg *config.Config, args []string) error {
	c, err := release.Pin(cmd.Context(), cfg, args[0], args[1], o.manual, o.force, time.Now())
	if err != nil {
		return err
	}
	fmt.Fprintln(cmd.OutOrStdout(), describeChange(c))
	return nil
}

// describeChange says what happened to one image, e.g.
// "api-gateway: unpinned -> pinned v1.2.3".
func describeChange(c release.Change) string {
	if c.Before == c.After {
		return fmt.Sprintf("%s: already %s (unchanged)", c.Name, stateText(c.After))
	}
	return fmt.Sprintf("%s: %s -> %s", c.Name, stateText(c.Before), stateText(c.After))
}

func stateText(s release.Status) string {
	if s.State == release.Unpinned {
		return string(s.State)
	}
	return fmt.Sprintf("%s %s", s.State, s.Version)
}
