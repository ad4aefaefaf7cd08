package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/imgver/imgver/internal/config"
	"github.com/imgver/imgver/internal/flow"
)

// exitBaselineMissing: a pinned release is not in the registry yet.
const exitBaselineMissing = 3

// detectOptions are the flags of imgver detect.
type detectOptions struct {
	ciFlags
	cacheFlags
	reportFlags
	write     bool
	platform  string
	history   bool
	noCheck   bool
	noBase    bool
	noSummary bool
	shard     shardFlag
	output    string
}

func newDetectCmd(g *globalOptions) *cobra.Command {
	o := &detectOptions{}
	cmd := &cobra.Command{
		Use:   "detect",
		Short: "Compare fresh builds with their pinned releases and unpin the changed ones",
		Long: `Compare the fresh build (candidate) of every automatically pinned image with
its pinned release in the registry (<repository>:<version>), and tell CI what to
publish. An image is "changed" exactly when its normalised file system or
runtime config differs (see imgver diff --help for the rules); the cause is
told where it can be: base (only the base image's layers differ), app, config.

Manual pins are never compared nor unpinned; unpinned images need no
comparison and are always published. Without --write nothing is written (a dry
run); with it the changed images are unpinned in one atomic write, only if
the pin file is still byte for byte what the run read: a pin file changed
meanwhile (by hand or by another imgver) is exit 2, nothing written: run
again.

The candidate of an image is --candidate NAME=REF, else its candidate attribute
in images.hcl, where {name}, {var} and {sha} (the short SHA) are replaced.
References use skopeo's syntax: oci:DIR[:TAG], docker-archive:FILE,
docker-daemon:NAME:TAG, docker://REF or a bare registry reference.

The baseline is judged from its summaries when the registry holds them
(attached by imgver publish or imgver summarize, made with the same rules):
no layer of it is read. A summary that cannot be used is a warning, and the
layers are read. --no-summary always reads the layers. The JSON says what was
read per image (baseline_source: summary, cache, layers, none); the text says
it with --verbose.

--timeout bounds the whole run: a registry that stops answering fails it
(exit 2) instead of hanging CI.

Exit codes: 0 done (whatever changed; 1 with --exit-code when something
changed), 1 a fresh build fails its checks, 2 error, 3 a baseline is missing
from the registry: retry after the release images are published. On any error
nothing is written.

--format github appends changed=<comma list>, publish=<JSON array of
{name, repository, tag}>, broken=<comma list> and base_stale=<comma list> to
$GITHUB_OUTPUT and a markdown table to $GITHUB_STEP_SUMMARY (each printed when
its variable is unset). --format dotenv prints the same as short_sha=,
changed=, publish=, broken= and base_stale= lines for GitLab's
artifacts:reports:dotenv.

Past one runner: --shard K/N compares only the images of shard K of N (an
image's shard depends on its name and N only, so adding images moves no other
image), and --output FILE writes its result as JSON (as --format json prints
it). Every image outside the shard is absent from the result. imgver apply
then checks that the shards' results cover every image once and were made
from one commit, images.hcl and pin file, writes the pin file once, and prints
what one detect --write of every image would. --shard cannot go with --write.`,
		Example: `  imgver detect                                   # dry run: what would be unpinned
  imgver detect --write --format github --commit "$GITHUB_SHA"
  imgver detect --candidate api-gateway=oci:build/api-gateway --verbose
  imgver detect --format json | jq '.publish'
  imgver detect --shard 2/3 --output result-2.json --commit "$GITHUB_SHA"   # then: imgver apply result-*.json`,
		Args: cobra.NoArgs,
		RunE: o.ciFlags.onConfig(g, o.check, o.run),
	}
	o.ciFlags.bind(cmd, "compared")
	o.reportFlags.bind(cmd)
	f := cmd.Flags()
	f.BoolVar(&o.write, "write", false, "unpin the changed images in the pin file")
	f.StringVar(&o.platform, "platform", "", "compare only this platform of multi-platform images (os/arch[/variant])")
	f.BoolVar(&o.history, "history", false, "let history created_by differences count as changes")
	f.BoolVar(&o.noCheck, "no-check", false, "do not run imgver check on the candidates")
	f.BoolVar(&o.noBase, "no-base", false, "do not look up whether the Dockerfiles' base images are pinned-stale")
	f.BoolVar(&o.noSummary, "no-summary", false, "read the baselines' layers even where the registry holds their summaries")
	f.Var(&o.shard, "shard", "K/N: compare only the images of shard K of N (for imgver apply)")
	f.StringVar(&o.output, "output", "", "write the result of --shard as JSON to this file (for imgver apply)")
	o.cacheFlags.bind(cmd)
	return cmd
}

