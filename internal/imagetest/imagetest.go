package imagetest

import (
	"archive/tar"
	"bytes"
	"io"
	"maps"
	"math/rand"
	"slices"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/imgver/imgver/internal/imagebuild"
)

// Random returns a seeded random image: one layer of 64 bytes, the same for
// the same seed, its config created at created and naming no platform. Two
// seeds give two images; the same seed and time give the same digest.
func Random(t testing.TB, seed int64, created time.Time) v1.Image {
	t.Helper()
	img, err := random.Image(64, 1, random.WithSource(rand.NewSource(seed)))
	if err != nil {
		t.Fatal(err)
	}
	img, err = mutate.CreatedAt(img, v1.Time{Time: created})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// Index returns an index of one image per platform: imgs maps a platform
// ("linux/amd64", "linux/arm/v7") to its image. The manifests are in the
// order of the platforms' names, so the same map gives the same digest.
func Index(t testing.TB, imgs map[string]v1.Image) v1.ImageIndex {
	t.Helper()
	var idx v1.ImageIndex = empty.Index
	for _, p := range slices.Sorted(maps.Keys(imgs)) {
		pl, err := v1.ParsePlatform(p)
		if err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: imgs[p], Descriptor: v1.Descriptor{Platform: pl}})
	}
	return idx
}

// Digest returns the digest of an image or an index.
func Digest(t testing.TB, a interface{ Digest() (v1.Hash, error) }) v1.Hash {
	t.Helper()
	d, err := a.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// LayerDigests returns the digests of the layer blobs of img, bottom up, as
// its manifest lists them.
func LayerDigests(t testing.TB, img v1.Image) []v1.Hash {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	var out []v1.Hash
	for _, l := range m.Layers {
		out = append(out, l.Digest)
	}
	return out
}

// Image is imagebuild's b.Image(base, cfg, layers...): one layer per entry
// of layers on base (nil: an empty linux/amd64 image).
func Image(t testing.TB, b imagebuild.Build, base v1.Image, cfg imagebuild.Config, layers ...[]imagebuild.File) v1.Image {
	t.Helper()
	img, err := b.Image(base, cfg, layers...)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// WriteLayout writes img as the only image of a new OCI layout at dir, as
// imagebuild.WriteLayout does (tagged "latest").
func WriteLayout(t testing.TB, dir string, img v1.Image) {
	t.Helper()
	if err := imagebuild.WriteLayout(dir, img); err != nil {
		t.Fatal(err)
	}
}

// WriteIndexLayout writes idx as the only entry of a new OCI layout at dir.
func WriteIndexLayout(t testing.TB, dir string, idx v1.ImageIndex) {
	t.Helper()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendIndex(idx); err != nil {
		t.Fatal(err)
	}
}

// Layer returns a gzip layer of the given tar headers, written as they are,
// in order: the entries imagebuild.File does not describe (device nodes, a
// header format of its own). A regular file's header must have Size 0: the
// entries carry no content.
func Layer(t testing.TB, hdrs ...*tar.Header) v1.Layer {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range hdrs {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatalf("writing tar header %s: %v", h.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}
