package main

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imgver/imgver/internal/imagetest"
)

// smallMono is a tiny monorepo with every kind of entry in base and apps.
var smallMono = monoParams{
	images: 2,
	base:   genParams{files: 150, size: 1 << 20, seed: 1},
	app:    genParams{files: 80, size: 512 << 10, seed: 2},
}

var wantSmallMono = []string{
	"baseline/svc-00 sha256:391c953329f38ac09cfe890b3c3a62a34a7ab7e2ca5548b05515d1924634efc7",
	"candidate/svc-00 sha256:170db13bc69bf7bd98baef2156ecc24d019cfc1885554611ee3300f753e23697",
}

// monoGen is smallMono as generated: where, and what genMonorepo said.
type monoGen struct {
	dir   string
	stats []genStats
}

// monoDir is where smallMono was generated, for TestMain to remove.
var monoDir string

// smallMonoOnce generates smallMono once for every test that reads it.
var smallMonoOnce = sync.OnceValues(func() (monoGen, error) {
	dir, err := os.MkdirTemp("", "benchgen-mono-")
	if err != nil {
		return monoGen{}, err
	}
	monoDir = dir
	stats, err := genMonorepo(context.Background(), dir, smallMono)
	return monoGen{dir: dir, stats: stats}, err
})

// smallMonoGen returns smallMono, generated on first use.
func smallMonoGen(t *testing.T) monoGen {
	t.Helper()
	g, err := smallMonoOnce()
	if err != nil {
		t.Fatal(err)
	}
	return g
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
	g := smallMonoGen(t)
	dir, stats := g.dir, g.stats
	if len(stats) != 2*smallMono.images {
		t.Fatalf("%d images written, want %d", len(stats), 2*smallMono.images)
	}
	// The manifests of smallMono's first image. Like wantSmallA, they change
	// only when the generator's output does: if that was meant, update them.
	var got []string
	for _, st := range stats[:2] {
		got = append(got, st.name+" "+st.manifest.String())
	}
	if diff := cmp.Diff(wantSmallMono, got); diff != "" {
		t.Errorf("manifest digests of smallMono's first image (-want +got):\n%s", diff)
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

// TestMountable: a layer pushed before is offered for mounting from where
// it was pushed (ggcr's in-process registry shares blobs between
// repositories, so TestPush cannot see it; distribution mounts them).
func TestMountable(t *testing.T) {
	t.Parallel()
	dir := smallMonoGen(t).dir
	img := layoutImages(t, filepath.Join(dir, "baseline"))["svc-01"]
	from, err := name.ParseReference("127.0.0.1:5001/bench/svc-00:v1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	mounts := map[v1.Hash]name.Reference{}
	for _, d := range imagetest.LayerDigests(t, img)[:4] {
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
		if d, err := im.Digest(); err != nil || d != imagetest.Digest(t, img) {
			t.Errorf("digest changed: %v, %v", d, err)
		}
	}
}
