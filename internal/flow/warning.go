package flow

import (
	"errors"
	"fmt"

	"github.com/imgver/imgver/internal/base"
)

// Warning is something a run could not look at, or a remark on its input;
// it does not fail the run. It keeps its error's type for errors.As, and
// marshals as its message.
type Warning struct{ Err error }

func (w Warning) Error() string { return w.Err.Error() }

// Unwrap returns the error warned about.
func (w Warning) Unwrap() error { return w.Err }

// MarshalText is the message.
func (w Warning) MarshalText() ([]byte, error) { return []byte(w.Err.Error()), nil }

// UnmarshalText reads a message back (its type is lost).
func (w *Warning) UnmarshalText(b []byte) error {
	w.Err = errors.New(string(b))
	return nil
}

// NotBuiltError is the candidate of an unpinned image that was not built
// here: it is not checked.
type NotBuiltError struct {
	Candidate string
	Err       error
}

func (e *NotBuiltError) Error() string {
	return fmt.Sprintf("candidate %s not found: not checked", e.Candidate)
}

func (e *NotBuiltError) Unwrap() error { return e.Err }

// BaseUnknownError says that whether an image's bases are stale could not
// be looked up: its Dockerfile could not be read or parsed, or a base could
// not be resolved (a *base.ResolveError).
type BaseUnknownError struct{ Err error }

func (e *BaseUnknownError) Error() string {
	var re *base.ResolveError
	if errors.As(e.Err, &re) {
		return fmt.Sprintf("base images not checked: %s: %v", re.Ref, re.Err)
	}
	return fmt.Sprintf("base images not checked: %v", e.Err)
}

func (e *BaseUnknownError) Unwrap() error { return e.Err }
