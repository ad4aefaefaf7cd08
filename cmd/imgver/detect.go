package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/imgver/imgver/internal/base"
	"github.com/imgver/imgver/internal/check"
	"github.com/imgver/imgver/internal/config"
	"github.com/imgver/imgver/internal/detect"
	"github.com/imgver/imgver/internal/release"
)

// exitBaselineMissing: a pinned release is not in the registry yet.
const exitBaselineMissing = 3

type detectOptions struct {
	*globalOptions
	ciFlags
	write    bool
	exitCode bool
	verbose  bool
	platform string
	history  bool
	noCheck  bool
	noBase   bool
}

func newDetectCmd(g *globalOptions) *cobra.Command {
	o := &detectOptions{globalOptions: g}
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
run); with it the changed images are unpinned in one atomic write.

The candidate of an image is --candidate NAME=REF, else its candidate attribute
in images.hcl, where {name}, {var} and {sha} (the short SHA) are replaced.
References use skopeo's syntax: oci:DIR[:TAG], docker-archive:FILE,
docker-daemon:NAME:TAG, docker://REF or a bare registry reference.

--timeout bounds the whole run: a registry that stops answering fails it
(exit 2) instead of hanging CI.

Exit codes: 0 done (whatever changed; 1 with --exit-code when something
changed), 1 a fresh build fails its checks, 2 error, 3 a baseline is missing
from the registry: retry after the release images are published. On any error
nothing is written.

--format github appends changed=<comma list>, publish=<JSON array of
{name, repository, tag}>, broken=<comma list> and base_stale=<comma list> to
$GITHUB_OUTPUT and a markdown table to $GITHUB_STEP_SUMMARY (each printed when
its variable is unset).`,
		Example: `  imgver detect                                   # dry run: what would be unpinned
  imgver detect --write --format github --commit "$GITHUB_SHA"
  imgver detect --candidate api-gateway=oci:build/api-gateway --verbose
  imgver detect --format json | jq '.publish'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	f := cmd.Flags()
	f.StringVar(&o.commit, "commit", "", "commit SHA the candidates were built from (default: git rev-parse HEAD)")
	f.StringArrayVar(&o.candidates, "candidate", nil, "NAME=REF: where the fresh build of image NAME is (repeatable)")
	f.BoolVar(&o.write, "write", false, "unpin the changed images in the pin file")
	f.StringVar(&o.format, "format", "text", "output format: text, json or github")
	f.IntVar(&o.jobs, "jobs", 0, "images compared at once (default: number of CPUs)")
	f.BoolVar(&o.exitCode, "exit-code", false, "exit 1 when an image changed")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "list every difference (text), include the full comparison (json)")
	f.BoolVar(&o.progress, "progress", false, "show progress on stderr even when it is not a terminal")
	f.StringVar(&o.platform, "platform", "", "compare only this platform of multi-platform images (os/arch[/variant])")
	f.BoolVar(&o.history, "history", false, "let history created_by differences count as changes")
	f.BoolVar(&o.noCheck, "no-check", false, "do not run imgver check on the candidates")
	f.BoolVar(&o.noBase, "no-base", false, "do not look up whether the Dockerfiles' base images are pinned-stale")
	f.DurationVar(&o.timeout, "timeout", 0, "give up after this long, e.g. 20m (default: no limit); a registry that stops answering then fails the run")
	return cmd
}

func (o *detectOptions) run(cmd *cobra.Command) error {
	r, err := o.start(cmd, o.globalOptions, "text", "json", "github")
	if err != nil {
		return err
	}
	defer r.cancel()
	ctx, cfg, sha, cands := r.ctx, r.cfg, r.sha, r.cands
	bar := o.progressBar(cmd.ErrOrStderr(), cfg)
	cmpFor, err := o.comparers(ctx, cfg, bar)
	if err != nil {
		return err
	}
	bl := &release.BaseLayers{
		Snapshotter: func(im *config.Image) (release.Snapshotter, error) { return cmpFor(im) },
		Remote:      remoteOptions(ctx),
	}
	rep, err := release.Detect(ctx, cfg, release.DetectOptions{
		Commit:     sha,
		Candidates: cands,
		Write:      o.write,
		Jobs:       o.jobs,
		Compare: func(ctx context.Context, im *config.Image, a, b string) (*detect.Result, error) {
			c, err := cmpFor(im)
			if err != nil {
				return nil, err
			}
			return c.Diff(ctx, a, b)
		},
		BaseLayers: bl.Count,
		Check:      o.checkHook(cmpFor),
		BaseStale:  o.baseHook(ctx),
		Done: func(string) {
			if bar != nil {
				_ = bar.Add(1)
			}
		},
	})
	if bar != nil {
		_ = bar.Finish()
	}
	if err != nil {
		return detectError(ctx, err)
	}
	for _, di := range rep.Images {
		for _, w := range di.Warnings {
			fmt.Fprintf(cmd.ErrOrStderr(), "imgver: warning: image %s: %s\n", di.Name, w)
		}
	}
	if err := o.render(cmd.OutOrStdout(), rep); err != nil {
		return err
	}
	if len(rep.Broken) > 0 {
		return withCode(exitChanged, fmt.Errorf("the candidates of %s fail imgver check: do not publish them", strings.Join(rep.Broken, ", ")))
	}
	if o.exitCode && len(rep.Changed) > 0 {
		return withCode(exitChanged, nil)
	}
	return nil
}

