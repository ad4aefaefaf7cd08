package release

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/imgver/imgver/internal/clip"
	"github.com/imgver/imgver/internal/config"
	"github.com/imgver/imgver/internal/pinfile"
)

// State is where an image stands in the pin file.
type State string

// The states of an image.
const (
	Pinned   State = "pinned"   // an automatic pin
	Manual   State = "manual"   // a manual (export) pin
	Unpinned State = "unpinned" // no pin: deploys under the commit SHA
)

// Status is one image's state.
type Status struct {
	Name       string `json:"name"`
	Var        string `json:"var"`
	State      State  `json:"state"`
	Version    string `json:"version"`
	Repository string `json:"repository"`
}

// UnknownVarError is a <VAR>_VER assignment of the pin file that no image
// of the config owns (VRO's own CURRENT_RELEASE_VER, say). It is a warning,
// never a reason to refuse the file: imgver keeps the line byte for byte.
type UnknownVarError struct {
	File string
	Line int
	Var  string
}

func (e *UnknownVarError) Error() string {
	return fmt.Sprintf("%s:%d: %s_VER pins no image of the config (no image has var %q); left as it is", e.File, e.Line, e.Var, e.Var)
}

// Owned is the pin file option that names the variables the images of cfg
// own: an assignment to any other NAME_VER variable is not a pin (see
// UnknownVars).
func Owned(cfg *config.Config) pinfile.Option {
	vars := make([]string, 0, len(cfg.Images))
	for _, im := range cfg.Images {
		vars = append(vars, im.Var)
	}
	return pinfile.Owned(vars...)
}

// UnknownVars returns the NAME_VER assignments of f, read with Owned, that
// no image owns.
func UnknownVars(f *pinfile.File) []*UnknownVarError {
	var out []*UnknownVarError
	for _, u := range f.Unowned() {
		out = append(out, &UnknownVarError{File: f.Name(), Line: u.Line, Var: u.Var})
	}
	return out
}

// Load reads the pin file of cfg.
func Load(cfg *config.Config) (*pinfile.File, error) {
	return pinfile.Read(cfg.PinFile, Owned(cfg))
}

// Statuses returns the state of every image of cfg, in config order.
func Statuses(cfg *config.Config, f *pinfile.File) []Status {
	out := make([]Status, 0, len(cfg.Images))
	for _, im := range cfg.Images {
		out = append(out, status(&im, f))
	}
	return out
}

func status(im *config.Image, f *pinfile.File) Status {
	s := Status{Name: im.Name, Var: im.Var, Repository: im.Repository, State: Unpinned}
	if p, ok := f.Lookup(im.Var); ok {
		s.Version = p.Version
		s.State = Pinned
		if p.Kind == pinfile.Manual {
			s.State = Manual
		}
	}
	return s
}

// VersionError is a version that does not match the release pattern.
type VersionError struct {
	Version, Pattern string
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("version %s does not match release_pattern %s", clip.Quote(e.Version), e.Pattern)
}

// ValidateVersion verifies that version can be pinned: it must be a valid
// image tag, and match the release pattern unless force is set.
func ValidateVersion(cfg *config.Config, version string, force bool) error {
	if !pinfile.ValidVersion(version) {
		return fmt.Errorf("version %s is not a valid image tag", clip.Quote(version))
	}
	if !force && !cfg.ReleasePattern.MatchString(version) {
		return &VersionError{Version: version, Pattern: cfg.ReleasePattern.String()}
	}
	return nil
}

// update runs change on the pin file of cfg under its lock.
func update(ctx context.Context, cfg *config.Config, change func(*pinfile.File) (bool, error)) error {
	return pinfile.Update(ctx, cfg.PinFile, change, Owned(cfg))
}

// Change is what a command did to one image.
type Change struct {
	Name   string `json:"name"`
	Before Status `json:"before"`
	After  Status `json:"after"`
}

// Pin pins the image called name to version, as a manual pin when manual is
// set. An existing pin of the image is replaced in place.
func Pin(ctx context.Context, cfg *config.Config, name, version string, manual, force bool, now time.Time) (Change, error) {
	ims, err := cfg.Lookup(name)
	if err != nil {
		return Change{}, err
	}
	if err := ValidateVersion(cfg, version, force); err != nil {
		return Change{}, err
	}
	im := ims[0]
	kind := pinfile.Auto
	if manual {
		kind = pinfile.Manual
	}
	var c Change
	err = update(ctx, cfg, func(f *pinfile.File) (bool, error) {
		c = Change{Name: im.Name, Before: status(im, f)}
		if err := f.Set(im.Var, version, kind, now); err != nil {
			return false, err
		}
		c.After = status(im, f)
		return c.After != c.Before, nil
	})
	return c, err
}

