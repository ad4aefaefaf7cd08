// Package normalise computes digests of file contents that ignore the bytes a
// rebuild changes without changing what the file means: the source mtime in a
// .pyc header, entry timestamps in a zip or jar, the mtime and name in a gzip
// header, the last-password-change day in /etc/shadow.
package normalise

import (
	"errors"
	"io"
)

// ErrNotApplicable is wrapped by Digest when the content is not of the
// normaliser's kind (a ".jar" that is not a zip); the caller then compares
// the raw bytes instead.
var ErrNotApplicable = errors.New("content not of this kind")

// A Normaliser computes the normalised digest of one kind of file.
type Normaliser interface {
	// Name is the rule name shown in output and used to switch it off.
	Name() string
	// Match reports whether the normaliser applies to the regular file at
	// path (absolute, in the image, e.g. "/app/x.pyc") of the given size.
	Match(path string, size int64) bool
	// Digest reads the content from r and returns "sha256:<hex>" of its
	// normalised form. It may stop reading before EOF: the caller drains r.
	// On content it does not understand it returns an error wrapping
	// ErrNotApplicable. It never holds the whole content in memory.
	Digest(r io.Reader) (string, error)
}

// Default returns the built-in normalisers.
func Default() []Normaliser {
	return nil
}
