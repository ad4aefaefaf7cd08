package detect

import (
	"bytes"
	stdgzip "compress/gzip"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	kgzip "github.com/klauspost/compress/gzip"
)

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
