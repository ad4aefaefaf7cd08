package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/imgver/imgver/internal/config"
	"github.com/imgver/imgver/internal/flow"
	"github.com/imgver/imgver/internal/release"
)

// ciFlags are the flags of the CI commands (detect, publish).
type ciFlags struct {
	commit     string
	candidates []string
	format     string
	jobs       int
	timeout    time.Duration
	progress   bool

	cands map[string]string // --candidate NAME=REF, parsed by check
}

// ciRun is what a CI command runs with, made by ciFlags.start.
type ciRun struct {
	ctx    context.Context // bounded by --timeout
	cancel context.CancelFunc
	sha    string // --commit, or git rev-parse HEAD
}

// check checks the flags (--format one of formats) before anything is read.
func (c *ciFlags) check(formats ...string) error {
	if err := checkCIFormat(c.format, formats...); err != nil {
		return err
	}
	if c.jobs < 0 {
		return fmt.Errorf("--jobs must be positive, not %d", c.jobs)
	}
	if c.timeout < 0 {
		return fmt.Errorf("--timeout must be positive, not %s", c.timeout)
	}
	var err error
	c.cands, err = parseCandidates(c.candidates)
	return err
}

// start bounds the command's context by --timeout and finds the commit of
// the monorepo of cfg. The caller must call cancel.
func (c *ciFlags) start(cmd *cobra.Command, cfg *config.Config) (*ciRun, error) {
	r := &ciRun{}
	r.ctx, r.cancel = context.WithCancel(cmd.Context())
	if c.timeout > 0 {
		r.ctx, r.cancel = context.WithTimeoutCause(cmd.Context(), c.timeout, &timeoutError{c.timeout})
	}
	var err error
	if r.sha, err = release.Commit(r.ctx, cfg.Dir, c.commit, cmd.Flags().Changed("commit")); err != nil {
		r.cancel()
		return nil, err
	}
	return r, nil
}

// checkCIFormat rejects a --format value not in formats and, for github,
// $GITHUB_OUTPUT or $GITHUB_STEP_SUMMARY that cannot be appended to: found
// before anything is written, not after.
func checkCIFormat(format string, formats ...string) error {
	if err := checkFormat(format, formats...); err != nil {
		return err
	}
	if format == "github" {
		return openableEnvFiles("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY")
	}
	return nil
}

// parseShard reads --shard K/N; "" is every image.
func parseShard(s string) (flow.Shard, error) {
	if s == "" {
		return flow.Shard{}, nil
	}
	sh, err := flow.ParseShard(s)
	if err != nil {
		return flow.Shard{}, fmt.Errorf("--shard: %w", err)
	}
	return sh, nil
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
