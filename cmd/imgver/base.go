package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/imgver/imgver/internal/base"
	"github.com/imgver/imgver/internal/config"
	"github.com/imgver/imgver/internal/flow"
)

// baseOptions are the flags of imgver base check and base update.
type baseOptions struct {
	format   *choiceFlag
	platform string
	dryRun   bool
	unpin    bool
}

func newBaseCmd(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "base",
		Short: "Check and pin the digests of the base images in the Dockerfiles",
		Long: `The base commands read every FROM of each image's Dockerfile (the dockerfile
attribute in images.hcl), resolve each base image's tag in its registry, and
report or pin its digest, to catch an upstream image rebuilt under the same tag.`,
		Example: `  imgver base check
  imgver base update --dry-run
  imgver base update --unpin`,
		// Runnable, so that an unknown subcommand is an error (exit 2) rather
		// than cobra's help and exit 0.
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unknown command %q (want check or update; see %s --help)", args[0], cmd.CommandPath())
			}
			return cmd.Help()
		},
	}
	cmd.AddCommand(newBaseCheckCmd(g), newBaseUpdateCmd(g))
	return cmd
}

func (o *baseOptions) addFlags(cmd *cobra.Command) {
	o.format = formatVar(cmd, "text", "json", "github")
	cmd.Flags().StringVar(&o.platform, "platform", base.DefaultPlatform, "platform the images are built for, for FROMs without --platform")
}

func newBaseCheckCmd(g *globalOptions) *cobra.Command {
	o := &baseOptions{}
	cmd := &cobra.Command{
		Use:   "check [NAME...]",
		Short: "Report whether the base images of the images are pinned and current",
		Long: `Check reports, for every FROM of each named image's Dockerfile (all images
when none is named), one of:

  pinned-current  the FROM has a digest and the tag still points to it
                  (to the index, the single manifest, or the platform's
                  manifest in the index; index-moved: an earlier index whose
                  image for the platform is unchanged)
  pinned-stale    the FROM has a digest but the tag now points elsewhere
  unpinned        the FROM names a tag without a digest
  digest-only     the FROM names a digest without a tag: cannot be checked
  error           the reference cannot be resolved

and warns about mutable tags ("latest", or fewer than three version
components, like node:20 or python:3.13-slim). Stages (FROM build) and
scratch are not checked; global ARG defaults are substituted.

Exit status: 0 when every base is current, 1 when one is stale or unpinned,
2 on error.

With --format github, the lines stale=NAMES and unpinned=NAMES (image names
separated by commas) are appended to $GITHUB_OUTPUT, or printed when it is
unset.

` + baseJSONSchema,
		Example: `  # Check every image.
  imgver base check

  # Check two images, for arm64, as JSON.
  imgver base check api-gateway postgres --platform linux/arm64 --format json

  # In a GitHub workflow step.
  imgver base check --format github`,
		RunE: g.onConfig(o.check, o.runCheck),
	}
	o.addFlags(cmd)
	return cmd
}

func newBaseUpdateCmd(g *globalOptions) *cobra.Command {
	o := &baseOptions{}
	cmd := &cobra.Command{
		Use:   "update [NAME...]",
		Short: "Pin the base images of the images to their current digests",
		Long: `Update rewrites every unpinned or stale FROM of each named image's Dockerfile
(all images when none is named) to name:tag@sha256:<digest>, the digest the
tag points to now. For a multi-platform tag that is the digest of the index
(as Renovate pins it), valid for every platform; a FROM pinned to a current
platform manifest is left alone. Only the reference changes: every other
byte of the Dockerfile stays as it is. A reference built from ARGs cannot be
pinned in place and is reported instead.

Every reference is resolved before anything is written: if one cannot be
resolved, no Dockerfile changes. Files are replaced atomically.

Exit status: 0 when every base is pinned and current afterwards, 1 when some
could not be pinned in place (or, with --dry-run, when there is something to
change), 2 on error.

With --format github, the line updated=NAMES is appended to $GITHUB_OUTPUT,
or printed when it is unset.

` + baseJSONSchema,
		Example: `  # Show what would change, as a unified diff.
  imgver base update --dry-run

  # Pin the bases of one image.
  imgver base update svc-bie-kafka`,
		RunE: g.onConfig(o.check, o.runUpdate),
	}
	o.addFlags(cmd)
	cmd.Flags().BoolVar(&o.dryRun, "dry-run", false, "print a unified diff of the changes and write nothing")
	cmd.Flags().BoolVar(&o.unpin, "unpin", false, "also unpin (automatic pins only) the images whose base is pinned-stale, so that they are rebuilt")
	return cmd
}

