package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/imgver/imgver/internal/config"
	"github.com/imgver/imgver/internal/flow"
	"github.com/imgver/imgver/internal/release"
)

// choiceFlag is the value of a flag that takes one of a few words (--format,
// --mode): any other word is refused when the flags are parsed, before
// anything is read, and the help lists the words.
type choiceFlag struct {
	value   string
	choices []string
}

var _ pflag.Value = (*choiceFlag)(nil)

// choiceVar defines the flag name on cmd, which takes one of choices (the
// first is the default); its help is usage followed by the choices.
func choiceVar(cmd *cobra.Command, name, usage string, choices ...string) *choiceFlag {
	c := &choiceFlag{value: choices[0], choices: choices}
	cmd.Flags().Var(c, name, usage+": "+orList(choices))
	if err := cmd.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(choices, cobra.ShellCompDirectiveNoFileComp)); err != nil {
		panic(err) // the flag is defined twice: a bug
	}
	return c
}

// formatVar defines --format on cmd, which takes one of formats (the first
// is the default).
func formatVar(cmd *cobra.Command, formats ...string) *choiceFlag {
	return choiceVar(cmd, "format", "output format", formats...)
}

func (c *choiceFlag) String() string { return c.value }

func (c *choiceFlag) Set(s string) error {
	if !slices.Contains(c.choices, s) {
		return fmt.Errorf("want %s", orList(c.choices))
	}
	c.value = s
	return nil
}

// Type is "string", so that the help shows the flag as it shows a string
// flag: --format string ... (default "text").
func (c *choiceFlag) Type() string { return "string" }

// orList is "a", "a or b", "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// commitFlag is --commit: the commit SHA a command works on, git rev-parse
// HEAD in the directory of images.hcl when it is not given.
type commitFlag struct {
	sha   string
	given bool
}

var _ pflag.Value = (*commitFlag)(nil)

// bind defines --commit on cmd with usage as its help.
func (c *commitFlag) bind(cmd *cobra.Command, usage string) {
	cmd.Flags().Var(c, "commit", usage)
}

func (c *commitFlag) String() string { return c.sha }

func (c *commitFlag) Set(s string) error {
	c.sha, c.given = s, true
	return nil
}

func (c *commitFlag) Type() string { return "string" }

// resolve returns the commit of the run: --commit, checked, else HEAD of the
// monorepo of cfg.
func (c *commitFlag) resolve(ctx context.Context, cfg *config.Config) (string, error) {
	return release.Commit(ctx, cfg.Dir, c.sha, c.given)
}

// shardFlag is --shard K/N, read when the flags are parsed; the zero value
// (no --shard, or an empty one) is every image.
type shardFlag struct {
	flow.Shard
}

var _ pflag.Value = (*shardFlag)(nil)

func (s *shardFlag) String() string {
	if s.N == 0 {
		return ""
	}
	return s.Shard.String()
}

func (s *shardFlag) Set(v string) error {
	if v == "" {
		s.Shard = flow.Shard{}
		return nil
	}
	sh, err := flow.ParseShard(v)
	if err != nil {
		return err
	}
	s.Shard = sh
	return nil
}

func (s *shardFlag) Type() string { return "string" }

// limitFlags are --jobs and --timeout, of the commands that read or push
// many images: how many at once, and for how long.
type limitFlags struct {
	jobs    int
	timeout time.Duration
}

// bind defines the flags on cmd, whose images are done (compared, pushed,
// read) --jobs at once.
func (l *limitFlags) bind(cmd *cobra.Command, done string) {
	cmd.Flags().IntVar(&l.jobs, "jobs", 0, "images "+done+" at once (default: number of CPUs)")
	cmd.Flags().DurationVar(&l.timeout, "timeout", 0, "give up after this long, e.g. 20m (default: no limit); a registry that stops answering then fails the run")
}

// check refuses a negative --jobs or --timeout.
func (l *limitFlags) check() error {
	if l.jobs < 0 {
		return fmt.Errorf("--jobs must be positive, not %d", l.jobs)
	}
	if l.timeout < 0 {
		return fmt.Errorf("--timeout must be positive, not %s", l.timeout)
	}
	return nil
}

// context bounds ctx by --timeout, with a cause that names it (timedOut).
// The caller must call cancel.
func (l *limitFlags) context(ctx context.Context) (context.Context, context.CancelFunc) {
	if l.timeout > 0 {
		return context.WithTimeoutCause(ctx, l.timeout, &timeoutError{l.timeout})
	}
	return context.WithCancel(ctx)
}
