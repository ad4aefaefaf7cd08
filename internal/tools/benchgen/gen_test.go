package main

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// small is the configuration the tests generate: tiny, but with every
// kind of entry (big and medium files, symlinks, overwrites, whiteouts, an
// opaque directory, noise).
var small = genParams{files: 300, size: 3 << 20, seed: 1}

// The manifest digests of small. They change only when the generator's
// output does (or the pinned klauspost/compress does): if that was meant,
// update them; bench.sh's cache key follows the generator's source anyway.
const (
	wantSmallA = "sha256:9db79b413879b45877efd175f61e4675a4983aacf60496b56bbee7d2f98472c9"
	wantSmallB = "sha256:29807ef1117f3dbe8f71acad809dde706e924a7179c39b071c7e0b31c07e5745"
)

func TestGenStable(t *testing.T) {
	t.Parallel()
	var got [][]string
	for range 2 {
		stats, err := gen(t.Context(), t.TempDir(), small)
		if err != nil {
			t.Fatal(err)
		}
		var ds []string
		for _, s := range stats {
			ds = append(ds, s.manifest.String())
		}
		got = append(got, ds)
	}
	if diff := cmp.Diff(got[0], got[1]); diff != "" {
		t.Errorf("two runs gave different manifests (-first +second):\n%s", diff)
	}
	if diff := cmp.Diff([]string{wantSmallA, wantSmallB}, got[0]); diff != "" {
		t.Errorf("manifest digests of the small pair (-want +got):\n%s", diff)
	}
}

// fileInfo is what the final file system says about a path, bar mtimes.
type fileInfo struct {
	Type     byte
	Mode     int64
	UID, GID int
	Size     int64
	Link     string
	Digest   string
}

// layerEntries reads the entry names and infos of a layer, in order.
func layerEntries(t *testing.T, l v1.Layer) ([]string, []fileInfo, []*tar.Header) {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var names []string
	var infos []fileInfo
	var hdrs []*tar.Header
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		hash := sha256.New()
		if _, err := io.Copy(hash, tr); err != nil {
			t.Fatal(err)
		}
		names = append(names, strings.TrimSuffix(h.Name, "/"))
		infos = append(infos, fileInfo{Type: h.Typeflag, Mode: h.Mode, UID: h.Uid, GID: h.Gid, Size: h.Size, Link: h.Linkname, Digest: hex.EncodeToString(hash.Sum(nil))})
		hdrs = append(hdrs, h)
	}
	return names, infos, hdrs
}

// flatten applies the layers of img bottom up, with whiteouts and opaque
// directories, and returns the final file system.
func flatten(t *testing.T, img v1.Image) map[string]fileInfo {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	fs := map[string]fileInfo{}
	removeTree := func(dir string, keepDir bool) {
		for p := range fs {
			if strings.HasPrefix(p, dir+"/") || (!keepDir && p == dir) {
				delete(fs, p)
			}
		}
	}
	for _, l := range layers {
		names, infos, _ := layerEntries(t, l)
		// Whiteouts apply to the layers below, so first.
		for _, n := range names {
			dir, base := path.Split(n)
			dir = strings.TrimSuffix(dir, "/")
			switch {
			case base == ".wh..wh..opq":
				removeTree(dir, true)
			case strings.HasPrefix(base, ".wh."):
				removeTree(path.Join(dir, strings.TrimPrefix(base, ".wh.")), false)
			}
		}
		for i, n := range names {
			if !strings.HasPrefix(path.Base(n), ".wh.") {
				fs[n] = infos[i]
			}
		}
	}
	return fs
}

func readImage(t *testing.T, dir string) v1.Image {
	t.Helper()
	imgs := layoutImages(t, dir)
	if len(imgs) != 1 {
		t.Fatalf("%s: %d images, want 1", dir, len(imgs))
	}
	return imgs["latest"]
}

func isNoise(p string) bool {
	return strings.HasPrefix(p, "var/log/") || strings.HasPrefix(p, "tmp/")
}

// splitNoise returns fs without the noise paths, and the noise paths.
func splitNoise(fs map[string]fileInfo) (map[string]fileInfo, []string) {
	out := map[string]fileInfo{}
	var noise []string
	for p, fi := range fs {
		if isNoise(p) {
			if fi.Type == tar.TypeReg {
				noise = append(noise, p)
			}
			continue
		}
		out[p] = fi
	}
	slices.Sort(noise)
	return out, noise
}

