package normalise

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
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

// Default returns the built-in normalisers, in the order they are tried.
func Default() []Normaliser {
	return []Normaliser{Pyc(), Zip(), Gzip(), Shadow()}
}

// ByName returns the built-in normalisers with the given names, in the order
// given, or an error naming the first unknown one.
func ByName(names ...string) ([]Normaliser, error) {
	all := Default()
	out := make([]Normaliser, 0, len(names))
next:
	for _, name := range names {
		for _, n := range all {
			if n.Name() == name {
				out = append(out, n)
				continue next
			}
		}
		return nil, fmt.Errorf("looking up normaliser %q: no such normaliser", name)
	}
	return out, nil
}

// newDigest returns a sha256 that has already absorbed the domain prefix of
// the normaliser called name, so that the digests of different kinds, and of
// different versions of one kind's canonical form, never collide.
func newDigest(name string) hash.Hash {
	h := sha256.New()
	h.Write([]byte("imgver/normalise/" + name + "/v1\n")) // a hash.Hash's Write never fails
	return h
}

// format renders a sha256 sum as "sha256:<hex>".
func format(sum []byte) string {
	return "sha256:" + hex.EncodeToString(sum)
}

// source records the first error other than io.EOF that its reader returns,
// so that a failure to read (a truncated layer, a cancelled pull) is told
// apart from content the normaliser does not understand.
type source struct {
	r   io.Reader
	err error
}

func (s *source) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

// classify turns an error met while parsing into the error Digest returns:
// the reader's own error as is (wrapped), anything else as ErrNotApplicable.
func classify(kind string, src *source, err error) error {
	if src.err != nil {
		return fmt.Errorf("reading %s: %w", kind, src.err)
	}
	if errors.Is(err, ErrNotApplicable) {
		return fmt.Errorf("parsing %s: %w", kind, err)
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("parsing %s: %w: %w", kind, ErrNotApplicable, err)
}
