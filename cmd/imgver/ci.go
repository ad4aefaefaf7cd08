package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/imgver/imgver/internal/config"
)

// ciFlags are the flags of the CI commands (detect, publish).
type ciFlags struct {
	limitFlags
	commit     commitFlag
	candidates []string
	progress   bool

	cands map[string]string // --candidate NAME=REF, parsed by check
}

// bind defines the flags on cmd, whose images are done (compared, pushed)
// jobs at once.
func (c *ciFlags) bind(cmd *cobra.Command, done string) {
	c.commit.bind(cmd, "commit SHA the candidates were built from (default: git rev-parse HEAD)")
	cmd.Flags().StringArrayVar(&c.candidates, "candidate", nil, "NAME=REF: where the fresh build of image NAME is (repeatable)")
	cmd.Flags().BoolVar(&c.progress, "progress", false, "show progress on stderr even when it is not a terminal")
	c.limitFlags.bind(cmd, done)
}

// check checks the flags before anything is read.
func (c *ciFlags) check() error {
	if err := c.limitFlags.check(); err != nil {
		return err
	}
	var err error
	c.cands, err = parseCandidates(c.candidates)
	return err
}

// ciRun is the work of a CI command, given the config loaded once for the
// run, the context bounded by --timeout, and the commit (--commit, or git
// rev-parse HEAD).
type ciRun func(ctx context.Context, cmd *cobra.Command, cfg *config.Config, sha string) error

// onConfig is the RunE of a CI command: as globalOptions.onConfig, with the
// flags of c checked before check; then the context is bounded by --timeout
// and the commit of the monorepo found before run is called.
func (c *ciFlags) onConfig(g *globalOptions, check func() error, run ciRun) func(*cobra.Command, []string) error {
	checkAll := func() error {
		if err := c.check(); err != nil {
			return err
		}
		return check()
	}
	return g.onConfig(checkAll, func(cmd *cobra.Command, cfg *config.Config, _ []string) error {
		ctx, cancel := c.context(cmd.Context())
		defer cancel()
		sha, err := c.commit.resolve(ctx, cfg)
		if err != nil {
			return err
		}
		return run(ctx, cmd, cfg, sha)
	})
}

// parseCandidates reads --candidate NAME=REF flags.
func parseCandidates(flags []string) (map[string]string, error) {
	cands := map[string]string{}
	for _, c := range flags {
		n, ref, ok := strings.Cut(c, "=")
		if !ok || n == "" || ref == "" {
			return nil, fmt.Errorf("--candidate %q: want NAME=REF", c)
		}
		cands[n] = ref
	}
	return cands, nil
}

// timeoutError is the cause of a run cut short by --timeout.
type timeoutError struct{ after time.Duration }

func (e *timeoutError) Error() string { return fmt.Sprintf("timed out after %s (--timeout)", e.after) }

// timedOut says that a run was cut short by --timeout, unless err already
// does (ggcr wraps the cause); other errors are returned as they are.
func timedOut(ctx context.Context, err error) error {
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return err
	}
	if c := context.Cause(ctx); !errors.Is(err, c) {
		return fmt.Errorf("%w: %w", c, err)
	}
	return err
}
