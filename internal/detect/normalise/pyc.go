package normalise

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"path"
	"strings"
)

// Python magic numbers (the little-endian uint16 before "\r\n") at which the
// .pyc header changed shape.
const (
	// Before 3.3 (Python 1, 2, 3.0-3.2): magic + mtime.
	magicPy33 = 3230 // 3.3: magic + mtime + source size
	magicPy37 = 3390 // 3.7: magic + flags + (mtime + size | source hash), PEP 552
	magicPy2  = 10000
)

// Pyc returns the normaliser for compiled Python files (.pyc, .pyo). It
// ignores the source mtime and size recorded in the header and keeps the
// source hash of a hash-based pyc.
func Pyc() Normaliser {
	return canonNormaliser{name: "pyc", match: matchPyc, canon: canonPyc}
}

func matchPyc(p string, size int64) bool {
	ext := strings.ToLower(path.Ext(p))
	return (ext == ".pyc" || ext == ".pyo") && size >= 8
}

// canonPyc writes the pyc read from r to w with the source mtime and size of
// its header zeroed.
func canonPyc(r io.Reader, w hash.Hash) error {
	var hdr [16]byte
	if _, err := io.ReadFull(r, hdr[:8]); err != nil {
		return err
	}
	if hdr[2] != '\r' || hdr[3] != '\n' {
		return errors.New("no pyc magic number")
	}
	n := 8
	switch magic := binary.LittleEndian.Uint16(hdr[:2]); {
	case magic >= magicPy37 && magic < magicPy2:
		n = 16
		if _, err := io.ReadFull(r, hdr[8:16]); err != nil {
			return err
		}
		switch flags := binary.LittleEndian.Uint32(hdr[4:8]); flags {
		case 0: // timestamp-based: source mtime and size
			clear(hdr[8:16])
		case 1, 3: // hash-based (unchecked, checked): the source hash is content
		default:
			return fmt.Errorf("unknown pyc flags %#x", flags)
		}
	case magic >= magicPy33 && magic < magicPy37:
		n = 12
		if _, err := io.ReadFull(r, hdr[8:12]); err != nil {
			return err
		}
		clear(hdr[4:12]) // source mtime and size
	default: // Python 1, 2 and 3.0-3.2
		clear(hdr[4:8]) // source mtime
	}
	w.Write(hdr[:n]) // a hash.Hash's Write never fails
	_, err := io.Copy(w, r)
	return err
}
