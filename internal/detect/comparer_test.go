package detect

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgver/imgver/internal/imagetest"
	"github.com/imgver/imgver/internal/regtest"
)

// TestWithSharesLayerCache: a Comparer made With other ignore rules reads
// no layer again that its parent read; one with other normalisers does.
func TestWithSharesLayerCache(t *testing.T) {
	wrap, blobGets := regtest.Count(func(r *http.Request) bool {
		return r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/sha256:")
	})
	host := regtest.StartBehind(t, wrap)
	base := []f{dir("etc"), file("etc/os-release", "debian"), file("var/log/x.log", "1")}
	a := spec{layers: [][]f{base, {file("app/run", "v1")}}}.image(t)
	b := spec{layers: [][]f{base, {file("app/run", "v2")}}}.image(t)
	regtest.Push(t, host+"/x/a:1", a)
	regtest.Push(t, host+"/x/b:1", b)

	c := newComparer(t)
	diffWith(t, c, host+"/x/a:1", host+"/x/b:1")
	first := blobGets.Load()
	if first == 0 {
		t.Fatal("no blob was read")
	}
	d, err := c.With(WithIgnore("/app/**"))
	if err != nil {
		t.Fatal(err)
	}
	res := diffWith(t, d, host+"/x/a:1", host+"/x/b:1")
	if res.Changed() {
		t.Error("With(WithIgnore) did not apply its ignore rule")
	}
	configsAndLayers := blobGets.Load() - first
	// Only the two configs may be fetched again, no layer.
	if configsAndLayers > 2 {
		t.Errorf("With read %d blobs again, want at most the 2 configs", configsAndLayers)
	}
	e, err := c.With(WithoutNormalisers("gzip"))
	if err != nil {
		t.Fatal(err)
	}
	before := blobGets.Load()
	diffWith(t, e, host+"/x/a:1", host+"/x/b:1")
	if blobGets.Load()-before <= 2 {
		t.Error("a Comparer with other normalisers used the shared cache")
	}
}

// TestProgressBytes: Progress.Bytes counts the stored bytes of every layer
// blob read, each shared layer once, and a Comparer made With other ignore
// rules adds nothing for layers already read.
func TestProgressBytes(t *testing.T) {
	host := regtest.Start(t)
	base := []f{dir("etc"), file("etc/os-release", strings.Repeat("debian ", 500))}
	a := spec{layers: [][]f{base, {file("app/run", "v1")}}}.image(t)
	b := spec{layers: [][]f{base, {file("app/run", "v2")}}}.image(t)
	regtest.Push(t, host+"/x/a:1", a)
	regtest.Push(t, host+"/x/b:1", b)
	want := int64(0)
	seen := map[string]bool{}
	for _, img := range []v1.Image{a, b} {
		ls, _ := img.Layers()
		for _, l := range ls {
			d, _ := l.Digest()
			if !seen[d.String()] {
				seen[d.String()] = true
				n, _ := l.Size()
				want += n
			}
		}
	}
	var last int64
	c := newComparer(t, WithProgress(func(p Progress) { last = p.Bytes }))
	diffWith(t, c, host+"/x/a:1", host+"/x/b:1")
	if last != want {
		t.Errorf("Bytes = %d, want %d (3 distinct layers)", last, want)
	}
	d, err := c.With(WithIgnore("/app/**"))
	if err != nil {
		t.Fatal(err)
	}
	diffWith(t, d, host+"/x/a:1", host+"/x/b:1")
	if last != want {
		t.Errorf("after With: Bytes = %d, want still %d", last, want)
	}
}

// TestNoFetchAfterError: once a layer read fails, the layers still queued
// are not fetched.
func TestNoFetchAfterError(t *testing.T) {
	var layers [][]f
	for i := range 6 {
		layers = append(layers, []f{file(fmt.Sprintf("l%d", i), "x")})
	}
	a := spec{layers: layers}.image(t)
	b := spec{layers: [][]f{{file("b", "1")}}}.image(t)
	ds := imagetest.LayerDigests(t, a)
	bad := ds[0]
	want := map[v1.Hash]bool{}
	for _, d := range ds {
		want[d] = true
	}
	var gets atomic.Int64
	host := regtest.StartBehind(t, func(reg http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if i := strings.Index(r.URL.Path, "/blobs/"); r.Method == http.MethodGet && i >= 0 {
				if h, err := v1.NewHash(r.URL.Path[i+len("/blobs/"):]); err == nil && want[h] {
					gets.Add(1)
					if h == bad {
						http.Error(w, "broken", http.StatusForbidden)
						return
					}
				}
			}
			reg.ServeHTTP(w, r)
		})
	})
	regtest.Push(t, host+"/x/a:1", a)
	regtest.Push(t, host+"/x/b:1", b)
	c := newComparer(t, WithJobs(1))
	if _, err := c.Diff(t.Context(), host+"/x/a:1", host+"/x/b:1"); err == nil {
		t.Fatal("no error")
	}
	if n := gets.Load(); n != 1 {
		t.Errorf("%d layer blobs of a fetched, want 1: the read went on after the error", n)
	}
}

// TestSharedReadFailsForItsOwnImageOnly: when a Diff joins another
// image's read of a layer with the same diff_id and that read fails (the
// other image's blob is corrupt, or its context was cancelled), the Diff
// reads its own blob instead of failing with the other image's error.
func TestSharedReadFailsForItsOwnImageOnly(t *testing.T) {
	for _, leaderErr := range []error{&DigestMismatchError{Want: "sha256:x", Got: "sha256:y"}, context.Canceled} {
		t.Run(leaderErr.Error(), func(t *testing.T) {
			shared := []f{dir("etc/"), file("etc/os-release", "debian")}
			a := writeOCI(t, spec{layers: [][]f{shared}}.image(t))
			b := writeOCI(t, spec{layers: [][]f{{file("bin/app", "1")}}}.image(t))
			img := spec{layers: [][]f{shared}}.image(t)
			ls, err := img.Layers()
			if err != nil {
				t.Fatal(err)
			}
			d, err := ls[0].DiffID()
			if err != nil {
				t.Fatal(err)
			}
			c := newComparer(t)
			// Another image's read of the shared layer is under way.
			started, release := make(chan struct{}), make(chan struct{})
			go func() {
				_, _, _ = c.sf.Do(d.String(), func() (any, error) {
					close(started)
					<-release
					return nil, leaderErr
				})
			}()
			<-started
			done := make(chan error, 1)
			go func() {
				_, err := c.Diff(t.Context(), a, b)
				done <- err
			}()
			// Give the Diff time to join the read under way.
			time.Sleep(200 * time.Millisecond)
			close(release)
			if err := <-done; err != nil {
				t.Errorf("Diff failed with another image's error: %v", err)
			}
		})
	}
}
