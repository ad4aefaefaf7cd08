package detect

import (
	"compress/gzip"

	"archive/tar"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/imgver/imgver/internal/detect/normalise"
	"github.com/imgver/imgver/internal/imagetest"

	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// f is one tar entry of a test layer.
type f struct {
	name    string
	typ     byte // tar.TypeReg when 0
	mode    int64
	uid     int
	gid     int
	uname   string
	gname   string
	content string
	link    string
	mtime   time.Time
	xattrs  map[string]string
	devmaj  int64
	devmin  int64
	format  tar.Format
}

var epoch = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)

// file, dir, symlink make common entries.
func file(name, content string) f { return f{name: name, content: content, mode: 0o644} }
func dir(name string) f           { return f{name: name, typ: tar.TypeDir, mode: 0o755} }
func symlink(name, target string) f {
	return f{name: name, typ: tar.TypeSymlink, link: target, mode: 0o777}
}

// tarOpts changes how a layer tar is written.
type tarOpts struct {
	format tar.Format
	mtime  time.Time
	uname  string
}

// tarBytes writes entries as a tar.
func tarBytes(t testing.TB, o tarOpts, entries ...f) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		mt := e.mtime
		if mt.IsZero() {
			mt = o.mtime
		}
		if mt.IsZero() {
			mt = epoch
		}
		h := &tar.Header{
			Name: e.name, Typeflag: typ, Mode: e.mode, Uid: e.uid, Gid: e.gid,
			Uname: e.uname, Gname: e.gname, Linkname: e.link, ModTime: mt,
			Devmajor: e.devmaj, Devminor: e.devmin, Format: e.format,
		}
		if h.Uname == "" {
			h.Uname = o.uname
		}
		if h.Format == tar.FormatUnknown {
			h.Format = o.format
		}
		if typ == tar.TypeReg {
			h.Size = int64(len(e.content))
		}
		if len(e.xattrs) > 0 {
			h.PAXRecords = map[string]string{}
			for k, v := range e.xattrs {
				h.PAXRecords["SCHILY.xattr."+k] = v
			}
			h.Format = tar.FormatPAX
		}
		if h.Format == tar.FormatPAX {
			if h.PAXRecords == nil {
				h.PAXRecords = map[string]string{}
			}
			h.PAXRecords["mtime"] = "1700000000.123456789"
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatalf("writing tar header %s: %v", e.name, err)
		}
		if typ == tar.TypeReg {
			if _, err := io.WriteString(tw, e.content); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// layerKind says how a test layer is compressed.
type layerKind int

const (
	gz layerKind = iota
	gzBest
	zst
	plain
)

func mkLayer(t testing.TB, kind layerKind, b []byte) v1.Layer {
	t.Helper()
	opener := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	var (
		l   v1.Layer
		err error
	)
	switch kind {
	case gz:
		l, err = tarball.LayerFromOpener(opener, tarball.WithCompressionLevel(1))
	case gzBest:
		l, err = tarball.LayerFromOpener(opener, tarball.WithCompressionLevel(9))
	case zst:
		l, err = tarball.LayerFromOpener(opener, tarball.WithCompression(compression.ZStd), tarball.WithMediaType(types.OCILayerZStd))
	case plain:
		l = static.NewLayer(b, types.OCIUncompressedLayer)
	}
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// spec describes a test image.
type spec struct {
	layers   [][]f
	kind     layerKind
	tar      tarOpts
	config   func(*v1.ConfigFile)
	history  []string
	platform string // "linux/amd64" when empty
}

func (s spec) image(t testing.TB) v1.Image {
	t.Helper()
	img := empty.Image
	var adds []mutate.Addendum
	for i, entries := range s.layers {
		h := v1.History{Created: v1.Time{Time: epoch.Add(time.Duration(i) * time.Hour)}, CreatedBy: "layer"}
		if i < len(s.history) {
			h.CreatedBy = s.history[i]
		}
		adds = append(adds, mutate.Addendum{Layer: mkLayer(t, s.kind, tarBytes(t, s.tar, entries...)), History: h})
	}
	img, err := mutate.Append(img, adds...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	p := s.platform
	if p == "" {
		p = "linux/amd64"
	}
	pl, err := v1.ParsePlatform(p)
	if err != nil {
		t.Fatal(err)
	}
	cf.OS, cf.Architecture, cf.Variant = pl.OS, pl.Architecture, pl.Variant
	cf.Created = v1.Time{Time: epoch}
	cf.Config.Cmd = []string{"/bin/app"}
	cf.Config.Env = []string{"PATH=/usr/bin:/bin"}
	if s.config != nil {
		s.config(cf)
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// writeOCI writes img as an OCI layout in a new dir and returns "oci:DIR".
func writeOCI(t testing.TB, img v1.Image, opts ...layout.Option) string {
	t.Helper()
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img, opts...); err != nil {
		t.Fatal(err)
	}
	return "oci:" + dir
}

// writeOCIIndex writes idx as the one entry of an OCI layout.
func writeOCIIndex(t testing.TB, idx v1.ImageIndex) string {
	t.Helper()
	dir := t.TempDir()
	imagetest.WriteIndexLayout(t, dir, idx)
	return "oci:" + dir
}

// writeArchive writes img as a docker save archive.
func writeArchive(t testing.TB, img v1.Image) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "img.tar")
	tag, err := name.NewTag("example.test/img:latest")
	if err != nil {
		t.Fatal(err)
	}
	if err := tarball.WriteToFile(p, tag, img); err != nil {
		t.Fatal(err)
	}
	return "docker-archive:" + p
}

// newComparer returns New(opts...).
func newComparer(t testing.TB, opts ...Option) *Comparer {
	t.Helper()
	c, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// diff compares a and b with a new Comparer made with opts.
func diff(t testing.TB, a, b string, opts ...Option) *Result {
	t.Helper()
	return diffWith(t, newComparer(t, opts...), a, b)
}

// diffWith compares a and b with c.
func diffWith(t testing.TB, c *Comparer, a, b string) *Result {
	t.Helper()
	res, err := c.Diff(t.Context(), a, b)
	if err != nil {
		t.Fatalf("Diff: %v", err)
	}
	return res
}

func fingerprint(t testing.TB, ref string, opts ...Option) string {
	t.Helper()
	c := newComparer(t, opts...)
	fp, err := c.Fingerprint(context.Background(), ref)
	if err != nil {
		t.Fatalf("Fingerprint: %v", err)
	}
	checkSummaries(t, c, ref, fp)
	return fp
}

func readFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func layoutRefName(tag string) layout.Option {
	return layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": tag})
}

// roundTripFunc counts requests and passes them on.
type roundTripFunc func()

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) {
	f()
	return http.DefaultTransport.RoundTrip(r)
}

// openAndImage opens the OCI layout of s and returns its one image.
func (s *source) openAndImage() (v1.Image, error) {
	if err := s.openLayout(); err != nil {
		return nil, err
	}
	return s.img, nil
}

type v1ConfigFile = v1.ConfigFile
type normaliseNormaliser = normalise.Normaliser

// gzipBytes compresses b at the given compress/gzip level.
func gzipBytes(t testing.TB, b []byte, level int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, level)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readBlob decompresses and reads a layer blob as the Comparer does.
func readBlob(r io.Reader) (*layerSummary, error) {
	zr, err := decompress(r)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	s, err := newLayerReader(nil, false).read(zr)
	if err != nil {
		return nil, err
	}
	_, err = io.Copy(io.Discard, zr)
	return s, err
}
