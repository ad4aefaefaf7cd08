package base

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/imgver/imgver/internal/config"
	"github.com/imgver/imgver/internal/textdiff"
	"github.com/imgver/imgver/internal/userfile"
)

// Plan is what Update would do: the results it acted on and the new content
// of every Dockerfile that changes.
type Plan struct {
	Reports []Report
	Files   []FileChange
}

// FileChange is the old and new content of one Dockerfile.
type FileChange struct {
	Path     string
	Old, New []byte
}

// UnresolvedError is returned by Update when some reference could not be
// resolved; it holds those results. Nothing is to be written then.
type UnresolvedError struct {
	Results []Result
}

func (e *UnresolvedError) Error() string {
	msg := e.Results[0].Err.Error()
	if len(e.Results) == 1 {
		return msg
	}
	return fmt.Sprintf("%s (and %d more)", msg, len(e.Results)-1)
}

// Unwrap returns the error of each unresolved result.
func (e *UnresolvedError) Unwrap() []error {
	errs := make([]error, len(e.Results))
	for i, r := range e.Results {
		errs[i] = r.Err
	}
	return errs
}

// Update resolves imgs (as Resolve) and plans the rewrite of every FROM
// that NeedsUpdate to name:tag@digest, where digest is what the tag points
// to now: the index digest for a multi-platform tag (as Renovate pins), so
// the pin stays valid for every platform. A FROM that cannot be rewritten
// in place (its reference comes from an ARG) is left alone and keeps its
// NotUpdatable reason. When any reference cannot be resolved, Update returns
// the plan (for reporting) and an *UnresolvedError, and the plan must not be
// written. Nothing is written here: see Plan.Write.
func (rv *Resolver) Update(ctx context.Context, imgs []*config.Image) (*Plan, error) {
	reps, err := rv.Resolve(ctx, imgs)
	if err != nil {
		return nil, err
	}
	p := &Plan{Reports: reps}
	var bad []Result
	edits := map[string]map[int]string{}
	files := map[string]*Dockerfile{}
	var order []string
	for _, rep := range reps {
		for _, r := range rep.Results {
			if r.Status == StatusError {
				bad = append(bad, r)
				continue
			}
			if !r.NeedsUpdate() || r.NotUpdatable != "" {
				continue
			}
			ref, err := parseReference(rep.file.Froms[r.from].Ref)
			if err != nil {
				return nil, err // parsed once already in Resolve
			}
			if _, ok := edits[r.Dockerfile]; !ok {
				edits[r.Dockerfile] = map[int]string{}
				files[r.Dockerfile] = rep.file
				order = append(order, r.Dockerfile)
			}
			edits[r.Dockerfile][r.from] = ref.named + "@" + r.Current
		}
	}
	if len(bad) > 0 {
		return p, &UnresolvedError{Results: bad}
	}
	for _, path := range order {
		df := files[path]
		out, err := df.Rewrite(edits[path])
		if err != nil {
			return p, fmt.Errorf("rewriting %s: %w", path, err)
		}
		if string(out) != string(df.Data) {
			p.Files = append(p.Files, FileChange{Path: path, Old: df.Data, New: out})
		}
	}
	return p, nil
}

// ErrModified is returned by Plan.Write when a Dockerfile changed on disk
// after Update read it.
var ErrModified = errors.New("the file changed since it was read")

// writeFile writes a user's file atomically, keeping its mode, owner and
// group, through a symlink (see package userfile). Tests replace it.
var writeFile = func(path string, data []byte) error {
	return userfile.WriteFile(path, data, 0o644)
}

// Write writes every changed Dockerfile atomically. It first checks that
// each still holds what Update read (else ErrModified, nothing written); if
// writing one fails, the ones already written are put back, so that either
// every file changes or none does.
func (p *Plan) Write() error {
	for _, f := range p.Files {
		cur, err := userfile.ReadFile(f.Path)
		if err != nil {
			return fmt.Errorf("reading %s: %w", f.Path, err)
		}
		if !bytes.Equal(cur, f.Old) {
			return fmt.Errorf("writing %s: %w", f.Path, ErrModified)
		}
	}
	for i, f := range p.Files {
		if err := writeFile(f.Path, f.New); err != nil {
			errs := []error{fmt.Errorf("writing %s: %w", f.Path, err)}
			for _, w := range p.Files[:i] {
				if err := writeFile(w.Path, w.Old); err != nil {
					errs = append(errs, fmt.Errorf("restoring %s: %w", w.Path, err))
				}
			}
			return errors.Join(errs...)
		}
	}
	return nil
}

// Diff returns a unified diff of old and new (textdiff.Unified), naming
// the files a/name and b/name (name itself when it is absolute). It is
// empty when they are equal.
func Diff(name string, old, updated []byte) string {
	nameA, nameB := "a/"+name, "b/"+name
	if filepath.IsAbs(name) {
		nameA, nameB = name, name
	}
	return textdiff.Unified(nameA, nameB, string(old), string(updated))
}