// Unpin removes the pins, automatic or manual, of the named images. An image
// that is not pinned is left alone and reported with equal Before and After.
func Unpin(ctx context.Context, cfg *config.Config, names []string) ([]Change, error) {
	return UnpinThen(ctx, cfg, names, nil)
}

// UnpinThen is Unpin that also calls then, when it is not nil, under the pin
// file's lock after the pins are removed and before the pin file is written:
// when then fails, the pin file is left as it was. It is for a change of
// other files that must not happen without the unpinning, or the other way
// round (imgver base update --unpin writes the Dockerfiles there).
func UnpinThen(ctx context.Context, cfg *config.Config, names []string, then func() error) ([]Change, error) {
	ims, err := cfg.Lookup(names...)
	if err != nil {
		return nil, err
	}
	var cs []Change
	err = update(ctx, cfg, func(f *pinfile.File) (bool, error) {
		var changed bool
		cs, changed = unpin(f, ims)
		if then != nil {
			if err := then(); err != nil {
				return false, err
			}
		}
		return changed, nil
	})
	return cs, err
}

// PinFileChangedError is returned by UnpinIfUnchanged when the pin file is
// no longer what the caller read: another imgver or a person changed it
// meanwhile. Nothing is written; the decision must be made again.
type PinFileChangedError struct {
	File string
}

func (e *PinFileChangedError) Error() string {
	return fmt.Sprintf("pin file %s changed while the run compared (another imgver or a hand edit): nothing written; run again", e.File)
}

// UnpinIfUnchanged unpins the named images as Unpin does, under the pin
// file's lock, only when the file is still byte for byte read, the file the
// caller decided on; otherwise it writes nothing and returns a
// *PinFileChangedError. With no names it only makes that check.
func UnpinIfUnchanged(ctx context.Context, cfg *config.Config, read *pinfile.File, names []string) ([]Change, error) {
	ims, err := cfg.Lookup(names...)
	if err != nil {
		return nil, err
	}
	var cs []Change
	err = update(ctx, cfg, func(f *pinfile.File) (bool, error) {
		if !bytes.Equal(f.Bytes(), read.Bytes()) {
			return false, &PinFileChangedError{File: cfg.PinFile}
		}
		var changed bool
		cs, changed = unpin(f, ims)
		return changed, nil
	})
	return cs, err
}

// unpin removes the pins of ims from f; it returns what happened to each
// image and whether f changed.
func unpin(f *pinfile.File, ims []*config.Image) ([]Change, bool) {
	cs := make([]Change, 0, len(ims))
	changed := false
	for _, im := range ims {
		c := Change{Name: im.Name, Before: status(im, f)}
		changed = f.Remove(im.Var) || changed
		c.After = status(im, f)
		cs = append(cs, c)
	}
	return cs, changed
}

// Release pins every unpinned image to version under one header; manual and
// automatic pins stay as they are. With dryRun it writes nothing. It returns
// the images it pinned (or would pin): none when run a second time.
func Release(ctx context.Context, cfg *config.Config, version string, dryRun bool, now time.Time) ([]Status, error) {
	if err := ValidateVersion(cfg, version, false); err != nil {
		return nil, err
	}
	var pinned []Status
	plan := func(f *pinfile.File) (bool, error) {
		pinned = pinned[:0]
		var pins []pinfile.Pin
		for _, im := range cfg.Images {
			if _, ok := f.Lookup(im.Var); ok {
				continue
			}
			pins = append(pins, pinfile.Pin{Var: im.Var, Version: version, Kind: pinfile.Auto})
			pinned = append(pinned, Status{Name: im.Name, Var: im.Var, State: Pinned, Version: version, Repository: im.Repository})
		}
		if err := f.AddBlock(pinfile.Header(now, version), pins); err != nil {
			return false, err
		}
		return !dryRun && len(pins) > 0, nil
	}
	if dryRun {
		f, err := Load(cfg)
		if err != nil {
			return nil, err
		}
		_, err = plan(f)
		return pinned, err
	}
	return pinned, update(ctx, cfg, plan)
}