// checkHook runs imgver check's checks on a candidate, with the Comparer
// that read it (so its layers are not read again).
func (o *detectOptions) checkHook(cmpFor func(*config.Image) (*detect.Comparer, error)) func(context.Context, *config.Image, string) ([]check.Problem, error) {
	if o.noCheck {
		return nil
	}
	return func(ctx context.Context, im *config.Image, cand string) ([]check.Problem, error) {
		c, err := cmpFor(im)
		if err != nil {
			return nil, err
		}
		reps, err := check.Run(ctx, c, cand, check.Options{})
		if err != nil {
			return nil, err
		}
		var ps []check.Problem
		for _, r := range reps {
			for _, p := range r.Problems {
				if len(reps) > 1 {
					p.Message = r.Platform + ": " + p.Message
				}
				ps = append(ps, p)
			}
		}
		return ps, nil
	}
}

// baseHook reports whether a base of the image's Dockerfile is pinned-stale
// (imgver base check).
func (o *detectOptions) baseHook(ctx context.Context) func(context.Context, *config.Image) (bool, error) {
	if o.noBase {
		return nil
	}
	opts := []base.Option{base.WithRemoteOptions(remoteOptions(ctx)...)}
	if o.platform != "" {
		opts = append(opts, base.WithPlatform(o.platform))
	}
	return func(ctx context.Context, im *config.Image) (bool, error) {
		results, err := base.Check(ctx, im, opts...)
		if err != nil {
			return false, err
		}
		for _, r := range results {
			if r.Status == base.StatusError {
				return false, fmt.Errorf("%s: %s", r.Ref, r.Error)
			}
		}
		return slices.ContainsFunc(results, func(r base.Result) bool { return r.Status == base.StatusPinnedStale }), nil
	}
}

// comparers returns the Comparer for each image: one per set of ignore
// globs, all sharing one cache of layer summaries, so a layer shared by
// several images (a common base) is read once in the whole run.
func (o *detectOptions) comparers(ctx context.Context, cfg *config.Config, bar *progressbar.ProgressBar) (func(*config.Image) (*detect.Comparer, error), error) {
	opts := []detect.Option{
		detect.WithBaseDir(cfg.Dir),
		detect.WithRemoteOptions(remoteOptions(ctx)...),
		detect.WithIgnore(cfg.Ignore...),
		detect.WithIgnoredLabels(cfg.IgnoreLabels...),
	}
	if o.jobs > 0 {
		opts = append(opts, detect.WithJobs(o.jobs))
	}
	if o.platform != "" {
		opts = append(opts, detect.WithPlatform(o.platform))
	}
	if o.history {
		opts = append(opts, detect.WithHistory())
	}
	if bar != nil {
		opts = append(opts, detect.WithProgress(func(p detect.Progress) {
			bar.Describe("comparing images, " + byteSize(p.Bytes) + " of layers read")
		}))
	}
	shared, err := detect.New(opts...)
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	byIgnores := map[string]*detect.Comparer{"": shared}
	return func(im *config.Image) (*detect.Comparer, error) {
		key := strings.Join(im.Ignore, "\x00")
		mu.Lock()
		defer mu.Unlock()
		if c, ok := byIgnores[key]; ok {
			return c, nil
		}
		c, err := shared.With(detect.WithIgnore(im.Ignore...))
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", im.Name, err)
		}
		byIgnores[key] = c
		return c, nil
	}, nil
}

// progressBar returns a bar of images compared on w when w is a terminal
// or --progress is set; nil otherwise.
func (o *detectOptions) progressBar(w io.Writer, cfg *config.Config) *progressbar.ProgressBar {
	if !o.progress && !isTerminal(w) {
		return nil
	}
	return progressbar.NewOptions(len(cfg.Images),
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("comparing images"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionClearOnFinish(),
	)
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
		var bm *release.BaselineMissingError
		if !errors.As(e, &bm) {
			return err
		}
	}
	return withCode(exitBaselineMissing, err)
}

