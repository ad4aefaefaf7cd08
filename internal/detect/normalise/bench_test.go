package normalise

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// benchZip is the content of a generated archive: blocks written again and
// again, so that the archive is streamed through an io.Pipe and never held.
type benchZip struct {
	random, text, textDeflated, nested []byte
	randomCRC, textCRC, nestedCRC      uint32
}

const benchBlock = 4 << 20

func newBenchZip() *benchZip {
	z := &benchZip{random: make([]byte, benchBlock)}
	rng := rand.New(rand.NewChaCha8([32]byte{1}))
	for i := range z.random {
		z.random[i] = byte(rng.Uint32())
	}
	words := strings.Fields("public class static void final return import package String int new this null if else for while try catch throw")
	var t bytes.Buffer
	for t.Len() < benchBlock {
		t.WriteString(words[rng.IntN(len(words))])
		t.WriteByte(" \n"[rng.IntN(2)])
	}
	z.text = t.Bytes()[:benchBlock]
	z.textDeflated = deflate(z.text, flate.DefaultCompression)
	z.randomCRC, z.textCRC = crc32.ChecksumIEEE(z.random), crc32.ChecksumIEEE(z.text)
	// A nested jar of 8 stored blocks (32 MiB), as BOOT-INF/lib holds.
	var n bytes.Buffer
	must(z.write(&n, 8, 0, nil))
	z.nested, z.nestedCRC = n.Bytes(), crc32.ChecksumIEEE(n.Bytes())
	return z
}

// write writes an archive of stored random blocks, deflated text blocks
// (with data descriptors), and the nested jar if nested is set.
func (z *benchZip) write(w io.Writer, stored, deflated int, nested []byte) error {
	zw := zip.NewWriter(w)
	add := func(name string, method uint16, flags uint16, crc uint32, usize int, data []byte) error {
		fh := &zip.FileHeader{Name: name, Method: method, Flags: flags, CRC32: crc,
			CompressedSize64: uint64(len(data)), UncompressedSize64: uint64(usize)}
		fh.SetMode(0o644)
		fw, err := zw.CreateRaw(fh)
		if err == nil {
			_, err = fw.Write(data)
		}
		return err
	}
	for i := range stored {
		if err := add(fmt.Sprintf("lib/random-%03d.bin", i), zip.Store, 0, z.randomCRC, len(z.random), z.random); err != nil {
			return err
		}
	}
	for i := range deflated {
		if err := add(fmt.Sprintf("com/example/Class%03d.class", i), zip.Deflate, 0x8, z.textCRC, len(z.text), z.textDeflated); err != nil {
			return err
		}
	}
	if nested != nil {
		if err := add("BOOT-INF/lib/nested.jar", zip.Store, 0, z.nestedCRC, len(nested), nested); err != nil {
			return err
		}
	}
	return zw.Close()
}

// BenchmarkZipStream normalises generated archives streamed through an
// io.Pipe, as the engine streams a layer's file: 4 MiB stored entries, 4 MiB
// deflated ones with data descriptors, and a 32 MiB nested jar. B/op and peak-heap-MiB
// stay flat as the archive grows: memory does not grow with file size.
func BenchmarkZipStream(b *testing.B) {
	z := newBenchZip()
	for _, tc := range []struct {
		name             string
		stored, deflated int
	}{
		{"80MB", 10, 4},
		{"200MB", 40, 16},
		{"500MB", 110, 16},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var size countWriter
			if err := z.write(&size, tc.stored, tc.deflated, z.nested); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			peak := samplePeakHeap()
			for b.Loop() {
				pr, pw := io.Pipe()
				go func() { pw.CloseWithError(z.write(pw, tc.stored, tc.deflated, z.nested)) }()
				if _, err := Zip().Digest(pr); err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, pr); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(peak()/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(size)/1e6, "zip-MB")
		})
	}
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

// samplePeakHeap samples the bytes in live heap objects until the returned
// function is called, which reports the peak above the level at the start.
func samplePeakHeap() func() float64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 { metrics.Read(s); return s[0].Value.Uint64() }
	base := read()
	var peak atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if v := read(); v > peak.Load() {
					peak.Store(v)
				}
			}
		}
	}()
	return func() float64 {
		close(done)
		<-stopped
		return float64(max(peak.Load(), base) - base)
	}
}
