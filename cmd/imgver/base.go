package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/imgver/imgver/internal/base"
	"github.com/imgver/imgver/internal/config"
	"github.com/imgver/imgver/internal/release"
)

// baseOptions are the flags of imgver base check and update.
type baseOptions struct {
	g        *globalOptions
	format   string
	platform string
	dryRun   bool
	unpin    bool
}

// baseJSONSchema documents --format json; keep it in step with
// base.Report and base.Result.
const baseJSONSchema = `With --format json, stdout is one object:

  {
    "images": [{
      "image": "api-gateway",
      "dockerfile": "demo/api-gateway/Dockerfile",   (absent with "skipped")
      "skipped": "no dockerfile",                     (only when skipped)
      "bases": [{
        "image": "api-gateway", "dockerfile": "...", "line": 2,
        "stage": "build",                  (AS name, if any)
        "ref": "python:${V}-slim",         (as written)
        "resolved": "python:3.13-slim",    (after ARG substitution, if different)
        "platform": "linux/amd64",
        "status": "pinned-current|pinned-stale|unpinned|digest-only|error",
        "match": "index|manifest|platform|index-moved",   (pinned-current only)
        "pinned": "sha256:...",            (the digest in the FROM)
        "current": "sha256:...",           (what the tag points to now)
        "current_platform": "sha256:...",  (the platform's manifest, for an index)
        "created": "2026-01-02T03:04:05Z", (pinned-stale: the new image's config)
        "warnings": [{"kind": "mutable-tag", "message": "..."}],
        "not_updatable": "...",            (why update cannot pin it in place)
        "error": "..."
      }]
    }],
    "files": [{"path": "...", "diff": "..."}]   (update only: files changed, or
                                                  to be changed with --dry-run)
  }`

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
				return fmt.Errorf("%s: unknown command %q (want check or update; see %s --help)", cmd.CommandPath(), args[0], cmd.CommandPath())
			}
			return cmd.Help()
		},
	}
	cmd.AddCommand(newBaseCheckCmd(g), newBaseUpdateCmd(g))
	return cmd
}

func (o *baseOptions) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.format, "format", "text", "output format: text, json or github")
	cmd.Flags().StringVar(&o.platform, "platform", base.DefaultPlatform, "platform the images are built for, for FROMs without --platform")
}

func newBaseCheckCmd(g *globalOptions) *cobra.Command {
	o := &baseOptions{g: g}
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
		RunE: func(cmd *cobra.Command, args []string) error { return o.runCheck(cmd, args) },
	}
	o.addFlags(cmd)
	return cmd
}

func newBaseUpdateCmd(g *globalOptions) *cobra.Command {
	o := &baseOptions{g: g}
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
		RunE: func(cmd *cobra.Command, args []string) error { return o.runUpdate(cmd, args) },
	}
	o.addFlags(cmd)
	cmd.Flags().BoolVar(&o.dryRun, "dry-run", false, "print a unified diff of the changes and write nothing")
	cmd.Flags().BoolVar(&o.unpin, "unpin", false, "also unpin (automatic pins only) the images whose base is pinned-stale, so that they are rebuilt")
	return cmd
}

// validate checks the flags and turns them into options for package base.
func (o *baseOptions) validate(ctx context.Context) ([]base.Option, error) {
	if err := checkFormat(o.format, "text", "json", "github"); err != nil {
		return nil, err
	}
	if o.format == "github" {
		if err := openableEnvFiles("GITHUB_OUTPUT"); err != nil {
			return nil, err
		}
	}
	return []base.Option{base.WithPlatform(o.platform), base.WithRemoteOptions(remoteOptions(ctx)...)}, nil
}

// images returns the named images, or all of them.
func (o *baseOptions) images(names []string) ([]*config.Image, error) {
	cfg, err := o.g.load()
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		names = cfg.Names()
	}
	return cfg.Lookup(names...)
}

// prepare validates the flags and looks up the named images (all when none
// is named).
func (o *baseOptions) prepare(cmd *cobra.Command, names []string) ([]base.Option, []*config.Image, error) {
	opts, err := o.validate(cmd.Context())
	if err != nil {
		return nil, nil, err
	}
	imgs, err := o.images(names)
	if err != nil {
		return nil, nil, err
	}
	return opts, imgs, nil
}

func (o *baseOptions) runCheck(cmd *cobra.Command, args []string) error {
	opts, imgs, err := o.prepare(cmd, args)
	if err != nil {
		return err
	}
	reps, err := base.CheckImages(cmd.Context(), imgs, opts...)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	switch o.format {
	case "json":
		if err := writeBaseJSON(out, reps, nil); err != nil {
			return err
		}
	case "github":
		stale, unpinned := imagesWith(reps, base.StatusPinnedStale), imagesWith(reps, base.StatusUnpinned)
		if err := writeGitHubOutput(out, func(w io.Writer) {
			fmt.Fprintf(w, "stale=%s\nunpinned=%s\n", strings.Join(stale, ","), strings.Join(unpinned, ","))
		}); err != nil {
			return err
		}
	default:
		writeBaseText(out, reps)
	}
	return baseExit(reps)
}

