package regtest

import (
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Start starts a quiet in-process registry, stopped when the test ends, and
// returns its host:port. opts are the registry's own (the referrers API:
// registry.WithReferrersSupport).
func Start(t testing.TB, opts ...registry.Option) string {
	t.Helper()
	return StartBehind(t, nil, opts...)
}

// StartBehind is Start with every request going through wrap (when not nil)
// first: a fault injector, a request counter.
func StartBehind(t testing.TB, wrap func(http.Handler) http.Handler, opts ...registry.Option) string {
	t.Helper()
	var h http.Handler = registry.New(append([]registry.Option{registry.Logger(log.New(io.Discard, "", 0))}, opts...)...)
	if wrap != nil {
		h = wrap(h)
	}
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

// Count returns a wrap for StartBehind that counts the requests match
// accepts, and the count so far.
func Count(match func(*http.Request) bool) (func(http.Handler) http.Handler, *atomic.Int64) {
	n := new(atomic.Int64)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if match(r) {
				n.Add(1)
			}
			next.ServeHTTP(w, r)
		})
	}, n
}

// Real returns the address of the real registry scripts/test.sh starts
// (IMGVER_E2E_REGISTRY). The end-to-end tests are skipped only when it is
// unset; a registry that is named but does not answer fails them.
func Real(t testing.TB) string {
	t.Helper()
	addr := os.Getenv("IMGVER_E2E_REGISTRY")
	if addr == "" {
		t.Skip("IMGVER_E2E_REGISTRY is not set; scripts/test.sh starts a registry and sets it")
	}
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + addr + "/v2/") //nolint:gosec // G704: the test registry the test runner named
	if err != nil {
		t.Fatalf("IMGVER_E2E_REGISTRY=%s does not answer: %v", addr, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("IMGVER_E2E_REGISTRY=%s: GET /v2/ gave %s", addr, resp.Status)
	}
	return addr
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
