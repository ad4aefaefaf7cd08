package detect

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgver/imgver/internal/regtest"
)

// TestNoFetchAfterError: once a layer read fails, the layers still queued
// are not fetched.
func TestNoFetchAfterError(t *testing.T) {
	var layers [][]f
	for i := range 6 {
		layers = append(layers, []f{file(fmt.Sprintf("l%d", i), "x")})
	}
	a := spec{layers: layers}.image(t)
	b := spec{layers: [][]f{{file("b", "1")}}}.image(t)
	ls, err := a.Layers()
	if err != nil {
		t.Fatal(err)
	}
	bad, err := ls[0].Digest()
	if err != nil {
		t.Fatal(err)
	}
	want := map[v1.Hash]bool{}
	for _, l := range ls {
		d, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		want[d] = true
	}
	var gets atomic.Int64
	reg := registry.New(registry.Logger(discardLogger()))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	regtest.Push(t, host+"/x/a:1", a)
	regtest.Push(t, host+"/x/b:1", b)
	c, err := New(WithJobs(1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Diff(t.Context(), host+"/x/a:1", host+"/x/b:1"); err == nil {
		t.Fatal("no error")
	}
	if n := gets.Load(); n != 1 {
		t.Errorf("%d layer blobs of a fetched, want 1: the read went on after the error", n)
	}
}