func (o *baseOptions) runUpdate(cmd *cobra.Command, args []string) error {
	opts, imgs, err := o.prepare(cmd, args)
	if err != nil {
		return err
	}
	plan, err := base.Update(cmd.Context(), imgs, opts...)
	var ue *base.UnresolvedError
	if err != nil && !errors.As(err, &ue) {
		return err
	}
	out := cmd.OutOrStdout()
	if ue != nil {
		// Show what was found, then fail: nothing is written.
		switch o.format {
		case "text":
			writeBaseText(out, plan.Reports)
		case "json":
			if err := writeBaseJSON(out, plan.Reports, nil); err != nil {
				return err
			}
		}
		errs := make([]error, 0, len(ue.Results)+1)
		for _, r := range ue.Results {
			errs = append(errs, resolveErr(r))
		}
		errs = append(errs, errors.New("no Dockerfile was changed"))
		return withCode(exitError, errors.Join(errs...))
	}
	switch {
	case o.unpin:
		// The Dockerfiles are written under the pin file's lock, before the
		// pin file: if they cannot be written, neither is the pin file.
		if err := o.unpinStale(cmd, plan.Reports, plan.Write); err != nil {
			return err
		}
	case !o.dryRun:
		if err := plan.Write(); err != nil {
			return err
		}
	}
	switch o.format {
	case "json":
		if err := writeBaseJSON(out, plan.Reports, plan.Files); err != nil {
			return err
		}
	case "github":
		var names []string
		for _, r := range plan.Reports {
			if slices.ContainsFunc(plan.Files, func(f base.FileChange) bool { return f.Path == r.Dockerfile }) {
				names = append(names, r.Image)
			}
		}
		if err := writeGitHubOutput(out, func(w io.Writer) { fmt.Fprintf(w, "updated=%s\n", strings.Join(names, ",")) }); err != nil {
			return err
		}
	default:
		if o.dryRun {
			for _, f := range plan.Files {
				fmt.Fprint(out, base.Diff(relToWD(f.Path), f.Old, f.New))
			}
		} else {
			writeUpdateText(out, plan)
		}
	}
	if o.dryRun && len(plan.Files) > 0 {
		return withCode(exitChanged, nil)
	}
	if o.dryRun {
		return nil
	}
	var left []string
	for _, rep := range plan.Reports {
		for _, r := range rep.Results {
			if r.NeedsUpdate() && r.NotUpdatable != "" {
				left = append(left, fmt.Sprintf("%s:%d: %s", relToWD(r.Dockerfile), r.Line, r.Ref))
			}
		}
	}
	if len(left) > 0 {
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

// imagesWith returns the names of the images with a base of status s.
func imagesWith(reps []base.Report, s base.Status) []string {
	var names []string
	for _, rep := range reps {
		if slices.ContainsFunc(rep.Results, func(r base.Result) bool { return r.Status == s }) {
			names = append(names, rep.Image)
		}
	}
	return names
}

func writeBaseJSON(out io.Writer, reps []base.Report, files []base.FileChange) error {
	type file struct {
		Path string `json:"path"`
		Diff string `json:"diff"`
	}
	doc := struct {
		Images []base.Report `json:"images"`
		Files  []file        `json:"files,omitempty"`
	}{Images: reps}
	for i := range doc.Images {
		rep := &doc.Images[i]
		rep.Dockerfile = relToWD(rep.Dockerfile)
		rs := slices.Clone(rep.Results)
		for j := range rs {
			rs[j].Dockerfile = relToWD(rs[j].Dockerfile)
		}
		rep.Results = rs
	}
	for _, f := range files {
		p := relToWD(f.Path)
		doc.Files = append(doc.Files, file{Path: p, Diff: base.Diff(p, f.Old, f.New)})
	}
	return writeJSON(out, doc)
}

// writeBaseText prints one block per base, then a count of each status.
func writeBaseText(out io.Writer, reps []base.Report) {
	counts := map[base.Status]int{}
	for _, rep := range reps {
		if rep.Skipped != "" {
			fmt.Fprintf(out, "%s: skipped: %s\n", rep.Image, rep.Skipped)
			continue
		}
		if len(rep.Results) == 0 {
			fmt.Fprintf(out, "%s: %s: no base images\n", rep.Image, relToWD(rep.Dockerfile))
		}
		for _, r := range rep.Results {
			counts[r.Status]++
			fmt.Fprintf(out, "%s: %s:%d: %s: %s\n", r.Image, relToWD(r.Dockerfile), r.Line, r.Ref, describe(r))
			if r.Resolved != "" {
				fmt.Fprintf(out, "    resolved: %s\n", r.Resolved)
			}
			switch r.Status {
			case base.StatusPinnedStale:
				fmt.Fprintf(out, "    pinned:   %s\n", r.Pinned)
				fmt.Fprintf(out, "    current:  %s\n", current(r))
				if r.Created != nil {
					fmt.Fprintf(out, "    created:  %s\n", r.Created.Format(time.RFC3339))
				}
			case base.StatusUnpinned:
				fmt.Fprintf(out, "    current:  %s\n", current(r))
			}
			if r.NotUpdatable != "" && r.Status != base.StatusError && r.Status != base.StatusDigestOnly {
				fmt.Fprintf(out, "    not updatable: %s\n", r.NotUpdatable)
			}
			for _, w := range r.Warnings {
				fmt.Fprintf(out, "    warning: %s: %s\n", w.Kind, w.Message)
			}
		}
	}
	var parts []string
	total := 0
	for _, s := range []base.Status{base.StatusPinnedCurrent, base.StatusPinnedStale, base.StatusUnpinned, base.StatusDigestOnly, base.StatusError} {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
			total += counts[s]
		}
	}
	if total > 0 {
		fmt.Fprintf(out, "%s: %s\n", plural(total, "base"), strings.Join(parts, ", "))
	}
}

// describe is the status of r with what it means.
func describe(r base.Result) string {
	switch r.Status {
	case base.StatusPinnedCurrent:
		switch r.Match {
		case base.MatchIndex:
			return "pinned-current (the index digest)"
		case base.MatchManifest:
			return "pinned-current (the manifest digest)"
		case base.MatchPlatform:
			return "pinned-current (the " + r.Platform + " manifest in the index)"
		case base.MatchIndexMoved:
			return "pinned-current (an earlier index; its " + r.Platform + " image is unchanged, the index changed for other platforms: update refreshes the pin)"
		}
		return "pinned-current"
	case base.StatusPinnedStale:
		return "pinned-stale (the tag now points to another " + r.Platform + " image)"
	case base.StatusUnpinned:
		return "unpinned (a mutable tag without digest)"
	case base.StatusDigestOnly:
		return "digest-only (no tag: cannot be checked for staleness)"
	case base.StatusError:
		return "error: " + r.Error
	}
	return string(r.Status)
}

// current describes the digests the tag points to now.
func current(r base.Result) string {
	if r.CurrentPlatform != "" {
		return fmt.Sprintf("%s (index), %s (%s)", r.Current, r.CurrentPlatform, r.Platform)
	}
	return r.Current
}

// writeUpdateText says which FROMs were pinned and which could not be.
func writeUpdateText(out io.Writer, plan *base.Plan) {
	changed := map[string]bool{}
	for _, f := range plan.Files {
		changed[f.Path] = true
	}
	seen := map[string]bool{} // a Dockerfile shared by images is told once
	n := 0
	for _, rep := range plan.Reports {
		if rep.Skipped != "" {
			fmt.Fprintf(out, "%s: skipped: %s\n", rep.Image, rep.Skipped)
			continue
		}
		for _, r := range rep.Results {
			key := fmt.Sprintf("%s:%d", r.Dockerfile, r.Line)
			if !r.NeedsUpdate() || seen[key] {
				continue
			}
			seen[key] = true
			if r.NotUpdatable != "" {
				fmt.Fprintf(out, "%s: %s:%d: %s: not updated: %s\n", r.Image, relToWD(r.Dockerfile), r.Line, r.Ref, r.NotUpdatable)
				continue
			}
			if changed[r.Dockerfile] {
				n++
				fmt.Fprintf(out, "%s: %s:%d: %s: pinned to %s\n", r.Image, relToWD(r.Dockerfile), r.Line, r.Ref, r.Current)
			}
		}
	}
	fmt.Fprintf(out, "%s pinned in %s\n", plural(n, "base"), plural(len(plan.Files), "file"))
}

// plural is "1 base", "2 bases".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// unpinStale unpins the automatically pinned images whose base is
// pinned-stale and calls write (the Dockerfiles') under the pin file's lock;
// with --dry-run it only says which it would unpin and writes nothing.
func (o *baseOptions) unpinStale(cmd *cobra.Command, reps []base.Report, write func() error) error {
	stale := imagesWith(reps, base.StatusPinnedStale)
	if o.dryRun {
		write = func() error { return nil }
	}
	if len(stale) == 0 {
		return write()
	}
	cfg, err := o.g.load()
	if err != nil {
		return err
	}
	f, err := release.Load(cfg)
	if err != nil {
		return err
	}
	var auto []string
	for _, s := range release.Statuses(cfg, f) {
		if slices.Contains(stale, s.Name) {
			switch s.State {
			case release.Pinned:
				auto = append(auto, s.Name)
			case release.Manual:
				fmt.Fprintf(cmd.ErrOrStderr(), "imgver: %s has a stale base but a manual pin: left pinned\n", s.Name)
			}
		}
	}
	if len(auto) == 0 {
		return write()
	}
	if o.dryRun {
		fmt.Fprintf(cmd.ErrOrStderr(), "imgver: would unpin %s (stale base)\n", strings.Join(auto, ", "))
		return nil
	}
	cs, err := release.UnpinThen(cmd.Context(), cfg, auto, write)
	if err != nil {
		return err
	}
	for _, c := range cs {
		fmt.Fprintf(cmd.ErrOrStderr(), "imgver: %s (stale base)\n", describeChange(c))
	}
	return nil
}
