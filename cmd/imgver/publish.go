package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/imgver/imgver/internal/clip"
	"github.com/imgver/imgver/internal/config"
	"github.com/imgver/imgver/internal/flow"
)

// publishOptions are the flags of imgver publish.
type publishOptions struct {
	ciFlags
	mode     string
	alsoTags []string
	dryRun   bool
	force    bool
	noCheck  bool
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
		RunE: g.onConfig(o.check, o.run),
	}
	f := cmd.Flags()
	f.StringVar(&o.mode, "mode", "changed", "which images: changed (the unpinned ones) or all")
	f.StringArrayVar(&o.alsoTags, "also-tag", nil, "also move this tag to each pushed image, e.g. latest (repeatable)")
	f.StringVar(&o.commit, "commit", "", "commit SHA the candidates were built from (default: git rev-parse HEAD)")
	f.StringArrayVar(&o.candidates, "candidate", nil, "NAME=REF: where the fresh build of image NAME is (repeatable)")
	f.BoolVar(&o.dryRun, "dry-run", false, "resolve and check everything, push nothing")
	f.BoolVar(&o.force, "force", false, "push over a SHA tag that holds another image")
	f.StringVar(&o.format, "format", "text", "output format: text, json, github or dotenv")
	f.IntVar(&o.jobs, "jobs", 0, "images pushed at once (default: number of CPUs)")
	f.DurationVar(&o.timeout, "timeout", 0, "give up after this long, e.g. 20m (default: no limit)")
	f.BoolVar(&o.noCheck, "no-check", false, "do not run imgver check on the candidates")
	f.BoolVar(&o.progress, "progress", false, "show progress on stderr even when it is not a terminal")
	return cmd
}

func (o *publishOptions) check(*cobra.Command) error {
	if o.mode != "changed" && o.mode != "all" {
		return fmt.Errorf("unknown --mode %s (want changed or all)", clip.Quote(o.mode))
	}
	return o.ciFlags.check("text", "json", "github", "dotenv")
}

func (o *publishOptions) run(cmd *cobra.Command, cfg *config.Config, _ []string) error {
	r, err := o.start(cmd, cfg)
	if err != nil {
		return err
	}
	defer r.cancel()
	ctx := r.ctx
	progress, finish := newPublishBar(cmd.ErrOrStderr(), o.progress)
	rep, err := flow.Publish(ctx, cfg, flow.PublishOptions{
		Mode: flow.PublishMode(o.mode), Commit: r.sha, Candidates: o.cands, AlsoTags: o.alsoTags,
		DryRun: o.dryRun, Force: o.force, NoCheck: o.noCheck, Jobs: o.jobs, Remote: remoteOptions(ctx),
		Progress: progress,
	})
	finish()
	if err != nil {
		return timedOut(ctx, err)
	}
	if err := renderPublish(cmd.OutOrStdout(), rep, o.format); err != nil {
		return err
	}
	if len(rep.Broken) > 0 {
		return withCode(exitChanged, fmt.Errorf("the candidates of %s fail imgver check: nothing was pushed", strings.Join(rep.Broken, ", ")))
	}
	return nil
}
