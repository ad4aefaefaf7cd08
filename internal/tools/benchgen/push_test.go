package main

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imgver/imgver/internal/imagetest"
	"github.com/imgver/imgver/internal/regtest"
)

func TestPush(t *testing.T) {
	t.Parallel()
	dir := smallMonoGen(t).dir
	wrap, uploads := regtest.Count(func(r *http.Request) bool {
		return r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/blobs/uploads/")
	})
	prefix := regtest.StartBehind(t, wrap) + "/bench"

	ps, err := push(t.Context(), filepath.Join(dir, "baseline"), prefix, "v1.0.0", "")
	if err != nil {
		t.Fatal(err)
	}
	local := layoutImages(t, filepath.Join(dir, "baseline"))
	if len(ps) != len(local) {
		t.Fatalf("%d images pushed, want %d", len(ps), len(local))
	}
	for _, p := range ps {
		n := strings.TrimPrefix(p.ref.RepositoryStr(), "bench/")
		want := imagetest.Digest(t, local[n])
		got, err := remote.Head(p.ref)
		if err != nil {
			t.Fatal(err)
		}
		if got.Digest != want || p.digest != want {
			t.Errorf("%s: registry has %s, push said %s, layout has %s", p.ref, got.Digest, p.digest, want)
		}
	}
	// Pushing again uploads nothing: every blob is there.
	before := uploads.Load()
	if before == 0 {
		t.Fatal("the first push uploaded no blob: the counter counts nothing")
	}
	if _, err := push(t.Context(), filepath.Join(dir, "baseline"), prefix, "v1.0.0", ""); err != nil {
		t.Fatal(err)
	}
	if n := uploads.Load() - before; n != 0 {
		t.Errorf("pushing again uploaded %d blobs, want 0", n)
	}

	// --as names a one-image layout's repository; a layout of more is refused.
	if _, err := push(t.Context(), filepath.Join(dir, "baseline"), prefix, "v1.0.0", "one"); err == nil {
		t.Error("push --as of a layout of several images: no error")
	}
	one, err := layout.Write(t.TempDir(), empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := one.AppendImage(local["svc-00"]); err != nil {
		t.Fatal(err)
	}
	ps, err = push(t.Context(), string(one), prefix, "v2", "one")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ps[0].ref.String(), prefix+"/one:v2"; len(ps) != 1 || got != want {
		t.Errorf("push --as one pushed %v, want %s", ps, want)
	}
}
