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

// A MemberDigester is a Normaliser of archives that hands over, while it
// digests, the members that name packages: Zip's Maven pom.properties.
type MemberDigester interface {
	Normaliser
	// DigestMembers is Digest that also calls fn with the content of
	// each such member (at most 64 KiB of it), in the archive and in the
	// archives nested in it; fn may be nil.
	DigestMembers(r io.Reader, fn func(content []byte)) (string, error)
}

var _ MemberDigester = zipNormaliser{}

// Default returns the built-in normalisers, in the order they are tried.
func Default() []Normaliser {
	return []Normaliser{Pyc(), Zip(), Gzip(), Shadow(), Manifest(), BuildInfo(), Gem()}
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

// canonNormaliser is a Normaliser whose digest is the domain-prefixed sha256 (see
// newDigest) of a canonical form that canon writes to it while it reads the
// content: the shape of every normaliser but zip.
type canonNormaliser struct {
	name  string
	match func(p string, size int64) bool
	// canon reads the content from r and writes its canonical form to w; an
	// error it returns is classified (see classify).
	canon func(r io.Reader, w hash.Hash) error
}

func (c canonNormaliser) Name() string { return c.name }

func (c canonNormaliser) Match(p string, size int64) bool { return c.match(p, size) }

func (c canonNormaliser) Digest(r io.Reader) (string, error) {
	src := NewSource(r)
	h := newDigest(c.name)
	if err := c.canon(src, h); err != nil {
		return "", classify(c.name, src, err)
	}
	return format(h.Sum(nil)), nil
}

// newDigest returns a sha256 that has already absorbed the domain prefix of
// the normaliser called name, so that the digests of different kinds, and of
// different versions of one kind's canonical form, never collide.
func newDigest(name string) hash.Hash {
	h := sha256.New()
	h.Write([]byte(fmt.Sprintf("imgver/normalise/%s/v%d\n", name, max(1, formVersions[name])))) // a hash.Hash's Write never fails
	return h
}

// formVersions are the versions of the canonical forms that changed since
// v1: zip's when manifests and build-info.properties in archives began to be
// normalised.
var formVersions = map[string]int{"zip": 2}

// format renders a sha256 sum as "sha256:<hex>".
func format(sum []byte) string {
	return "sha256:" + hex.EncodeToString(sum)
}

// Source records the first error other than io.EOF that its reader returns,
// so that a failure to read (a truncated layer, a cancelled pull) is told
// apart from content a normaliser does not understand. detect reads every
// normalised file through one, and so does each normaliser.
type Source struct {
	r   io.Reader
	err error
}

// NewSource returns a Source reading from r.
func NewSource(r io.Reader) *Source { return &Source{r: r} }

func (s *Source) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

// Err returns the first error other than io.EOF read so far, or nil.
func (s *Source) Err() error { return s.err }

// classify turns an error met while parsing into the error Digest returns:
// the reader's own error as is (wrapped), anything else as ErrNotApplicable.
func classify(kind string, src *Source, err error) error {
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
