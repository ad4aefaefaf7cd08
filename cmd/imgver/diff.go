package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/imgver/imgver/internal/config"
	"github.com/imgver/imgver/internal/detect"
	"github.com/imgver/imgver/internal/detect/normalise"
	"github.com/imgver/imgver/internal/packages"
)

// detectFlags are the change-detection flags diff and fingerprint share.
type detectFlags struct {
	g                *globalOptions
	ignore           []string
	noDefaultIgnores bool
	history          bool
	platform         string
	noNormalise      []string
	image            string
}

func (d *detectFlags) bind(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringArrayVar(&d.ignore, "ignore", nil, "also ignore paths matching `GLOB` (doublestar syntax, e.g. /opt/app/cache/**); repeatable")
	fl.BoolVar(&d.noDefaultIgnores, "no-default-ignores", false, "switch off the built-in noise rules and ignored labels")
	fl.BoolVar(&d.history, "history", false, "count differences in the history's created_by lines as a change")
	fl.StringVar(&d.platform, "platform", "", "compare only `os/arch[/variant]` of multi-platform images")
	fl.StringArrayVar(&d.noNormalise, "no-normalise", nil, "switch off the content normaliser `NAME` ("+normaliserNames()+"); repeatable")
	fl.StringVar(&d.image, "image", "", "apply the ignore globs of image `NAME` in images.hcl")
}

// comparer builds the Comparer of diff and fingerprint from the flags,
// images.hcl and the command's own extra options, with a bar of the layers read on stderr when it is a terminal;
// done removes the bar.
func (d *detectFlags) comparer(cmd *cobra.Command, extra ...detect.Option) (c *detect.Comparer, done func(), err error) {
	opts, err := d.options()
	if err != nil {
		return nil, nil, err
	}
	opts = append(opts, extra...)
	var bar *progressbar.ProgressBar
	if w := cmd.ErrOrStderr(); isTerminal(w) {
		opts = append(opts, detect.WithProgress(func(p detect.Progress) {
			if bar == nil {
				bar = progressbar.NewOptions(p.Total, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription("reading layers"),
					progressbar.OptionShowCount(), progressbar.OptionClearOnFinish())
			}
			bar.ChangeMax(p.Total)
			_ = bar.Set(p.Done)
		}))
	}
	if c, err = detect.New(opts...); err != nil {
		return nil, nil, err
	}
	return c, func() {
		if bar != nil {
			_ = bar.Finish()
		}
	}, nil
}

