package release

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strings"

	"github.com/imgver/imgver/internal/clip"
	"github.com/imgver/imgver/internal/config"
	"github.com/imgver/imgver/internal/pinfile"
)

// Source says where a deployed version comes from.
type Source string

// The sources of a version, strongest first.
const (
	FromEnv    Source = "env"    // an explicit <var>_VER in the environment
	FromPin    Source = "pin"    // an automatic pin
	FromManual Source = "manual" // a manual pin
	FromCommit Source = "commit" // the short commit SHA
)

// Var is the version one image deploys with.
type Var struct {
	Name     string `json:"name"`
	Variable string `json:"variable"`
	Version  string `json:"version"`
	Source   Source `json:"source"`
}

var shaRE = regexp.MustCompile(`^[0-9a-f]+$`)

// ShortSHA checks sha and returns its first cfg.SHALength characters.
func ShortSHA(cfg *config.Config, sha string) (string, error) {
	if err := CheckCommit(sha); err != nil {
		return "", err
	}
	if len(sha) < cfg.SHALength {
		return "", fmt.Errorf("commit %q is shorter than sha_length %d", sha, cfg.SHALength)
	}
	return sha[:cfg.SHALength], nil
}

// ErrEmptyCommit is returned for a commit given as "" (--commit
// "$GITHUB_SHA" with the variable unset): HEAD is not silently taken then.
var ErrEmptyCommit = errors.New(`commit is empty (an unset $GITHUB_SHA?): give a commit SHA, or leave --commit out to use HEAD`)

// CheckCommit returns an error unless sha is a commit SHA as git prints
// one: 4 to 40 lowercase hexadecimal digits, or 64 in a SHA-256 repository.
func CheckCommit(sha string) error {
	switch {
	case sha == "":
		return ErrEmptyCommit
	case !shaRE.MatchString(sha):
		return fmt.Errorf("commit %s is not a commit SHA (lowercase hexadecimal digits)", clip.Quote(sha))
	case len(sha) < 4 || len(sha) > 40 && len(sha) != 64:
		return fmt.Errorf("commit %s has %d hexadecimal digits: a commit SHA has 4 to 40 (64 in a SHA-256 repository)", clip.Quote(sha), len(sha))
	}
	return nil
}

// Commit returns the commit a command works with: sha when the user gave
// one (given, even when empty: an unset variable is an error, not HEAD),
// else `git rev-parse HEAD` run in dir.
func Commit(ctx context.Context, dir, sha string, given bool) (string, error) {
	if !given {
		return HeadCommit(ctx, dir)
	}
	if err := CheckCommit(sha); err != nil {
		return "", err
	}
	return sha, nil
}

// HeadCommit returns `git rev-parse HEAD` run in dir.
func HeadCommit(ctx context.Context, dir string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", "rev-parse", "HEAD")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			// git's first line says what is wrong; the rest is advice.
			first, _, _ := strings.Cut(strings.TrimSpace(string(ee.Stderr)), "\n")
			return "", fmt.Errorf("finding the commit with git rev-parse HEAD in %s (use --commit): %s", dir, first)
		}
		return "", fmt.Errorf("finding the commit with git rev-parse HEAD (use --commit): %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// Resolve returns the version every image of cfg deploys with, in config
// order: an explicit <var>_VER from env (only when env is not nil) beats a
// pin, which beats the short commit SHA.
func Resolve(cfg *config.Config, f *pinfile.File, sha string, env func(string) (string, bool)) ([]Var, error) {
	short, err := ShortSHA(cfg, sha)
	if err != nil {
		return nil, err
	}
	out := make([]Var, 0, len(cfg.Images))
	for _, im := range cfg.Images {
		v := Var{Name: im.Name, Variable: im.PinVar(), Version: short, Source: FromCommit}
		if p, ok := f.Lookup(im.Var); ok {
			v.Version, v.Source = p.Version, FromPin
			if p.Kind == pinfile.Manual {
				v.Source = FromManual
			}
		}
		if env != nil {
			if e, ok := env(im.PinVar()); ok && e != "" {
				if !pinfile.ValidVersion(e) {
					return nil, fmt.Errorf("environment override %s=%q is not a valid image tag", im.PinVar(), e)
				}
				v.Version, v.Source = e, FromEnv
			}
		}
		out = append(out, v)
	}
	return out, nil
}
