package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/imgver/imgver/internal/config"
	"github.com/imgver/imgver/internal/detect"
	"github.com/imgver/imgver/internal/detect/normalise"
	"github.com/imgver/imgver/internal/flow"
)

// diffFlags are the flags of imgver diff, which fingerprint shares: the
// rules of change detection.
type diffFlags struct {
	g *globalOptions
	cacheFlags
	ignore           []string
	noDefaultIgnores bool
	history          bool
	platform         string
	noNormalise      []string
	image            string
	noSummary        bool
}

func (d *diffFlags) bind(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringArrayVar(&d.ignore, "ignore", nil, "also ignore paths matching `GLOB` (doublestar syntax, e.g. /opt/app/cache/**); repeatable")
	fl.BoolVar(&d.noDefaultIgnores, "no-default-ignores", false, "switch off the built-in noise rules and ignored labels")
	fl.BoolVar(&d.history, "history", false, "count differences in the history's created_by lines as a change")
	fl.StringVar(&d.platform, "platform", "", "compare only `os/arch[/variant]` of multi-platform images")
	fl.StringArrayVar(&d.noNormalise, "no-normalise", nil, "switch off the content normaliser `NAME` ("+normaliserNames()+"); repeatable")
	fl.StringVar(&d.image, "image", "", "apply the ignore globs of image `NAME` in images.hcl")
	fl.BoolVar(&d.noSummary, "no-summary", false, "read the layers of registry images even where the registry holds their summaries")
	d.cacheFlags.bind(cmd)
}

// comparer builds the Comparer of diff and fingerprint from the flags and
// images.hcl, with the local cache and a bar of the layers read on stderr
// when it is a terminal; done removes the bar and closes the cache.
func (d *diffFlags) comparer(cmd *cobra.Command, extra ...detect.Option) (c *detect.Comparer, done func(), err error) {
	opts, err := d.options()
	if err != nil {
		return nil, nil, err
	}
	opts = append(opts, extra...)
	if !d.noSummary {
		opts = append(opts, detect.WithSummaries(flow.Summaries(remoteOptions(cmd.Context()))))
	}
	lc, closeCache, err := d.cacheFlags.open(cmd.ErrOrStderr())
	if err != nil {
		return nil, nil, err
	}
	if lc != nil {
		opts = append(opts, detect.WithLayerCache(lc))
	}
	bar, removeBar := layersBar(cmd.ErrOrStderr())
	if c, err = detect.New(append(opts, bar...)...); err != nil {
		closeCache()
		return nil, nil, err
	}
	return c, func() { removeBar(); closeCache() }, nil
}

// options turns the flags and images.hcl (when one is found) into detect
// options.
func (d *diffFlags) options() ([]detect.Option, error) {
	cfg, err := d.loadConfig()
	if err != nil {
		return nil, err
	}
	var opts []detect.Option
	if cfg != nil {
		opts = append(opts, detect.WithIgnore(cfg.Ignore...), detect.WithIgnoredLabels(cfg.IgnoreLabels...))
	}
	if d.image != "" {
		if cfg == nil {
			return nil, fmt.Errorf("--image %s needs images.hcl: %w", d.image, config.ErrNotFound)
		}
		ims, err := cfg.Lookup(d.image)
		if err != nil {
			return nil, err
		}
		opts = append(opts, detect.WithIgnore(ims[0].Ignore...))
	}
	opts = append(opts, detect.WithIgnore(d.ignore...), detect.WithPlatform(d.platform), detect.WithoutNormalisers(d.noNormalise...))
	if d.noDefaultIgnores {
		opts = append(opts, detect.WithoutDefaultIgnores())
	}
	if d.history {
		opts = append(opts, detect.WithHistory())
	}
	return opts, nil
}

// loadConfig loads images.hcl if --config names one or one is found; diff
// and fingerprint work without it.
func (d *diffFlags) loadConfig() (*config.Config, error) {
	cfg, err := d.g.load()
	if errors.Is(err, config.ErrNotFound) && d.g.configPath == "" {
		return nil, nil
	}
	return cfg, err
}

type diffOptions struct {
	diffFlags
	format *choiceFlag
}

func newDiffCmd(g *globalOptions) *cobra.Command {
	o := &diffOptions{diffFlags: diffFlags{g: g}}
	cmd := &cobra.Command{
		Use:   "diff A B",
		Short: "Tell whether two images run the same thing",
		Long: `diff compares the normalised file systems and runtime configs of two images
and says SAME or CHANGED, with every difference and its reason. A change is
explained first by the packages it upgrades, downgrades, adds or removes
(deb, apk, python, npm, gem, maven, go), read from the package databases as
the layers stream by; they never decide the verdict.

Images are named in skopeo's transport syntax: oci:DIR[:TAG], oci:DIR@DIGEST,
docker-archive:FILE, docker-daemon:NAME:TAG, docker://REF or a bare registry
reference. Multi-platform images are compared platform by platform. A
registry image with a summary attached (imgver publish, imgver summarize)
made with the same rules is judged from it, without reading its layers
(--no-summary reads them); source_a and source_b in the JSON say which.

Never compared: mtimes, user and group names, tar layout, layer split,
compression, manifest annotations and media types, created dates, and these
noise paths (--no-default-ignores counts them; --ignore adds globs; the
"ignore" lists of images.hcl apply when one is found):

` + rulesHelp() + `
Exit status: 0 same, 1 changed, 2 error.`,
		Example: `  # A rebuild against the released image
  imgver diff oci:out/api registry.example.test/api:v1.4.0

  # Only amd64, as JSON, ignoring a cache dir
  imgver diff --platform linux/amd64 --format json --ignore '/srv/cache/**' \
      docker-archive:old.tar docker-archive:new.tar`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd, args[0], args[1])
		},
	}
	o.bind(cmd)
	o.format = formatVar(cmd, "text", "json")
	return cmd
}

func (o *diffOptions) run(cmd *cobra.Command, a, b string) error {
	c, done, err := o.comparer(cmd, detect.WithPackages())
	if err != nil {
		return err
	}
	res, err := c.Diff(cmd.Context(), a, b)
	done()
	if err != nil {
		return err
	}
	for _, p := range res.Platforms {
		for _, w := range p.Warnings {
			warnf(cmd.ErrOrStderr(), "%s", w)
		}
	}
	out := cmd.OutOrStdout()
	if o.format.value == "json" {
		err = writeJSON(out, res)
	} else {
		err = renderDiffText(out, res)
	}
	if err != nil {
		return err
	}
	if res.Changed() {
		return withCode(exitChanged, nil)
	}
	return nil
}

// normaliserNames lists the built-in content normalisers.
func normaliserNames() string {
	var names []string
	for _, n := range normalise.Default() {
		names = append(names, n.Name())
	}
	return strings.Join(names, ", ")
}

// rulesHelp lists the built-in noise rules for --help.
func rulesHelp() string {
	var b strings.Builder
	for _, r := range detect.BuiltinRules() {
		fmt.Fprintf(&b, "  %-19s %s\n", r.Name, r.Summary())
	}
	return b.String()
}
