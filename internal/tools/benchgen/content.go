package main

import (
	"encoding/binary"
	"io"
	"math/rand/v2"
)

// contentKind says what a file's bytes look like, which decides how well
// they compress.
type contentKind uint8

const (
	// kindText is source code, config and docs: lines of words.
	kindText contentKind = iota
	// kindBinary is executables and shared libraries: code-like random
	// stretches, string tables, relocation-like records and zero padding.
	kindBinary
	// kindData is large assets (archives, models, bundles): mostly
	// incompressible, with some structure.
	kindData
)

// chunk types a file is made of.
const (
	chunkRandom = iota // incompressible
	chunkText          // words from the vocabulary, ~3× with gzip
	chunkTable         // fixed-size records with a counter, ~6-10×
	chunkZero          // padding
	numChunkTypes
)

// chunkWeights gives, per kind, the relative frequency of each chunk type.
// Tuned so that a default image compresses about 2.5× with gzip -6, like
// real distro and application layers.
var chunkWeights = [...][numChunkTypes]int{
	kindText:   {chunkRandom: 2, chunkText: 98},
	kindBinary: {chunkRandom: 22, chunkText: 28, chunkTable: 25, chunkZero: 25},
	kindData:   {chunkRandom: 55, chunkText: 20, chunkTable: 15, chunkZero: 10},
}

// vocab is the word list text chunks are made of; it is derived from the
// seed so that it is the same for every file of a run.
type vocab struct {
	words [][]byte
}

func newVocab(seed uint64) *vocab {
	rng := rand.New(rand.NewPCG(seed, 0x766f636162))
	const n = 4096
	v := &vocab{words: make([][]byte, n)}
	for i := range v.words {
		l := 2 + rng.IntN(6) + rng.IntN(6)
		w := make([]byte, l)
		for j := range w {
			w[j] = 'a' + byte(rng.IntN(26))
		}
		switch rng.IntN(10) {
		case 0:
			w[0] -= 'a' - 'A'
		case 1:
			if l > 4 {
				w[l/2] = '_'
			}
		}
		v.words[i] = w
	}
	return v
}

// punctuation that text lines end words with, now and then.
var punct = []byte("(),;:.=-{}[]\"'/")

// contentWriter produces the bytes of files. It is not safe for concurrent
// use; give each goroutine its own.
type contentWriter struct {
	vocab  *vocab
	buf    []byte
	lines  [64][]byte // recent text lines of the current file
	nlines int
}

func newContentWriter(v *vocab) *contentWriter {
	return &contentWriter{vocab: v, buf: make([]byte, 0, 1<<16)}
}

// write writes exactly size bytes of content of the given kind to w. The
// bytes depend only on (seed, kind, size) and the vocabulary.
func (c *contentWriter) write(w io.Writer, size int64, seed uint64, kind contentKind) error {
	rng := rand.New(rand.NewPCG(seed, uint64(kind)+0x636f6e74))
	c.nlines = 0
	weights := &chunkWeights[kind]
	total := 0
	for _, wt := range weights {
		total += wt
	}
	for size > 0 {
		n := 512 + rng.IntN(15*1024)
		pick := rng.IntN(total)
		typ := 0
		for ; typ < numChunkTypes-1; typ++ {
			if pick < weights[typ] {
				break
			}
			pick -= weights[typ]
		}
		b := c.fill(rng, typ, n)
		if int64(len(b)) > size {
			b = b[:size]
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
		size -= int64(len(b))
	}
	return nil
}

// fill returns n bytes of chunk type typ in c.buf.
func (c *contentWriter) fill(rng *rand.Rand, typ, n int) []byte {
	b := c.buf[:0]
	switch typ {
	case chunkRandom:
		b = b[:(n+7)&^7]
		for i := 0; i < len(b); i += 8 {
			binary.LittleEndian.PutUint64(b[i:], rng.Uint64())
		}
	case chunkText:
		words := c.vocab.words
		for len(b) < n {
			// Source and docs repeat themselves: now and then a line
			// seen a little earlier comes again.
			if c.nlines > 0 && rng.IntN(4) == 0 {
				l := c.lines[rng.IntN(min(c.nlines, len(c.lines)))]
				b = append(b, l...)
				continue
			}
			lineStart := len(b)
			indent := rng.IntN(5) * 2
			for range indent {
				b = append(b, ' ')
			}
			nw := 3 + rng.IntN(10)
			for i := range nw {
				if i > 0 {
					b = append(b, ' ')
				}
				// Zipf-like: common words are much more common.
				r := rng.IntN(len(words))
				r = r * rng.IntN(len(words)) / len(words)
				r = r * rng.IntN(len(words)) / len(words)
				b = append(b, words[r]...)
				if rng.IntN(6) == 0 {
					b = append(b, punct[rng.IntN(len(punct))])
				}
			}
			b = append(b, '\n')
			c.lines[c.nlines%len(c.lines)] = append(c.lines[c.nlines%len(c.lines)][:0], b[lineStart:]...)
			c.nlines++
		}
	case chunkTable:
		rec := 8 << rng.IntN(3) // 8, 16 or 32 bytes
		var tmpl [32]byte
		for i := range tmpl {
			if rng.IntN(3) == 0 {
				tmpl[i] = byte(rng.Uint32())
			}
		}
		ctr := rng.Uint32()
		step := uint32(1 + rng.IntN(64))
		for len(b) < n {
			b = append(b, tmpl[:rec]...)
			binary.LittleEndian.PutUint32(b[len(b)-rec:], ctr)
			ctr += step
			if rng.IntN(4) == 0 {
				b[len(b)-1] = byte(rng.Uint32())
			}
		}
	case chunkZero:
		b = b[:n]
		clear(b)
	}
	c.buf = b[:0]
	if len(b) > n {
		b = b[:n]
	}
	return b
}