func (o *detectOptions) render(w io.Writer, rep *release.DetectReport) error {
	if o.format == "json" {
		if !o.verbose {
			for i := range rep.Images {
				rep.Images[i].Result = nil
			}
		}
		return writeJSON(w, rep)
	}
	o.renderText(w, rep)
	if o.format != "github" {
		return nil
	}
	publish, err := jsonLine(rep.Publish)
	if err != nil {
		return err
	}
	if err := writeGitHubOutput(w, func(w io.Writer) {
		fmt.Fprintf(w, "changed=%s\n", strings.Join(rep.Changed, ","))
		fmt.Fprintf(w, "publish=%s\n", publish)
		fmt.Fprintf(w, "broken=%s\n", strings.Join(rep.Broken, ","))
		fmt.Fprintf(w, "base_stale=%s\n", strings.Join(rep.BaseStale, ","))
	}); err != nil {
		return err
	}
	return appendToEnvFile("GITHUB_STEP_SUMMARY", w, func(w io.Writer) { markdownSummary(w, rep) })
}

func (o *detectOptions) renderText(w io.Writer, rep *release.DetectReport) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "IMAGE\tBEFORE\tVERDICT\tCAUSE\tAFTER\tVERSION\tBASE\tCHECK")
	for _, di := range rep.Images {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", di.Name, stateVersion(di.StateBefore, di.VersionBefore), di.Verdict,
			dash(di.Cause), di.StateAfter, di.Version, baseText(di.BaseStale), checkText(di))
	}
	_ = tw.Flush()
	for _, di := range rep.Images {
		if len(di.Problems) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s fails imgver check (%s):\n", di.Name, di.Candidate)
		for _, p := range di.Problems {
			fmt.Fprintf(w, "  %-14s %s\n", p.Check, p.Message)
		}
	}
	for _, di := range rep.Images {
		if di.Verdict != detect.Changed {
			continue
		}
		fmt.Fprintf(w, "\n%s changed: %s\n", di.Name, di.Summary)
		reasons := di.Reasons
		if !o.verbose && len(reasons) > 5 {
			reasons = append(reasons[:5:5], fmt.Sprintf("... and %d more (--verbose lists them all)", len(di.Reasons)-5))
		}
		for _, r := range reasons {
			fmt.Fprintf(w, "  %s\n", r)
		}
	}
	fmt.Fprintln(w)
	switch {
	case len(rep.Changed) == 0:
		fmt.Fprintln(w, "No pinned image changed.")
	case rep.Written:
		fmt.Fprintf(w, "Unpinned in the pin file: %s.\n", strings.Join(rep.Changed, ", "))
	default:
		fmt.Fprintf(w, "Dry run: --write would unpin %s.\n", strings.Join(rep.Changed, ", "))
	}
	var pub []string
	for _, p := range rep.Publish {
		pub = append(pub, p.Name)
	}
	if len(pub) == 0 {
		fmt.Fprintln(w, "Nothing to publish.")
	} else {
		fmt.Fprintf(w, "To publish under %s: %s.\n", rep.ShortSHA, strings.Join(pub, ", "))
	}
	if len(rep.BaseStale) > 0 {
		fmt.Fprintf(w, "Stale base image (rebuilt upstream under its tag; imgver base update --unpin): %s.\n", strings.Join(rep.BaseStale, ", "))
	}
}

// baseText renders base_stale: "stale", "ok", or "-" when unknown.
func baseText(stale *bool) string {
	switch {
	case stale == nil:
		return "-"
	case *stale:
		return "stale"
	}
	return "ok"
}

// checkText renders the check outcome: "ok", "FAILED", or "-" when the
// candidate was not checked.
func checkText(di release.DetectImage) string {
	switch {
	case len(di.Problems) > 0:
		return "FAILED"
	case !di.Checked:
		return "-"
	}
	return "ok"
}

func markdownSummary(w io.Writer, rep *release.DetectReport) {
	fmt.Fprintf(w, "### imgver detect (%s)\n\n", rep.ShortSHA)
	fmt.Fprintln(w, "| image | before | verdict | cause | after | version | base | check | summary |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
	for _, di := range rep.Images {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", di.Name, stateVersion(di.StateBefore, di.VersionBefore),
			di.Verdict, dash(di.Cause), di.StateAfter, di.Version, baseText(di.BaseStale), checkText(di), strings.ReplaceAll(di.Summary, "|", "\\|"))
	}
	fmt.Fprintln(w)
}

func stateVersion(s release.State, v string) string {
	if v == "" {
		return string(s)
	}
	return string(s) + " " + v
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
