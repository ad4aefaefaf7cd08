package normalise

import (
	"archive/zip"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

var updateCorpus = flag.Bool("update", false, "rewrite the seed corpora in testdata/fuzz from the builders in the tests")

// seeds are the inputs each fuzz target starts from, built by the same code
// as the tests; TestSeedCorpus writes them to testdata/fuzz/FuzzX.
func seeds() map[string][][]byte {
	inner := zipFile(zopts{}, zent{name: "a", body: "x", mode: 0o644})
	return map[string][][]byte{
		"FuzzPyc": {
			pycFile(magic312, []uint32{0, 1700000000, 10}, code),
			pycFile(magic312, []uint32{1, 0xdead, 0xbeef}, code),
			pycFile(magic35, []uint32{1, 2}, code),
			pycFile(magic27, []uint32{1}, code),
			[]byte("print(1)\n"),
		},
		"FuzzZip": {
			zipFile(zopts{}),
			zipFile(zopts{}, zent{name: "a", body: "hello", mode: 0o644}, zent{name: "d/", mode: 0o755 | 1<<31}),
			zipFile(zopts{}, zent{name: "a", body: "hello", store: true}, zent{name: "lib/x.jar", body: string(inner), store: true}),
			zipFile(zopts{}, zent{name: "META-INF/maven/g/a/pom.properties", body: pom}, zent{name: "lib/x.jar", body: string(inner)}),
			rawZip("", rawEntry{name: "a", body: "hello", deflate: true, desc: descNoSig}, rawEntry{name: "b", body: "x", deflate: true, desc: descSig64}),
			rawZip("", rawEntry{name: "a", body: "hello", zip64: true, zip64Cen: true}),
		},
		"FuzzGzip": {
			gzipFile(gzMember{body: "hello\n", name: "x", comment: "c", mtime: t1}),
			gzipFile(gzMember{body: "a"}, gzMember{body: "b", level: 1}),
			gzipFile(gzMember{}),
		},
		"FuzzManifest": {
			mf("2026-11-30T05:24:21Z"),
			mf("x", "", "Name: a.class", "SHA-256-Digest: AAA="),
			[]byte("A: 1\n B: 2\nbuild-time: x"),
			[]byte("A:1\r\n"),
		},
		"FuzzBuildInfo": {
			bi(`2026-11-30T05\:24\:12.194Z`),
			[]byte("#Properties\r\n#Mon Nov 30 05:24:12 UTC 2026\r\nbuild\\.time : x\\\n  y\n! c\n\n"),
			[]byte("a=x\\\\\nb=y\\"),
		},
		"FuzzGem": {
			gemFile(gemOpts{mtime: t1, date: "date: 2026-11-30 00:00:00.000000000 Z"}),
			gemFile(gemOpts{mtime: t2, extra: []string{"data.tar.gz.sig", "a"}}),
		},
		"FuzzShadow": {
			[]byte("root:*:19000:0:99999:7:::\napp:!:19000:0:99999:7:::\n"),
			[]byte("root:*::0:99999:7:::\n\nx:y:0:::::"),
			[]byte("not:shadow\n"),
		},
	}
}

// fuzzNormaliser checks what holds for any input: no panic, an error only
// wrapping ErrNotApplicable (the reader never fails), a well-formed digest
// otherwise, and the same result however the reader splits the input.
func fuzzNormaliser(f *testing.F, n Normaliser, extra func(t *testing.T, in []byte, digest string)) {
	for _, s := range seeds()["Fuzz"+map[string]string{"pyc": "Pyc", "zip": "Zip", "gzip": "Gzip", "shadow": "Shadow", "manifest": "Manifest", "build-info": "BuildInfo", "gem": "Gem"}[n.Name()]] {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		d1, err1 := n.Digest(bytes.NewReader(in))
		d2, err2 := n.Digest(iotest.HalfReader(bytes.NewReader(in)))
		if d1 != d2 || (err1 == nil) != (err2 == nil) {
			t.Fatalf("not deterministic: %q, %v; then %q, %v", d1, err1, d2, err2)
		}
		if err1 != nil {
			if !errors.Is(err1, ErrNotApplicable) || d1 != "" {
				t.Fatalf("Digest = %q, %v; want \"\" and an error wrapping ErrNotApplicable", d1, err1)
			}
			return
		}
		if !strings.HasPrefix(d1, "sha256:") || len(d1) != 71 {
			t.Fatalf("Digest = %q, want sha256:<64 hex>", d1)
		}
		if extra != nil {
			extra(t, in, d1)
		}
	})
}

func FuzzPyc(f *testing.F)    { fuzzNormaliser(f, Pyc(), nil) }
func FuzzGzip(f *testing.F)   { fuzzNormaliser(f, Gzip(), nil) }
func FuzzShadow(f *testing.F) { fuzzNormaliser(f, Shadow(), nil) }

// FuzzZip also round-trips what it accepts: written again by archive/zip,
// deflated, with other times and without extra fields or comments, an
// archive keeps its digest.
func FuzzZip(f *testing.F) {
	fuzzNormaliser(f, Zip(), func(t *testing.T, in []byte, digest string) {
		out, ok := rewriteZip(in)
		if !ok {
			return
		}
		d, err := Zip().Digest(bytes.NewReader(out))
		if err != nil || d != digest {
			t.Fatalf("rewritten by archive/zip: Digest = %q, %v; want %q", d, err, digest)
		}
	})
}

// rewriteZip rewrites the archive in with archive/zip, or reports false if
// archive/zip does not take it.
func rewriteZip(in []byte) ([]byte, bool) {
	zr, err := zip.NewReader(bytes.NewReader(in), int64(len(in)))
	if err != nil {
		return nil, false
	}
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, f := range zr.File {
		fh := &zip.FileHeader{
			Name:           f.Name,
			Method:         zip.Deflate,
			Modified:       time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
			CreatorVersion: f.CreatorVersion,
			ExternalAttrs:  f.ExternalAttrs,
		}
		rc, err := f.Open()
		if err != nil {
			return nil, false
		}
		w, err := zw.CreateHeader(fh)
		if err == nil {
			_, err = io.Copy(w, rc)
		}
		rc.Close()
		if err != nil {
			return nil, false
		}
	}
	if err := zw.Close(); err != nil {
		return nil, false
	}
	return b.Bytes(), true
}

// TestSeedCorpus writes the seeds to testdata/fuzz with -update; otherwise it
// checks each seed has its file. (Not its bytes: compressed seeds change with
// the Go version's compressor, and an old seed is as good as a new one.)
func TestSeedCorpus(t *testing.T) {
	for target, ins := range seeds() {
		dir := filepath.Join("testdata", "fuzz", target)
		for i, in := range ins {
			file := filepath.Join(dir, fmt.Sprintf("seed%d", i))
			if *updateCorpus {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				data := "go test fuzz v1\n[]byte(" + strconv.Quote(string(in)) + ")\n"
				if err := os.WriteFile(file, []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := os.ReadFile(file)
			if err != nil || !strings.HasPrefix(string(got), "go test fuzz v1\n[]byte(") {
				t.Errorf("seed file %s missing or not a corpus file (%v); run go test -run TestSeedCorpus -update", file, err)
			}
		}
	}
}
