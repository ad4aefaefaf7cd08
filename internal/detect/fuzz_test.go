package detect

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/zstd"
)

var update = flag.Bool("update", false, "rewrite golden files and the fuzz seed corpus")

// fuzzSeeds are the seed inputs of FuzzReadLayer.
func fuzzSeeds(t testing.TB) map[string][]byte {
	layer := tarBytes(t, tarOpts{format: tar.FormatPAX},
		dir("a/"), file("a/b", "hello"), symlink("a/c", "b"),
		f{name: "a/d", typ: tar.TypeLink, link: "a/b"},
		f{name: "a/.wh.e"}, f{name: "x/.wh..wh..opq"},
		f{name: "cap", content: "x", mode: 0o4755, xattrs: map[string]string{"security.capability": "\x01\x02"}},
		f{name: "dev/null", typ: tar.TypeChar, devmaj: 1, devmin: 3},
	)
	zw, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{
		"tar":       layer,
		"gzip":      gzipBytes(t, layer, gzip.DefaultCompression),
		"zstd":      zw.EncodeAll(layer, nil),
		"truncated": layer[:700],
		"gnu":       tarBytes(t, tarOpts{format: tar.FormatGNU}, file("./long/"+string(bytes.Repeat([]byte("n"), 120)), "x")),
		"empty":     {},
	}
}

func TestFuzzSeedCorpus(t *testing.T) {
	checkSeedCorpus(t, "FuzzReadLayer", fuzzSeeds(t))
	checkSeedCorpus(t, "FuzzDecodeSummary", summarySeeds(t))
}

// checkSeedCorpus checks that testdata/fuzz/<target> holds the seeds (with
// -update: writes them).
func checkSeedCorpus(t *testing.T, target string, seeds map[string][]byte) {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", target)
	for name, b := range seeds {
		p := filepath.Join(dir, name)
		want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		if *update {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(p)
		if err != nil {
			t.Errorf("seed %s of %s missing (run go test -update): %v", name, target, err)
		} else if string(got) != want {
			t.Errorf("seed %s of %s is stale (run go test -update)", name, target)
		}
	}
}

// FuzzReadLayer feeds malformed layer blobs to the layer reader: it must
// return an error or a summary, never panic or hang, and what it accepts
// merges into a tree.
func FuzzReadLayer(f *testing.F) {
	for _, b := range fuzzSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := readBlob(bytes.NewReader(b))
		if err != nil {
			return
		}
		tr := newTree()
		tr.apply(0, s)
		tr.apply(1, s)
		for _, e := range tr.finish() {
			if e.Path == "" || e.Path[0] != '/' {
				t.Fatalf("path %q not absolute", e.Path)
			}
		}
	})
}