func TestGenRebuild(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		changed bool
	}{
		{"same", false},
		{"changed", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := small
			p.changed = tc.changed
			dir := t.TempDir()
			if _, err := gen(t.Context(), dir, p); err != nil {
				t.Fatal(err)
			}
			a, b := readImage(t, dir+"/a"), readImage(t, dir+"/b")
			fa, fb := flatten(t, a), flatten(t, b)

			// The generator did exercise whiteouts and the opaque directory.
			pl, err := newPlan(p)
			if err != nil {
				t.Fatal(err)
			}
			var opq string
			for _, n := range pl.a.layers[3].nodes {
				if path.Base(n.path) == ".wh..wh..opq" {
					opq = path.Dir(n.path)
				}
			}
			var inOpq []string
			for p := range fa {
				if strings.HasPrefix(p, opq+"/") {
					inOpq = append(inOpq, p)
				}
			}
			if diff := cmp.Diff([]string{opq + "/replaced.conf"}, inOpq); diff != "" {
				t.Errorf("opaque directory %s in A's final file system (-want +got):\n%s", opq, diff)
			}
			baseNames, _, _ := layerEntries(t, mustLayer(t, a, 0))
			deleted := 0
			for _, n := range baseNames {
				if _, ok := fa[n]; !ok && !strings.HasPrefix(n, opq+"/") {
					deleted++
				}
			}
			if deleted == 0 {
				t.Error("no base file was whited out")
			}

			// Same final files, bar the noise, which differs.
			ca, na := splitNoise(fa)
			cb, nb := splitNoise(fb)
			if len(ca) < p.files {
				t.Errorf("A has %d entries, want at least %d", len(ca), p.files)
			}
			if slices.Equal(na, nb) || len(na) == 0 {
				t.Errorf("noise paths of A %q and B %q should differ", na, nb)
			}
			diff := cmp.Diff(ca, cb)
			if !tc.changed && diff != "" {
				t.Errorf("final file systems differ (-A +B):\n%s", diff)
			}
			if tc.changed {
				var changed []string
				for p, fi := range ca {
					fj := cb[p]
					if fi != fj {
						changed = append(changed, p)
						if d := fi.Mode ^ fj.Mode; d == 0 || d&(d-1) != 0 {
							t.Errorf("%s: mode %o in A, %o in B: want one bit apart", p, fi.Mode, fj.Mode)
						}
						fi.Mode = fj.Mode
						if fi != fj {
							t.Errorf("%s differs in more than its mode (-A +B):\n%s", p, cmp.Diff(fi, fj))
						}
					}
				}
				if len(changed) != 1 || len(ca) != len(cb) {
					t.Errorf("changed paths %q (%d in A, %d in B), want one", changed, len(ca), len(cb))
				}
			}

			// Nothing can be short-cut: no layer is shared.
			da, db := diffIDs(t, a), diffIDs(t, b)
			for _, d := range da {
				if slices.Contains(db, d) {
					t.Errorf("diff_id %s is in both images", d)
				}
			}
			if len(da) == len(db) {
				t.Errorf("A and B both have %d layers: B should split them otherwise", len(da))
			}

			// The base layers hold the same entries in another order,
			// with other mtimes.
			na0, ia0, ha0 := layerEntries(t, mustLayer(t, a, 0))
			nb0, ib0, hb0 := layerEntries(t, mustLayer(t, b, 0))
			if slices.Equal(na0, nb0) {
				t.Error("base layers have the same entry order")
			}
			if !sameSet(na0, ia0, nb0, ib0) {
				t.Error("base layers hold different entries")
			}
			mtimes := map[string]time.Time{}
			for _, h := range ha0 {
				mtimes[h.Name] = h.ModTime
			}
			for _, h := range hb0 {
				if h.ModTime.Equal(mtimes[h.Name]) {
					t.Errorf("%s: same mtime %s in both base layers", h.Name, h.ModTime)
				}
			}
		})
	}
}

func mustLayer(t *testing.T, img v1.Image, i int) v1.Layer {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	return ls[i]
}

func diffIDs(t *testing.T, img v1.Image) []v1.Hash {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return cf.RootFS.DiffIDs
}

func sameSet(na []string, ia []fileInfo, nb []string, ib []fileInfo) bool {
	m := map[string]fileInfo{}
	for i, n := range na {
		m[n] = ia[i]
	}
	if len(m) != len(nb) {
		return false
	}
	for i, n := range nb {
		if fi, ok := m[n]; !ok || fi != ib[i] {
			return false
		}
	}
	return true
}

func TestParseSize(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1024", 1024, true},
		{"64KiB", 64 << 10, true},
		{"3MiB", 3 << 20, true},
		{"1GiB", 1 << 30, true},
		{"2G", 2 << 30, true},
		{"0", 0, false},
		{"-1MiB", 0, false},
		{"1.5GiB", 0, false},
		{"MiB", 0, false},
		{"1TiB", 0, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseSize(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Errorf("parseSize(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
			}
		})
	}
}

func TestNewPlanRejects(t *testing.T) {
	t.Parallel()
	for _, p := range []genParams{
		{files: 5, size: 1 << 20},
		{files: 1000, size: 1000},
	} {
		if _, err := newPlan(p); err == nil {
			t.Errorf("newPlan(%+v) succeeded, want an error", p)
		}
	}
}
