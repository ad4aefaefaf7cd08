package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/imgver/imgver/internal/config"
)

// Exit codes, as diff(1): 0 same or ok, 1 differs or found, 2 trouble.
const (
	exitOK      = 0
	exitChanged = 1
	exitError   = 2
)

// exitCodeError carries an exit code other than exitError up to run. A nil
// Err means: print nothing, just exit with Code.
type exitCodeError struct {
	Code int
	Err  error
}

func (e *exitCodeError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *exitCodeError) Unwrap() error { return e.Err }

// withCode makes err exit with code.
func withCode(code int, err error) error { return &exitCodeError{Code: code, Err: err} }

// run executes imgver with args and returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if ctx.Err() != nil {
		// A signal: whatever the command made of it, the run is not a
		// success (a detect that gave up on a lookup must not say
		// "publish" with exit 0).
		printError(stderr, interrupted(ctx, err))
		return exitError
	}
	if err == nil {
		return exitOK
	}
	var ce *exitCodeError
	if errors.As(err, &ce) {
		if ce.Err != nil {
			printError(stderr, ce.Err)
		}
		return ce.Code
	}
	printError(stderr, err)
	return exitError
}

// interrupted is the error of a run ended by a signal: err when it says
// more than that the context was cancelled, else the signal.
func interrupted(ctx context.Context, err error) error {
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return fmt.Errorf("interrupted: %w", context.Cause(ctx))
}

// printError prints the one clear line first, then any detail (a config
// diagnostic's source snippet).
func printError(w io.Writer, err error) {
	fmt.Fprintf(w, "imgver: %s\n", strings.TrimSpace(err.Error()))
	var de *config.DiagnosticsError
	if errors.As(err, &de) {
		fmt.Fprintln(w)
		_ = de.Render(w)
	}
}

// globalOptions are the flags every command has.
type globalOptions struct {
	configPath string
	pinFile    string
}

// load finds and loads the config, applying --pin-file.
func (g *globalOptions) load() (*config.Config, error) {
	path := g.configPath
	if path == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		p, err := config.Find(wd)
		if err != nil {
			return nil, err
		}
		path = relToWD(p)
	}
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	if g.pinFile != "" {
		cfg.PinFile = g.pinFile
	}
	// Messages name the pin file as the user sees it (list did already).
	cfg.PinFile = relToWD(cfg.PinFile)
	return cfg, nil
}

// configRun is the work of a command on images.hcl, given the config loaded
// once for the run.
type configRun func(cmd *cobra.Command, cfg *config.Config, args []string) error

// onConfig is the RunE of every command that works on images.hcl: check
// (when not nil) validates the flags before anything is read, then the config
// is loaded (--config, --pin-file) and handed to run.
func (g *globalOptions) onConfig(check func() error, run configRun) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if check != nil {
			if err := check(); err != nil {
				return err
			}
		}
		cfg, err := g.load()
		if err != nil {
			return err
		}
		return run(cmd, cfg, args)
	}
}

func newRootCmd() *cobra.Command {
	g := &globalOptions{}
	root := &cobra.Command{
		Use:   "imgver",
		Short: "Manage the versions of a monorepo's container images",
		Long: `imgver keeps each image of a monorepo either pinned to a release version
(not rebuilt, not rescanned, deployed at that version) or unpinned (published
under the short commit SHA), in a bash pin file that deployments source.

Exit codes follow diff(1): 0 ok or same, 1 changed or problem found, 2 error.`,
		Example: `  imgver list
  imgver detect --write --format github --commit "$GITHUB_SHA"
  imgver release v1.2.3 --retag
  imgver diff oci:build/api docker://ghcr.io/acme/api:v1.2.2`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.PersistentFlags().StringVar(&g.configPath, "config", "", "path of images.hcl (default: images.hcl in this directory or the nearest parent)")
	root.PersistentFlags().StringVar(&g.pinFile, "pin-file", "", "path of the pin file (default: pin_file in images.hcl)")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return fmt.Errorf("%w (see %s --help)", err, cmd.CommandPath())
	})
	root.AddCommand(
		newListCmd(g),
		newPinCmd(g),
		newUnpinCmd(g),
		newReleaseCmd(g),
		newVarsCmd(g),
		newDetectCmd(g),
		newApplyCmd(g),
		newCheckCmd(g),
		newBaseCmd(g),
		newDiffCmd(g),
		newFingerprintCmd(g),
		newPublishCmd(g),
		newSummarizeCmd(g),
		newVersionCmd(),
		newCompletionCmd(),
	)
	wrapArgs(root)
	return root
}

// wrapArgs makes the argument errors of every command name the command and
// its usage line.
func wrapArgs(cmd *cobra.Command) {
	if v := cmd.Args; v != nil {
		cmd.Args = func(cmd *cobra.Command, args []string) error {
			if err := v(cmd, args); err != nil {
				return fmt.Errorf("%w (usage: %s)", err, cmd.UseLine())
			}
			return nil
		}
	}
	for _, c := range cmd.Commands() {
		wrapArgs(c)
	}
}

// relToWD returns p relative to the working directory when it lies below it,
// so that messages name files as the user sees them.
func relToWD(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	if r, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}
