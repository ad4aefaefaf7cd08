package detect

import (
	"bytes"
	stdgzip "compress/gzip"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	kgzip "github.com/klauspost/compress/gzip"

	"github.com/imgver/imgver/internal/imagetest"
)

// benchPair writes two OCI layouts of about IMGVER_BENCH_MB MiB in
// IMGVER_BENCH_FILES files each (benchSizes), split into layers
// differently, one file changed.
func benchPair(b testing.TB) (string, string, int64) {
	b.Helper()
	n, size := benchSizes(b)
	if os.Getenv("IMGVER_BENCH_PAIR") != "" {
		return "", "", 1
	}
	rng := rand.New(rand.NewPCG(1, 2))
	words := strings.Fields("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua")
	files := make([]f, n)
	var total int64
	for i := range files {
		var sb strings.Builder
		for sb.Len() < size/n {
			sb.WriteString(words[rng.IntN(len(words))])
			sb.WriteByte(byte('a' + rng.IntN(26)))
			sb.WriteByte(' ')
		}
		files[i] = file(fmt.Sprintf("data/d%03d/f%06d.txt", i%100, i), sb.String())
		files[i].mtime = epoch
		total += int64(sb.Len())
	}
	split := func(files []f, k int) [][]f {
		var out [][]f
		per := (len(files) + k - 1) / k
		for i := 0; i < len(files); i += per {
			out = append(out, files[i:min(i+per, len(files))])
		}
		return out
	}
	a := spec{layers: split(files, 4)}
	changed := append([]f(nil), files...)
	changed[n/2].content = "changed"
	bs := spec{layers: split(changed, 3), kind: gzBest}
	if os.Getenv("IMGVER_BENCH_FAST_SETUP") != "" {
		bs.kind = gz
	}
	return writeOCI(b, a.image(b)), writeOCI(b, bs.image(b)), total
}

// BenchmarkDiff compares a generated pair with a fresh Comparer (no cache).
// Compare with BenchmarkGunzipSHA256, the floor: reading the same blobs.
func BenchmarkDiff(b *testing.B) {
	a, bb, total := benchPair(b)
	if dir := os.Getenv("IMGVER_BENCH_PAIR"); dir != "" {
		// A pair written by TestWriteBenchPair or scripts/bench.sh.
		a, bb = "oci:"+filepath.Join(dir, "a"), "oci:"+filepath.Join(dir, "b")
	}
	b.SetBytes(2 * total)
	b.ResetTimer()
	for b.Loop() {
		c := newComparer(b)
		res, err := c.Diff(b.Context(), a, bb)
		if err != nil {
			b.Fatal(err)
		}
		if res.Verdict != Changed {
			b.Fatal("verdict same")
		}
	}
}

// BenchmarkGunzipSHA256 decompresses every layer blob of the pair and
// hashes it: the least any comparison must do.
func BenchmarkGunzipSHA256(b *testing.B) {
	a, bb, total := benchPair(b)
	if dir := os.Getenv("IMGVER_BENCH_PAIR"); dir != "" {
		a, bb = "oci:"+filepath.Join(dir, "a"), "oci:"+filepath.Join(dir, "b")
	}
	b.SetBytes(2 * total)
	var blobs []string
	for _, ref := range []string{a, bb} {
		dir := strings.TrimPrefix(ref, "oci:")
		img, err := (&source{ref: &Reference{raw: ref, Path: dir}}).openAndImage()
		if err != nil {
			b.Fatal(err)
		}
		for _, d := range imagetest.LayerDigests(b, img) {
			blobs = append(blobs, filepath.Join(dir, "blobs", d.Algorithm, d.Hex))
		}
	}
	b.ResetTimer()
	for b.Loop() {
		for _, p := range blobs {
			fh, err := os.Open(p)
			if err != nil {
				b.Fatal(err)
			}
			zr, err := decompress(fh)
			if err != nil {
				b.Fatal(err)
			}
			h := sha256.New()
			if _, err := io.Copy(h, zr); err != nil {
				b.Fatal(err)
			}
			fh.Close()
		}
	}
}

// envInt is the integer in the environment variable name, or def.
func envInt(t testing.TB, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, s, err)
	}
	return n
}

// benchSizes are IMGVER_BENCH_FILES (default 4000) and IMGVER_BENCH_MB
// (default 32) MiB.
func benchSizes(t testing.TB) (files, size int) {
	return envInt(t, "IMGVER_BENCH_FILES", 4000), envInt(t, "IMGVER_BENCH_MB", 32) << 20
}

// TestWriteBenchPair writes the benchmark pair to $IMGVER_BENCH_OUT/{a,b}
// for measuring the command itself (time, peak RSS).
func TestWriteBenchPair(t *testing.T) {
	out := os.Getenv("IMGVER_BENCH_OUT")
	if out == "" {
		t.Skip("IMGVER_BENCH_OUT not set")
	}
	a, b, _ := benchPair(t)
	for name, ref := range map[string]string{"a": a, "b": b} {
		if err := os.CopyFS(filepath.Join(out, name), os.DirFS(strings.TrimPrefix(ref, "oci:"))); err != nil {
			t.Fatal(err)
		}
	}
}

// BenchmarkGunzip compares the standard library's gzip reader (what
// layer.Uncompressed uses) with klauspost's (what the Comparer uses).
func BenchmarkGunzip(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	words := strings.Fields("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor")
	var raw bytes.Buffer
	for raw.Len() < 32<<20 {
		fmt.Fprintf(&raw, "%s%d ", words[rng.IntN(len(words))], rng.IntN(1000))
	}
	gz := gzipBytes(b, raw.Bytes(), stdgzip.DefaultCompression)
	readers := map[string]func(io.Reader) (io.Reader, error){
		"stdlib":    func(r io.Reader) (io.Reader, error) { return stdgzip.NewReader(r) },
		"klauspost": func(r io.Reader) (io.Reader, error) { return kgzip.NewReader(r) },
	}
	for _, name := range []string{"stdlib", "klauspost"} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(raw.Len()))
			for b.Loop() {
				zr, err := readers[name](bytes.NewReader(gz))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(sha256.New(), zr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
