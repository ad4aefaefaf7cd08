package main

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// smallMono is a tiny monorepo with every kind of entry in base and apps.
var smallMono = monoParams{
	images: 3,
	base:   genParams{files: 300, size: 3 << 20, seed: 1},
	app:    genParams{files: 200, size: 2 << 20, seed: 2},
}

// layoutImages reads every image of a layout by its ref name.
func layoutImages(t *testing.T, dir string) map[string]v1.Image {
	t.Helper()
	_, imgs, err := readLayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]v1.Image{}
	for _, li := range imgs {
		out[li.desc.Annotations["org.opencontainers.image.ref.name"]] = li.img
	}
	return out
}

func TestMonorepo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	stats, err := genMonorepo(t.Context(), dir, smallMono)
	if err != nil {
		t.Fatal(err)
	}
	if len(stats) != 2*smallMono.images {
		t.Fatalf("%d images written, want %d", len(stats), 2*smallMono.images)
	}
	// Deterministic: a second run writes the same manifests.
	again, err := genMonorepo(t.Context(), t.TempDir(), smallMono)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(stats, again, cmp.AllowUnexported(genStats{})); diff != "" {
		t.Errorf("two runs differ (-first +second):\n%s", diff)
	}

	base, cand := layoutImages(t, filepath.Join(dir, "baseline")), layoutImages(t, filepath.Join(dir, "candidate"))
	var want []string
	for i := range smallMono.images {
		want = append(want, monoImageName(i))
	}
	for _, side := range []map[string]v1.Image{base, cand} {
		var got []string
		for n := range side {
			got = append(got, n)
		}
		if diff := cmp.Diff(want, got, cmpSorted); diff != "" {
			t.Fatalf("image names (-want +got):\n%s", diff)
		}
	}
	var firstBase []v1.Hash
	seen := map[v1.Hash]string{}
	for _, n := range want {
		a, b := base[n], cand[n]
		da, db := diffIDs(t, a), diffIDs(t, b)
		const nBase = 4
		// The shared base: the same bottom layers in every image, both sides.
		if firstBase == nil {
			firstBase = da[:nBase]
		}
		if diff := cmp.Diff(firstBase, da[:nBase]); diff != "" {
			t.Errorf("%s: baseline's base layers (-first image +this):\n%s", n, diff)
		}
		if diff := cmp.Diff(firstBase, db[:nBase]); diff != "" {
			t.Errorf("%s: candidate's base layers (-first image +this):\n%s", n, diff)
		}
		// Every layer of its own differs from every other image's and side's.
		for side, ds := range [][]v1.Hash{da[nBase:], db[nBase:]} {
			for _, d := range ds {
				if other, ok := seen[d]; ok {
					t.Errorf("%s (side %d): layer %s also in %s", n, side, d, other)
				}
				seen[d] = n
			}
		}
		// The candidate is a rebuild: the same files but the noise.
		fa, noiseA := splitNoise(flatten(t, a))
		fb, noiseB := splitNoise(flatten(t, b))
		if diff := cmp.Diff(fa, fb); diff != "" {
			t.Errorf("%s: baseline and candidate files differ (-baseline +candidate):\n%s", n, diff)
		}
		if cmp.Equal(noiseA, noiseB) {
			t.Errorf("%s: baseline and candidate have the same noise %v", n, noiseA)
		}
		// What imgver's checks need: the #! entrypoint and its interpreter.
		cf, err := b.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{runScript}, cf.Config.Cmd); diff != "" {
			t.Errorf("%s: Cmd (-want +got):\n%s", n, diff)
		}
		for _, p := range []string{"app/run.sh", "bin/sh"} {
			if fi, ok := fb[p]; !ok || fi.Mode != 0o755 {
				t.Errorf("%s: %s is %+v (present %v), want an executable file", n, p, fi, ok)
			}
		}
	}
}

