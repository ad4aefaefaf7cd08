package imagetest

import (
	"archive/tar"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
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

// TestLayer: the headers are written as given, in order.
func TestLayer(t *testing.T) {
	t.Parallel()
	want := []*tar.Header{
		{Name: "dev/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: time.Unix(1700000000, 0), Format: tar.FormatPAX},
		{Name: "dev/null", Typeflag: tar.TypeChar, Mode: 0o666, Devmajor: 1, Devminor: 3, ModTime: time.Unix(1700000000, 0), Format: tar.FormatPAX},
	}
	rc, err := Layer(t, want...).Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var got []*tar.Header
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, &tar.Header{Name: h.Name, Typeflag: h.Typeflag, Mode: h.Mode, Devmajor: h.Devmajor, Devminor: h.Devminor, ModTime: h.ModTime, Format: tar.FormatPAX})
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
}
