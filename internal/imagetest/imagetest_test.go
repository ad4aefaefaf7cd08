package imagetest

import (
	"archive/tar"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// TestRandom: the same seed and time give the same image; another seed or
// another time another one, created at that time.
func TestRandom(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a := Digest(t, Random(t, 1, at))
	if b := Digest(t, Random(t, 1, at)); b != a {
		t.Errorf("seed 1 twice: %s, then %s", a, b)
	}
	if b := Digest(t, Random(t, 2, at)); b == a {
		t.Errorf("seeds 1 and 2 give the same image %s", a)
	}
	later := Random(t, 1, at.Add(time.Hour))
	if b := Digest(t, later); b == a {
		t.Errorf("two creation times give the same image %s", a)
	}
	cf, err := later.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !cf.Created.Time.Equal(at.Add(time.Hour)) {
		t.Errorf("created %s, want %s", cf.Created.Time, at.Add(time.Hour))
	}
}

// TestIndex: one manifest per platform, in the order of the platforms'
// names, whatever the map's order.
func TestIndex(t *testing.T) {
	t.Parallel()
	imgs := map[string]v1.Image{
		"linux/s390x":  Random(t, 1, time.Unix(0, 0)),
		"linux/amd64":  Random(t, 2, time.Unix(0, 0)),
		"linux/arm/v7": Random(t, 3, time.Unix(0, 0)),
	}
	im, err := Index(t, imgs).IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	type entry struct {
		Platform string
		Digest   v1.Hash
	}
	var got []entry
	for _, m := range im.Manifests {
		got = append(got, entry{m.Platform.String(), m.Digest})
	}
	want := []entry{
		{"linux/amd64", Digest(t, imgs["linux/amd64"])},
		{"linux/arm/v7", Digest(t, imgs["linux/arm/v7"])},
		{"linux/s390x", Digest(t, imgs["linux/s390x"])},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("manifests (-want +got):\n%s", diff)
	}
}

// TestLayer: the headers are written as given, in order, and nothing else.
func TestLayer(t *testing.T) {
	t.Parallel()
	at := time.Unix(1700000000, 0)
	want := []*tar.Header{
		{Name: "dev/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: at},
		{Name: "dev/null", Typeflag: tar.TypeChar, Mode: 0o666, Devmajor: 1, Devminor: 3, ModTime: at},
	}
	rc, err := Layer(t, want...).Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for _, w := range want {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("reading %s: %v", w.Name, err)
		}
		got := tar.Header{Name: h.Name, Typeflag: h.Typeflag, Mode: h.Mode, Devmajor: h.Devmajor, Devminor: h.Devminor, ModTime: h.ModTime}
		if diff := cmp.Diff(*w, got); diff != "" {
			t.Errorf("entry %s (-want +got):\n%s", w.Name, diff)
		}
	}
	if h, err := tr.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("after the headers: %v, %v; want the end", h, err)
	}
}

// TestLayerDigests: the digests of the layers, bottom up.
func TestLayerDigests(t *testing.T) {
	t.Parallel()
	bottom := Layer(t, &tar.Header{Name: "bottom/", Typeflag: tar.TypeDir, Mode: 0o755})
	top := Layer(t, &tar.Header{Name: "top/", Typeflag: tar.TypeDir, Mode: 0o755})
	img, err := mutate.AppendLayers(empty.Image, bottom, top)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]v1.Hash{Digest(t, bottom), Digest(t, top)}, LayerDigests(t, img)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
