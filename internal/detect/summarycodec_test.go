package detect

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// zstdMagic starts a zstd frame.
var zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}

// summarySeeds are the seed inputs of FuzzDecodeSummary: decoded bytes
// (the fuzz target compresses them), and compressed ones.
func summarySeeds(t testing.TB) map[string][]byte {
	ref := writeOCI(t, richSpec(t, "1.0").image(t))
	c := newComparer(t, WithPackages())
	sums := summarize(t, c, ref)
	img, err := uncompress(sums[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	s, err := decodeImageSummary(sums[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	d := s.diffIDs[0]
	layer, err := uncompress(encodeLayerRecord(s.key, d, s.layers[d]))
	if err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{
		"image":            img,
		"layer":            layer,
		"image-compressed": sums[0].Data,
		"truncated":        img[:len(img)*2/3],
		"other-version":    append(append([]byte(summaryMagic), SummaryVersion+1), img[len(summaryMagic)+1:]...),
		"empty":            {},
	}
}

// FuzzDecodeSummary feeds malformed summaries to the decoders: each must
// return an error or a summary, never panic, and what one accepts encodes
// to the same bytes and merges into a tree.
func FuzzDecodeSummary(f *testing.F) {
	for _, b := range summarySeeds(f) {
		f.Add(b)
	}
	c := newComparer(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		data := b
		if !bytes.HasPrefix(b, zstdMagic) {
			// Most inputs are decoded bytes: compressed, they reach the
			// fields.
			data = compress(b)
		}
		if s, err := decodeImageSummary(data); err == nil {
			again, err := encodeImageSummary(s)
			if err != nil {
				t.Fatal(err)
			}
			sameDecoded(t, data, again)
			layers := make([]*layerSummary, len(s.diffIDs))
			for i, d := range s.diffIDs {
				layers[i] = s.layers[d]
			}
			c.merge(layers)
		}
		if key, id, s, err := decodeLayerRecord(data); err == nil {
			sameDecoded(t, data, encodeLayerRecord(key, id, s))
			c.merge([]*layerSummary{s, s})
		}
	})
}

// sameDecoded fails unless the summaries a and b decompress to the same
// bytes.
func sameDecoded(t *testing.T, a, b []byte) {
	t.Helper()
	ra, err := uncompress(a)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := uncompress(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ra, rb) {
		t.Fatalf("decoded and encoded again:\n%q\nwas\n%q", rb, ra)
	}
}

// benchLayer is the summary of a layer of n files of a Python library
// tree, with real-looking digests.
func benchLayer(n int) *layerSummary {
	rng := rand.New(rand.NewPCG(3, 4))
	s := &layerSummary{}
	var sum [32]byte
	for i := range n {
		for k := range sum {
			sum[k] = byte(rng.Uint32())
		}
		p := fmt.Sprintf("/usr/lib/python3/dist-packages/pkg%03d/sub%02d/module_%05d.py", i/200, i%17, i)
		s.entries = append(s.entries, Entry{Path: p, srcPath: p, Type: TypeFile, Mode: 0o644, Size: int64(rng.IntN(64 << 10)), Digest: "sha256:" + hex.EncodeToString(sum[:])})
		if i%200 == 0 {
			d := fmt.Sprintf("/usr/lib/python3/dist-packages/pkg%03d", i/200)
			s.entries = append(s.entries, Entry{Path: d, srcPath: d, Type: TypeDir, Mode: 0o755})
		}
	}
	return s
}

// BenchmarkDecodeSummary decodes the local cache entry of a layer of 5000
// files (reported: bytes encoded, ns per entry).
func BenchmarkDecodeSummary(b *testing.B) {
	s := benchLayer(5000)
	d := v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%064d", 1)}
	key := summaryKey{version: SummaryVersion, normalisers: []string{"pyc"}}.String()
	data := encodeLayerRecord(key, d, s)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, err := decodeLayerRecord(data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(s.entries)), "ns/entry")
	b.ReportMetric(float64(len(data)), "summary-bytes")
}

// BenchmarkWarmDiff compares the benchmark pair (benchPair) with every
// layer summary in the local cache: a re-run of detect. "no-text-diffs"
// leaves out the unified diff of the changed text file, whose two layers
// are read in any case.
func BenchmarkWarmDiff(b *testing.B) {
	a, bb, _ := benchPair(b)
	cache := newMapCache()
	c := newComparer(b, WithLayerCache(cache))
	if _, err := c.Diff(b.Context(), a, bb); err != nil {
		b.Fatal(err)
	}
	for _, textDiffs := range []bool{true, false} {
		name := "text-diffs"
		if !textDiffs {
			name = "no-text-diffs"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c := newComparer(b, WithLayerCache(cache))
				if !textDiffs {
					c.o.maxTextDiffSize = -1
				}
				res, err := c.Diff(b.Context(), a, bb)
				if err != nil {
					b.Fatal(err)
				}
				if res.Verdict != Changed || res.Platforms[0].SourceA != SourceCache {
					b.Fatalf("verdict %s, source %s", res.Verdict, res.Platforms[0].SourceA)
				}
			}
		})
	}
}