var cmpSorted = cmp.Transformer("sorted", func(in []string) []string {
	out := append([]string(nil), in...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
})

func TestPush(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := genMonorepo(t.Context(), dir, smallMono); err != nil {
		t.Fatal(err)
	}
	var blobPuts atomic.Int64
	reg := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/blobs/uploads/") {
			blobPuts.Add(1)
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	prefix := strings.TrimPrefix(srv.URL, "http://") + "/bench"

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
		want, err := local[n].Digest()
		if err != nil {
			t.Fatal(err)
		}
		ref, err := name.ParseReference(p.ref.String(), name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		got, err := remote.Head(ref)
		if err != nil {
			t.Fatal(err)
		}
		if got.Digest != want || p.digest != want {
			t.Errorf("%s: registry has %s, push said %s, layout has %s", p.ref, got.Digest, p.digest, want)
		}
	}
	// A second push sends no blob.
	puts := blobPuts.Load()
	if _, err := push(t.Context(), filepath.Join(dir, "baseline"), prefix, "v1.0.0", ""); err != nil {
		t.Fatal(err)
	}
	if got := blobPuts.Load() - puts; got != 0 {
		t.Errorf("second push uploaded %d blobs, want 0", got)
	}

	// --as names a one-image layout's repository; a layout of more is refused.
	if _, err := push(t.Context(), filepath.Join(dir, "baseline"), prefix, "v1.0.0", "one"); err == nil {
		t.Error("push --as of a 3-image layout: no error")
	}
}

// TestMountable: a layer pushed before is offered for mounting from where
// it was pushed (ggcr's in-process registry shares blobs between
// repositories, so TestPush cannot see it; distribution's mounts them).
func TestMountable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := genMonorepo(t.Context(), dir, smallMono); err != nil {
		t.Fatal(err)
	}
	img := layoutImages(t, filepath.Join(dir, "baseline"))["svc-01"]
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	from, err := name.ParseReference("127.0.0.1:5001/bench/svc-00:v1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	mounts := map[v1.Hash]name.Reference{}
	for _, l := range ls[:4] {
		d, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		mounts[d] = from
	}
	got, err := mountable(img, mounts)
	if err != nil {
		t.Fatal(err)
	}
	gls, err := got.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var marked []bool
	for _, l := range gls {
		_, ok := l.(*remote.MountableLayer)
		marked = append(marked, ok)
	}
	if diff := cmp.Diff([]bool{true, true, true, true, false, false, false, false}, marked); diff != "" {
		t.Errorf("layers marked mountable (-want +got):\n%s", diff)
	}
	for _, im := range []v1.Image{img, got} {
		if d, err := im.Digest(); err != nil || d != mustDigest(t, img) {
			t.Errorf("digest changed: %v, %v", d, err)
		}
	}
}

func mustDigest(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestCountFetched(t *testing.T) {
	t.Parallel()
	layer := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("a", 64)}
	other := "sha256:" + strings.Repeat("b", 64)
	line := func(method, path, status, size string) string {
		return `127.0.0.1 - - [30/Nov/2026:07:54:58 +0000] "` + method + " " + path + ` HTTP/1.1" ` + status + " " + size + ` "" "go-containerregistry/v0.22.1"`
	}
	for _, tc := range []struct {
		name string
		log  []string
		want fetchCounts
	}{
		{"empty", nil, fetchCounts{}},
		{"layer GET", []string{line("GET", "/v2/bench/svc-00/blobs/"+layer.String(), "200", "1234")},
			fetchCounts{layerBytes: 1234, layerGets: 1, requests: 1}},
		{"range GET", []string{line("GET", "/v2/bench/svc-00/blobs/"+layer.String(), "206", "10")},
			fetchCounts{layerBytes: 10, layerGets: 1, requests: 1}},
		{"HEAD and failed GET are not fetches", []string{
			line("HEAD", "/v2/bench/svc-00/blobs/"+layer.String(), "200", "0"),
			line("GET", "/v2/bench/svc-00/blobs/"+layer.String(), "404", "157"),
			line("GET", "/v2/bench/svc-00/blobs/"+layer.String(), "307", "-"),
		}, fetchCounts{requests: 3}},
		{"config, summary, manifests", []string{
			line("GET", "/v2/bench/svc-00/manifests/v1.0.0", "200", "900"),
			line("GET", "/v2/bench/svc-00/blobs/"+other, "200", "300"),
			line("GET", "/v2/bench/svc-00/blobs/"+other+"?x=1", "200", "5"),
		}, fetchCounts{otherBlobBytes: 305, otherBlobGets: 2, manifestGets: 1, requests: 3}},
		{"the registry's own log lines", []string{
			`time="2026-11-30T07:54:58Z" level=warning msg="no mount" go.version=go1.19`,
			"",
		}, fetchCounts{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := countFetched(strings.NewReader(strings.Join(tc.log, "\n")), map[v1.Hash]bool{layer: true})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(fetchCounts{})); diff != "" {
				t.Errorf("counts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLayoutLayers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := genMonorepo(t.Context(), dir, smallMono); err != nil {
		t.Fatal(err)
	}
	got, err := layoutLayers([]string{filepath.Join(dir, "baseline")})
	if err != nil {
		t.Fatal(err)
	}
	// Four base layers shared, four of its own per image.
	if want := 4 + 4*smallMono.images; len(got) != want {
		t.Errorf("%d layers, want %d", len(got), want)
	}
	if _, err := layoutLayers([]string{filepath.Join(dir, "missing")}); err == nil {
		t.Error("a missing layout: no error")
	}
}