// check checks the flags before anything is read.
func (o *baseOptions) check() error {
	return openableGitHubFiles(o.format, "GITHUB_OUTPUT")
}

// options turns the flags into options for the flow.
func (o *baseOptions) options(ctx context.Context, names []string) flow.BasesOptions {
	return flow.BasesOptions{Names: names, Platform: o.platform, Remote: remoteOptions(ctx), DryRun: o.dryRun, Unpin: o.unpin}
}

func (o *baseOptions) runCheck(cmd *cobra.Command, cfg *config.Config, names []string) error {
	reps, err := flow.ResolveBases(cmd.Context(), cfg, o.options(cmd.Context(), names))
	if err != nil {
		return err
	}
	if err := renderBaseCheck(cmd.OutOrStdout(), reps, o.format.value); err != nil {
		return err
	}
	return baseExit(reps)
}

func (o *baseOptions) runUpdate(cmd *cobra.Command, cfg *config.Config, names []string) error {
	up, err := flow.UpdateBases(cmd.Context(), cfg, o.options(cmd.Context(), names))
	var ue *base.UnresolvedError
	if errors.As(err, &ue) {
		// Show what was found, then fail: nothing is written.
		if err := renderBaseUnresolved(cmd.OutOrStdout(), up.Plan.Reports, o.format.value); err != nil {
			return err
		}
		errs := make([]error, 0, len(ue.Results)+1)
		for _, r := range ue.Results {
			errs = append(errs, resolveErr(r))
		}
		errs = append(errs, errors.New("no Dockerfile was changed"))
		return withCode(exitError, errors.Join(errs...))
	}
	if err != nil {
		return err
	}
	renderBaseUnpin(cmd.ErrOrStderr(), up, o.dryRun)
	if err := renderBaseUpdate(cmd.OutOrStdout(), up.Plan, o.format.value, o.dryRun); err != nil {
		return err
	}
	if o.dryRun && len(up.Plan.Files) > 0 {
		return withCode(exitChanged, nil)
	}
	if o.dryRun {
		return nil
	}
	if left := notUpdatable(up.Plan); len(left) > 0 {
		return withCode(exitChanged, fmt.Errorf("%d base(s) could not be pinned in place: %s", len(left), strings.Join(left, ", ")))
	}
	return nil
}

// baseExit maps the results to check's exit status.
func baseExit(reps []base.Report) error {
	var errs []error
	found := false
	for _, rep := range reps {
		for _, r := range rep.Results {
			switch r.Status {
			case base.StatusError:
				errs = append(errs, resolveErr(r))
			case base.StatusPinnedStale, base.StatusUnpinned:
				found = true
			}
		}
	}
	if len(errs) > 0 {
		return withCode(exitError, errors.Join(errs...))
	}
	if found {
		return withCode(exitChanged, nil)
	}
	return nil
}

// resolveErr is the error of r with its Dockerfile named as the user sees it.
func resolveErr(r base.Result) error {
	var re *base.ResolveError
	if !errors.As(r.Err, &re) {
		return r.Err
	}
	return fmt.Errorf("%s:%d: image %q: base %q: %w", relToWD(re.Dockerfile), re.Line, re.Image, re.Ref, re.Err)
}
