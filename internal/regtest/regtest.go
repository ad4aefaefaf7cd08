package regtest

import (
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Start starts a quiet in-process registry, stopped when the test ends, and
// returns its host:port.
func Start(t testing.TB) string {
	t.Helper()
	return StartBehind(t, nil)
}

// StartBehind is Start with every request going through wrap (when not nil)
// first: a fault injector, a request counter.
func StartBehind(t testing.TB, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	var h http.Handler = registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	if wrap != nil {
		h = wrap(h)
	}
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

// Artifact is what Push pushes: an image or an index.
type Artifact interface {
	remote.Taggable
	Digest() (v1.Hash, error)
}

// Push pushes an image or an index as ref and returns its digest.
func Push(t testing.TB, ref string, a Artifact) v1.Hash {
	t.Helper()
	if err := remote.Push(parse(t, ref), a); err != nil {
		t.Fatal(err)
	}
	d, err := a.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Tag points tag (a full reference, host/repo:tag, in any repository of the
// registry) at the manifest that ref names, copying what the manifest needs.
func Tag(t testing.TB, ref, tag string) {
	t.Helper()
	if err := crane.Copy(ref, tag); err != nil {
		t.Fatal(err)
	}
}

// Digest returns the digest of the manifest that ref names, and false when
// the registry has none (404).
func Digest(t testing.TB, ref string) (v1.Hash, bool) {
	t.Helper()
	desc, err := remote.Head(parse(t, ref))
	var te *transport.Error
	if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
		return v1.Hash{}, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return desc.Digest, true
}

func parse(t testing.TB, ref string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
