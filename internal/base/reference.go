package base

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// reference is the image reference of a FROM, split into what imgver needs.
type reference struct {
	// repo is the repository; tag is the tag to check (the implied
	// "latest" when none is written), unset when the reference is
	// digest-only.
	repo name.Repository
	tag  name.Tag
	// hasTag is false for a digest-only reference (img@sha256:...).
	hasTag bool
	// implicitTag is true when no tag is written (FROM python).
	implicitTag bool
	// digest is the pinned digest, or empty.
	digest string
	// named is the reference as written without its digest, with the tag
	// made explicit: what update writes before "@".
	named string
}

// parseReference parses a FROM reference. ggcr's name package validates
// every part; a digest reference loses its tag there (name.NewDigest keeps
// only the repository), so the tag part is parsed on its own.
func parseReference(s string) (reference, error) {
	r, err := parseRef(s)
	if err != nil {
		return r, err
	}
	// ggcr checks the characters only; Docker's grammar also wants each
	// path component to start and end with a letter or digit, and the tag
	// to start with a word character ("python:-slim" is what an empty ARG
	// leaves of python:${V}-slim).
	if !pathRE.MatchString(r.repo.RepositoryStr()) {
		return r, fmt.Errorf("invalid repository %q: want lowercase path components separated by /", r.repo.RepositoryStr())
	}
	if r.hasTag && !tagRE.MatchString(r.tag.TagStr()) {
		return r, fmt.Errorf("invalid tag %q: a tag starts with a letter, digit or _", r.tag.TagStr())
	}
	return r, nil
}

func parseRef(s string) (reference, error) {
	var r reference
	base, _, pinned := strings.Cut(s, "@")
	if pinned {
		d, err := name.NewDigest(s)
		if err != nil {
			return r, err
		}
		r.digest = d.DigestStr()
		r.repo = d.Context()
		if _, err := name.NewRepository(base); err == nil {
			return r, nil // digest-only
		}
	}
	if repo, err := name.NewRepository(base); err == nil {
		// No tag written: the builder pulls "latest".
		t := repo.Tag("latest")
		r.repo, r.tag, r.hasTag, r.implicitTag, r.named = repo, t, true, true, base+":latest"
		return r, nil
	}
	t, err := name.NewTag(base)
	if err != nil {
		return r, err
	}

	r.repo, r.tag, r.hasTag, r.named = t.Context(), t, true, base
	return r, nil
}

// pathRE is the repository path of Docker's reference grammar.
var pathRE = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$`)

// tagRE is the tag of Docker's reference grammar.
var tagRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

// versionRE matches the leading version of a tag: "3.13" in "3.13-slim".
var versionRE = regexp.MustCompile(`^v?[0-9]+(\.[0-9]+)*`)

// mutableTag returns why tag is a shared, moving tag, or "" when it names
// one release: "latest", and tags with fewer than three version components
// ("20", "2.7", "3.13-slim", "bookworm") move to each new patch release.
func mutableTag(tag string) string {
	if tag == "latest" {
		return `"latest" moves with every release`
	}
	v := versionRE.FindString(tag)
	n := 0
	if v != "" {
		n = strings.Count(v, ".") + 1
	}
	switch n {
	case 0:
		return fmt.Sprintf("tag %q has no version number: it moves with each release", tag)
	case 1, 2:
		return fmt.Sprintf("tag %q has %d version component(s), fewer than 3: it is shared by patch releases and moves with them", tag, n)
	}
	return ""
}
