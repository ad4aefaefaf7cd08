package regtest

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
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
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Push(r, a); err != nil {
		t.Fatal(err)
	}
	d, err := a.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}
