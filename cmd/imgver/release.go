package main

import (
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/imgver/imgver/internal/config"
	"github.com/imgver/imgver/internal/release"
)

// releaseOptions are the flags of imgver release.
type releaseOptions struct {
	dryRun   bool
	format   *choiceFlag
	retag    bool
	commit   commitFlag
	force    bool
	floating bool
	dated    bool
}

func newReleaseCmd(g *globalOptions) *cobra.Command {
	o := &releaseOptions{}
	cmd := &cobra.Command{
		Use:   "release VERSION",
		Short: "Pin every unpinned image to a release version",
		Long: `Pin every unpinned image to VERSION, which must match release_pattern of
images.hcl. The new pins are added as one block under a header
"# <UTC time> -- VERSION". Manual and existing automatic pins stay as they are,
so running it twice adds nothing the second time.

With --retag, each image pinned in this run also gets VERSION as a registry tag:
the manifest published as <repository>:<short SHA> is tagged
<repository>:VERSION, by manifest, without pulling or pushing a layer. Every
source and target is checked first; a VERSION tag that already points at
another image is an error unless --force. The pin file is written only after
every tag is in place, so a failed run changes nothing and can be run again.

--dated also tags VERSION-YYYYMMDD (today, UTC): an immutable tag, pinned to
exactly this build. --floating also tags the floating tags users follow for
fixes: for v1.2.3, v1.2 and v1 (for release-1.2.3, release-1.2 and
release-1). A floating tag moves only forward, in semantic version order: when
it points at a higher release of the repository (v1.5.0 exists and v1 points
at it), it is left there and the output says so. A pre-release
(v1.2.3-rc.1) never moves a floating tag.`,
		Example: `  imgver release v3.5.0 --dry-run
  imgver release v3.5.0
  imgver release v3.5.0 --retag --commit "$GITHUB_SHA"
  imgver release v3.5.0 --retag --floating --dated`,
		Args: cobra.ExactArgs(1),
		RunE: g.onConfig(o.check, o.run),
	}
	cmd.Flags().BoolVar(&o.dryRun, "dry-run", false, "print what would be pinned, write nothing")
	o.format = formatVar(cmd, "text", "json")
	cmd.Flags().BoolVar(&o.retag, "retag", false, "tag <repository>:<short SHA> as <repository>:VERSION in the registry")
	o.commit.bind(cmd, "with --retag: the commit the images were published under (default: git rev-parse HEAD)")
	cmd.Flags().BoolVar(&o.force, "force", false, "with --retag: move a VERSION (or dated) tag that points at another image")
	cmd.Flags().BoolVar(&o.floating, "floating", false, "with --retag: also tag vX.Y and vX (moved only forward)")
	cmd.Flags().BoolVar(&o.dated, "dated", false, "with --retag: also tag VERSION-YYYYMMDD (UTC)")
	return cmd
}

func (o *releaseOptions) check() error {
	if !o.retag && (o.commit.given || o.force || o.floating || o.dated) {
		return fmt.Errorf("--commit, --force, --floating and --dated go with --retag")
	}
	return nil
}

func (o *releaseOptions) run(cmd *cobra.Command, cfg *config.Config, args []string) error {
	version := args[0]
	var (
		pinned []release.Status
		tags   []release.Tagging
		err    error
	)
	if o.retag {
		var sha string
		if sha, err = o.commit.resolve(cmd.Context(), cfg); err != nil {
			return err
		}
		pinned, tags, err = release.ReleaseRetag(cmd.Context(), cfg, version, release.RetagOptions{
			Commit: sha, Force: o.force, DryRun: o.dryRun, Floating: o.floating, Dated: o.dated,
			Now: time.Now(), Remote: remoteOptions(cmd.Context()),
		})
	} else {
		pinned, err = release.Release(cmd.Context(), cfg, version, o.dryRun, time.Now())
	}
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	if o.format.value == "json" {
		if pinned == nil {
			pinned = []release.Status{} // "pinned": [], never null
		}
		return writeJSON(w, struct {
			Version string            `json:"version"`
			DryRun  bool              `json:"dry_run"`
			Pinned  []release.Status  `json:"pinned"`
			Tags    []release.Tagging `json:"tags,omitempty"`
		}{version, o.dryRun, pinned, tags})
	}
	for _, t := range tags {
		switch {
		case t.Kept != "":
			fmt.Fprintf(w, "left %s where it is: it points at %s, a higher release\n", t.Target, t.Kept)
		case t.Existed:
			fmt.Fprintf(w, "%s already tagged as %s (%s)\n", t.Source, t.Target, t.Digest)
		case o.dryRun:
			fmt.Fprintf(w, "would tag %s as %s (%s)\n", t.Source, t.Target, t.Digest)
		default:
			fmt.Fprintf(w, "tagged %s as %s (%s)\n", t.Source, t.Target, t.Digest)
		}
	}
	if o.floating && len(pinned) > 0 && !slices.ContainsFunc(tags, func(t release.Tagging) bool { return t.Kind == release.TagFloating }) {
		fmt.Fprintf(w, "no floating tag moved: %s is a pre-release\n", version)
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
