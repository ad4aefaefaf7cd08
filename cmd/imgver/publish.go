package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/imgver/imgver/internal/config"
	"github.com/imgver/imgver/internal/flow"
)

// publishOptions are the flags of imgver publish.
type publishOptions struct {
	ciFlags
	format    *choiceFlag
	mode      *choiceFlag
	alsoTags  []string
	dryRun    bool
	force     bool
	noCheck   bool
	noSummary bool
}

func newPublishCmd(g *globalOptions) *cobra.Command {
	o := &publishOptions{}
	cmd := &cobra.Command{
		Use:   "publish",
		Short: "Push the fresh build of every image to publish under the short commit SHA",
		Long: `Push the candidate (fresh build) of every image to publish to
<repository>:<short SHA>, by manifest and blobs: a blob the registry has is not
uploaded again, and an OCI layout's or a registry's manifest is pushed as it
is, so the pushed digest is the candidate's.

--mode changed (default) publishes every image unpinned in the pin file (run
imgver detect --write first); --mode all every image of images.hcl, pinned or
not (a publish of everything, to rescan unchanged images). Images pinned by
hand (export lines) are never published.

Every target is resolved before anything is pushed. A SHA tag that already
holds the candidate is "exists" (skipped: a rerun is safe and finishes an
interrupted publish); one that holds another image is an error naming both
digests, and nothing is pushed, unless --force. The candidates then go through
the checks of imgver check unless --no-check: a failing one is exit 1 and
nothing is pushed. --also-tag TAG (repeatable) moves TAG to each pushed
manifest after its SHA tag is in place.

After each image is pushed, the summary of each of its platform images is
attached to it (an OCI artifact beside it in its repository: see imgver
summarize --help), so that imgver detect judges it from the summary when it
is a release, without reading its layers; --no-summary attaches none. An image
already published gets them when it lacks one. A summary that cannot be made
or attached is a warning, never a failed publish: the image is pushed and
right; imgver summarize attaches the summary later.

Transient registry errors are retried with backoff; --timeout bounds the run.

Formats: text (a table); json {schema_version, commit, short_sha, mode,
dry_run, images: [{name, repository, tag, digest, also_tags, status, ...}],
broken}; github (the table, published=<JSON array of {name, repository, tag,
digest, also_tags, status}> appended to $GITHUB_OUTPUT, a markdown table to
$GITHUB_STEP_SUMMARY); dotenv (short_sha=, published=<names>,
published_json=<the JSON array> lines for GitLab's artifacts:reports:dotenv).

Exit codes: 0 done, 1 a candidate fails its checks (nothing pushed), 2 error.`,
		Example: `  imgver detect --write && imgver publish
  imgver publish --dry-run
  imgver publish --mode all --also-tag latest --format json > published.json
  imgver publish --commit "$GITHUB_SHA" --format github --timeout 30m`,
		Args: cobra.NoArgs,
		RunE: o.ciFlags.onConfig(g, o.check, o.run),
	}
	o.ciFlags.bind(cmd, "pushed")
	o.format = formatVar(cmd, "text", "json", "github", "dotenv")
	o.mode = choiceVar(cmd, "mode", "which images (changed: the unpinned ones)", "changed", "all")
	f := cmd.Flags()
	f.StringArrayVar(&o.alsoTags, "also-tag", nil, "also move this tag to each pushed image, e.g. latest (repeatable)")
	f.BoolVar(&o.dryRun, "dry-run", false, "resolve and check everything, push nothing")
	f.BoolVar(&o.force, "force", false, "push over a SHA tag that holds another image")
	f.BoolVar(&o.noCheck, "no-check", false, "do not run imgver check on the candidates")
	f.BoolVar(&o.noSummary, "no-summary", false, "attach no summary to the images pushed")
	return cmd
}

func (o *publishOptions) check() error {
	return openableGitHubFiles(o.format, "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY")
}

func (o *publishOptions) run(ctx context.Context, cmd *cobra.Command, cfg *config.Config, sha string) error {
	progress, finish := newPublishBar(cmd.ErrOrStderr(), o.progress)
	rep, err := flow.Publish(ctx, cfg, flow.PublishOptions{
		Mode: flow.PublishMode(o.mode.value), Commit: sha, Candidates: o.cands, AlsoTags: o.alsoTags,
		DryRun: o.dryRun, Force: o.force, NoCheck: o.noCheck, NoSummary: o.noSummary, Jobs: o.jobs, Remote: remoteOptions(ctx),
		Progress: progress,
	})
	finish()
	if err != nil {
		return timedOut(ctx, err)
	}
	for _, pi := range rep.Images {
		for _, w := range pi.Warnings {
			warnf(cmd.ErrOrStderr(), "image %s: %s", pi.Name, w)
		}
	}
	if err := renderPublish(cmd.OutOrStdout(), rep, o.format.value); err != nil {
		return err
	}
	if len(rep.Broken) > 0 {
		return withCode(exitChanged, fmt.Errorf("the candidates of %s fail imgver check: nothing was pushed", strings.Join(rep.Broken, ", ")))
	}
	return nil
}