// options turns the flags and images.hcl (when one is found) into detect
// options.
func (d *detectFlags) options() ([]detect.Option, error) {
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
func (d *detectFlags) loadConfig() (*config.Config, error) {
	cfg, err := d.g.load()
	if errors.Is(err, config.ErrNotFound) && d.g.configPath == "" {
		return nil, nil
	}
	return cfg, err
}

type diffOptions struct {
	detectFlags
	format string
}

func newDiffCmd(g *globalOptions) *cobra.Command {
	o := &diffOptions{detectFlags: detectFlags{g: g}}
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
reference. Multi-platform images are compared platform by platform.

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
	cmd.Flags().StringVar(&o.format, "format", "text", "output `FORMAT`: text or json")
	return cmd
}

func (o *diffOptions) run(cmd *cobra.Command, a, b string) error {
	if err := checkFormat(o.format, "text", "json"); err != nil {
		return err
	}
	c, done, err := o.comparer(cmd, detect.WithPackages())
	if err != nil {
		return err
	}
	res, err := c.Diff(cmd.Context(), a, b)
	done()
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if o.format == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		err = enc.Encode(res)
	} else {
		err = writeText(out, res)
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

// rulesHelp lists the default noise rules for --help.
func rulesHelp() string {
	var b strings.Builder
	for _, r := range detect.DefaultRules {
		fmt.Fprintf(&b, "  %-19s %s\n", r.Name, strings.Join(r.Globs, " "))
	}
	fmt.Fprintf(&b, "  %-19s %s\n", detect.PycacheRule, "*.pyc whose sibling .py exists and is unchanged")
	return b.String()
}

// writeText renders res for people.
func writeText(w io.Writer, res *detect.Result) error {
	ew := &errWriter{w: w}
	ew.printf("%s\n", strings.ToUpper(res.Verdict))
	if res.Changed() {
		writePackages(ew, res.Packages)
	}
	ignored := detect.IgnoredSummary{Rules: map[string]int{}}
	labels := map[string]bool{}
	for _, p := range res.Platforms {
		ignored.Paths += p.Ignored.Paths
		for r, n := range p.Ignored.Rules {
			ignored.Rules[r] += n
		}
		for _, l := range p.Ignored.Labels {
			labels[l] = true
		}
		writePlatform(ew, p, len(res.Platforms) > 1)
	}
	if ignored.Paths > 0 || len(labels) > 0 {
		var parts []string
		for _, r := range slices.Sorted(maps.Keys(ignored.Rules)) {
			parts = append(parts, fmt.Sprintf("%s %d", r, ignored.Rules[r]))
		}
		noun := "paths"
		if ignored.Paths == 1 {
			noun = "path"
		}
		line := fmt.Sprintf("ignored noise: %d differing %s", ignored.Paths, noun)
		if len(parts) > 0 {
			line += " (" + strings.Join(parts, ", ") + ")"
		}
		if len(labels) > 0 {
			line += "; labels " + strings.Join(slices.Sorted(maps.Keys(labels)), ", ")
		}
		ew.printf("%s\n", line)
	}
	return ew.err
}

// writePackages renders the package changes, or says there are none.
func writePackages(ew *errWriter, cs []packages.Change) {
	if len(cs) == 0 {
		ew.printf("packages: none\n")
		return
	}
	ew.printf("packages:\n")
	for _, c := range cs {
		ew.printf("  %s\n", c)
	}
}

func writePlatform(ew *errWriter, p *detect.PlatformResult, many bool) {
	indent := ""
	if many {
		ew.printf("platform %s: %s\n", p.Platform, strings.ToUpper(p.Verdict))
		indent = "  "
	}
	if p.OnlyIn != "" {
		ew.printf("%splatform %s is only in %s\n", indent, p.Platform, strings.ToUpper(p.OnlyIn))
		return
	}
	layers := func(fc *detect.FileChange) string {
		var s []string
		if fc.LayerA >= 0 {
			s = append(s, fmt.Sprintf("A layer %d", fc.LayerA))
		}
		if fc.LayerB >= 0 {
			s = append(s, fmt.Sprintf("B layer %d", fc.LayerB))
		}
		if len(s) == 0 {
			return ""
		}
		return " [" + strings.Join(s, ", ") + "]"
	}
	if len(p.Added) > 0 {
		ew.printf("%sfiles added:\n", indent)
		for _, fc := range p.Added {
			ew.printf("%s  + %s (%s)%s\n", indent, fc.Path, describeEntry(fc.B), layers(fc))
		}
	}
	if len(p.Removed) > 0 {
		ew.printf("%sfiles removed:\n", indent)
		for _, fc := range p.Removed {
			ew.printf("%s  - %s (%s)%s\n", indent, fc.Path, describeEntry(fc.A), layers(fc))
		}
	}
	if len(p.Modified) > 0 {
		ew.printf("%sfiles modified:\n", indent)
		for _, fc := range p.Modified {
			var ch []string
			for _, c := range fc.Changes {
				ch = append(ch, fmt.Sprintf("%s %s -> %s", c.Field, orNone(c.A), orNone(c.B)))
			}
			ew.printf("%s  ~ %s: %s%s\n", indent, fc.Path, strings.Join(ch, "; "), layers(fc))
			if fc.Diff != "" {
				for _, l := range strings.SplitAfter(strings.TrimSuffix(fc.Diff, "\n"), "\n") {
					ew.printf("%s      %s", indent, l)
				}
				ew.printf("\n")
			}
		}
	}
	if len(p.Config) > 0 {
		ew.printf("%sconfig:\n", indent)
		for _, c := range p.Config {
			ew.printf("%s  ~ %s: %s -> %s\n", indent, c.Field, orNone(c.A), orNone(c.B))
		}
	}
	if len(p.History) > 0 {
		if p.HistoryCounts {
			ew.printf("%shistory:\n", indent)
		} else {
			ew.printf("%shistory (not counted; --history counts it):\n", indent)
		}
		for _, h := range p.History {
			ew.printf("%s  ~ #%d: %s -> %s\n", indent, h.Index, orNone(quote(h.A)), orNone(quote(h.B)))
		}
	}
}

// describeEntry renders an entry briefly: "file 0644 0:0 12 bytes".
func describeEntry(e *detect.Entry) string {
	if e == nil {
		return ""
	}
	s := fmt.Sprintf("%s %04o %d:%d", e.Type, e.Mode, e.UID, e.GID)
	switch {
	case e.Type == detect.TypeFile && e.Hardlink != "":
		s += " hard link to " + e.Hardlink
	case e.Type == detect.TypeFile:
		s += fmt.Sprintf(" %d bytes", e.Size)
	case e.Type == detect.TypeSymlink:
		s += " -> " + e.Link
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func quote(s string) string {
	if s == "" {
		return ""
	}
	return fmt.Sprintf("%q", s)
}

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
