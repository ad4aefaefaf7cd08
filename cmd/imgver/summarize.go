package main

import (
	"github.com/spf13/cobra"

	"github.com/imgver/imgver/internal/detect"
	"github.com/imgver/imgver/internal/flow"
)

// summarizeOptions are the flags of imgver summarize.
type summarizeOptions struct {
	cacheFlags
	limitFlags
	format   *choiceFlag
	platform string
}

func newSummarizeCmd(_ *globalOptions) *cobra.Command {
	o := &summarizeOptions{}
	cmd := &cobra.Command{
		Use:   "summarize REF...",
		Short: "Attach summaries to images already in a registry",
		Long: `Read each registry image REF (every platform, or --platform) and attach the
summary of each platform image to it, as imgver publish does for the images it
pushes: an OCI artifact (artifactType application/vnd.imgver.summary.v1) whose
subject is the platform image's manifest, stored beside it in its repository
and listed by the registry's referrers API, or by the index tagged
sha256-<hex of the manifest digest> on a registry without it (distribution
2.8). imgver detect and imgver diff then judge the image from its summary,
without reading its layers. Use it to backfill releases published before
imgver attached summaries.

A summary is made with the rules of this imgver (its version of the rules,
the default content normalisers, the package report), from the local cache
of layer summaries where it has them (--cache-dir, --no-cache), else from the
layers: a summary already
there with the same bytes is left as it is ("exists"). Ignore globs, ignored
labels and history are applied when a summary is used, so one summary serves
every image config.

Formats: text (a table), json {schema_version, images: [{ref, summaries:
[{platform, subject, digest, bytes, status}]}]}.

Exit codes: 0 done, 2 error (a REF that is not a registry image, a registry
that refuses the push).`,
		Example: `  imgver summarize ghcr.io/acme/api-gateway:v3.4.0
  imgver summarize --format json localhost:5000/acme/console:v3.4.0 localhost:5000/acme/postgres:v3.4.0`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, args) },
	}
	o.format = formatVar(cmd, "text", "json")
	cmd.Flags().StringVar(&o.platform, "platform", "", "summarize only this platform of multi-platform images (os/arch[/variant])")
	o.limitFlags.bind(cmd, "read")
	o.cacheFlags.bind(cmd)
	return cmd
}

func (o *summarizeOptions) run(cmd *cobra.Command, refs []string) error {
	if err := o.limitFlags.check(); err != nil {
		return err
	}
	lc, closeCache, err := o.cacheFlags.open(cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	defer closeCache()
	so := flow.SummarizeOptions{Platform: o.platform, Jobs: o.jobs}
	if lc != nil {
		so.Detect = append(so.Detect, detect.WithLayerCache(lc))
	}
	ctx, cancel := o.context(cmd.Context())
	defer cancel()
	so.Remote = remoteOptions(ctx)
	rep, err := flow.Summarize(ctx, refs, so)
	if err != nil {
		return timedOut(ctx, err)
	}
	return renderSummarize(cmd.OutOrStdout(), rep, o.format.value)
}
