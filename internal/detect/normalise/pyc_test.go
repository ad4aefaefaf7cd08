package normalise

import (
	"encoding/binary"
	"testing"
)

// Magic numbers of some Python versions.
const (
	magic27  = 62211
	magic32  = 3180
	magic35  = 3350
	magic37  = 3394
	magic311 = 3495
	magic312 = 3531
)

// pycFile builds a .pyc: the magic number, then the header words, then code.
func pycFile(magic uint16, words []uint32, code string) []byte {
	b := binary.LittleEndian.AppendUint16(nil, magic)
	b = append(b, '\r', '\n')
	for _, w := range words {
		b = binary.LittleEndian.AppendUint32(b, w)
	}
	return append(b, code...)
}

const code = "\xe3\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\xf3\x0c\x00\x00\x00print('hi')"

func TestPycDigest(t *testing.T) {
	runPairs(t, Pyc(), []pairCase{
		// Python 3.7+, timestamp-based: words are flags, mtime, size.
		{"3.12 mtime", pycFile(magic312, []uint32{0, 1700000000, 10}, code), pycFile(magic312, []uint32{0, 1800000000, 10}, code), true},
		{"3.12 source size", pycFile(magic312, []uint32{0, 1700000000, 10}, code), pycFile(magic312, []uint32{0, 1700000000, 11}, code), true},
		{"3.7 mtime and size", pycFile(magic37, []uint32{0, 1, 2}, code), pycFile(magic37, []uint32{0, 3, 4}, code), true},
		{"3.12 code byte", pycFile(magic312, []uint32{0, 1, 2}, code), pycFile(magic312, []uint32{0, 1, 2}, code+"!"), false},
		{"3.12 magic", pycFile(magic312, []uint32{0, 1, 2}, code), pycFile(magic311, []uint32{0, 1, 2}, code), false},
		// Hash-based: words are flags, then the 8-byte source hash.
		{"3.12 source hash", pycFile(magic312, []uint32{1, 0xdead, 0xbeef}, code), pycFile(magic312, []uint32{1, 0xdead, 0xbeee}, code), false},
		{"3.12 checked source hash", pycFile(magic312, []uint32{3, 0xdead, 0xbeef}, code), pycFile(magic312, []uint32{3, 0xdeae, 0xbeef}, code), false},
		{"3.12 checked or not", pycFile(magic312, []uint32{1, 0xdead, 0xbeef}, code), pycFile(magic312, []uint32{3, 0xdead, 0xbeef}, code), false},
		{"3.12 hash-based or not", pycFile(magic312, []uint32{0, 0, 0}, code), pycFile(magic312, []uint32{1, 0, 0}, code), false},
		// Python 3.3-3.6: mtime, size, then code at byte 12.
		{"3.5 mtime and size", pycFile(magic35, []uint32{1, 2}, code), pycFile(magic35, []uint32{3, 4}, code), true},
		{"3.5 first code word", pycFile(magic35, []uint32{1, 2, 7}, code), pycFile(magic35, []uint32{1, 2, 8}, code), false},
		// Python 2 and 3.0-3.2: mtime, then code at byte 8.
		{"2.7 mtime", pycFile(magic27, []uint32{1}, code), pycFile(magic27, []uint32{2}, code), true},
		{"2.7 first code word", pycFile(magic27, []uint32{1, 7}, code), pycFile(magic27, []uint32{1, 8}, code), false},
		{"3.2 mtime", pycFile(magic32, []uint32{1}, code), pycFile(magic32, []uint32{2}, code), true},
		{"3.2 first code word", pycFile(magic32, []uint32{1, 7}, code), pycFile(magic32, []uint32{1, 8}, code), false},
	})
}

func TestPycNotApplicable(t *testing.T) {
	runNotApplicable(t, Pyc(), map[string][]byte{
		"empty":              nil,
		"no CR LF":           []byte("#!/usr/bin/env python3\nprint(1)\n"),
		"short":              {0x03, 0xf3, '\r', '\n', 0, 0},
		"3.12 short header":  pycFile(magic312, []uint32{0, 1}, ""),
		"3.5 short header":   pycFile(magic35, []uint32{1}, ""),
		"3.12 unknown flags": pycFile(magic312, []uint32{2, 0, 0}, code),
		"3.12 high flags":    pycFile(magic312, []uint32{0x100, 0, 0}, code),
	})
}

func TestPycReadError(t *testing.T) {
	testReadError(t, Pyc(), pycFile(magic312, []uint32{0, 1, 2}, code))
}