func (o *detectOptions) check() error {
	if o.output != "" && o.shard.N == 0 {
		return errors.New("--output writes the result of a shard: give --shard K/N too (or use --format json)")
	}
	return o.reportFlags.check()
}

func (o *detectOptions) run(ctx context.Context, cmd *cobra.Command, cfg *config.Config, sha string) error {
	lc, closeCache, err := o.cacheFlags.open(cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	defer closeCache()
	opts := flow.DetectOptions{
		Commit:     sha,
		Candidates: o.cands,
		Write:      o.write,
		Shard:      o.shard.Shard,
		Jobs:       o.jobs,
		Platform:   o.platform,
		History:    o.history,
		NoCheck:    o.noCheck,
		NoBase:     o.noBase,
		NoSummary:  o.noSummary,
		Remote:     remoteOptions(ctx),
	}
	if lc != nil {
		opts.LayerCache = lc
	}
	bar := newDetectBar(cmd.ErrOrStderr(), o.progress)
	if bar != nil {
		opts.Progress = bar
	}
	rep, err := flow.Detect(ctx, cfg, opts)
	bar.finish()
	if err != nil {
		return detectError(ctx, err)
	}
	if o.output != "" {
		if err := writeDetectJSON(o.output, rep, o.verbose); err != nil {
			return err
		}
	}
	return o.reportFlags.finish(cmd, rep)
}

// reportFlags are the flags of how detect and apply print the report: apply
// prints exactly what detect prints.
type reportFlags struct {
	format   *choiceFlag
	exitCode bool
	verbose  bool
}

func (r *reportFlags) bind(cmd *cobra.Command) {
	r.format = formatVar(cmd, "text", "json", "github", "dotenv")
	cmd.Flags().BoolVar(&r.exitCode, "exit-code", false, "exit 1 when an image changed")
	cmd.Flags().BoolVarP(&r.verbose, "verbose", "v", false, "list every difference (text), include the full comparison where the report holds it (json)")
}

// check checks, before anything is written, that the GitHub files the
// report goes to can be written.
func (r *reportFlags) check() error {
	return openableGitHubFiles(r.format, "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY")
}

// finish renders the report of detect or apply and maps it to an exit code:
// 1 when a candidate fails its checks, or (--exit-code) when an image
// changed.
func (r *reportFlags) finish(cmd *cobra.Command, rep *flow.DetectReport) error {
	renderDetectWarnings(cmd.ErrOrStderr(), rep)
	if err := renderDetect(cmd.OutOrStdout(), rep, r.format.value, r.verbose); err != nil {
		return err
	}
	if len(rep.Broken) > 0 {
		return withCode(exitChanged, fmt.Errorf("the candidates of %s fail imgver check: do not publish them", strings.Join(rep.Broken, ", ")))
	}
	if r.exitCode && len(rep.Changed) > 0 {
		return withCode(exitChanged, nil)
	}
	return nil
}

// detectError maps Detect's errors to exit codes: 3 when every error is a
// missing baseline, 2 otherwise. A run cut short by --timeout is exit 2
// whatever else failed, and says so.
func detectError(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return timedOut(ctx, err)
	}
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		var bm *flow.BaselineMissingError
		if !errors.As(e, &bm) {
			return err
		}
	}
	return withCode(exitBaselineMissing, err)
}
