package main

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
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

// monoGen is smallMono, generated once for every test that reads it, and
// removed by TestMain.
type monoGen struct {
	dir   string
	stats []genStats
}

var (
	monoOnce    sync.Once
	monoFixture monoGen
	monoErr     error
)

// smallMonoGen returns smallMono, generated on first use.
func smallMonoGen(t *testing.T) monoGen {
	t.Helper()
	monoOnce.Do(func() {
		if monoFixture.dir, monoErr = os.MkdirTemp("", "benchgen-mono-"); monoErr == nil {
			monoFixture.stats, monoErr = genMonorepo(context.Background(), monoFixture.dir, smallMono)
		}
	})
	if monoErr != nil {
		t.Fatal(monoErr)
	}
	return monoFixture
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
