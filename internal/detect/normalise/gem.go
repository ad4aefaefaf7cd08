package normalise

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
)

// maxGemEntries bounds the entries of a gem's data.tar.gz (and of the gem
// itself), the only state that grows with the gem.
const maxGemEntries = 1 << 20

// Gem returns the normaliser for RubyGems packages (*.gem): it compares the
// gemspec without its date and the files of data.tar.gz by name, type, mode
// and content, without tar and gzip timestamps; see the package
// documentation.
func Gem() Normaliser {
	return canonNormaliser{name: "gem", match: matchGem, canon: canonGem}
}

func matchGem(p string, size int64) bool {
	return strings.HasSuffix(p, ".gem") && size >= 1024 // smallest tar: its end blocks
}

// canonGem writes the canonical form of the gem read from r to w: for each
// member of the outer tar, in order, except checksums.yaml.gz:
// uvarint(len(name)) name uvarint(mode) sha256(32) of the member's canonical
// form (metadata.gz: the gemspec YAML with "date: *"; data.tar.gz: see
// canonGemData; anything else: its bytes).
func canonGem(r io.Reader, w hash.Hash) error {
	var rec []byte
	n, err := eachGemEntry(r, func(hdr *tar.Header, content io.Reader) error {
		if hdr.Typeflag != tar.TypeReg {
			return fmt.Errorf("%w: member %q is not a regular file", ErrNotApplicable, hdr.Name)
		}
		h := sha256.New()
		var err error
		switch hdr.Name {
		case "checksums.yaml.gz":
			// The digests of the compressed metadata.gz and data.tar.gz,
			// which change with their timestamps; the members count.
			return nil
		case "metadata.gz":
			err = gunzipThen(content, func(r io.Reader) error { return canonGemspec(r, h) })
		case "data.tar.gz":
			err = gunzipThen(content, func(r io.Reader) error { return canonGemData(r, h) })
		default:
			_, err = io.Copy(h, content) //nolint:gosec // G110: streamed into a hash, a bomb costs time only
		}
		if err != nil {
			return fmt.Errorf("member %q: %w", hdr.Name, err)
		}
		rec = binary.AppendUvarint(rec[:0], uint64(len(hdr.Name)))
		rec = append(rec, hdr.Name...)
		rec = binary.AppendUvarint(rec, uint64(hdr.Mode&0o7777))
		w.Write(h.Sum(rec))
		return nil
	})
	if err == nil && n == 0 {
		return errors.New("no members")
	}
	return err
}

// eachGemEntry calls f with the header and the content of each entry of the
// tar read from r (a gem or its data.tar), in order, and returns how many
// entries it read. A tar it cannot read or with more than maxGemEntries
// entries is ErrNotApplicable; an error of f stops the walk and is returned
// as it is.
func eachGemEntry(r io.Reader, f func(hdr *tar.Header, content io.Reader) error) (int, error) {
	tr := tar.NewReader(r)
	for n := 0; ; n++ {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("%w: %w", ErrNotApplicable, err)
		}
		if n == maxGemEntries {
			return n, fmt.Errorf("%w: more than %d entries", ErrNotApplicable, maxGemEntries)
		}
		if err := f(hdr, tr); err != nil {
			return n, err
		}
	}
}

// gunzipThen calls f with the decompressed content of the gzip stream r
// (every member), and checks that f read it to its end and its checksum.
func gunzipThen(r io.Reader, f func(io.Reader) error) error {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNotApplicable, err)
	}
	if err := f(zr); err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, zr); err != nil { //nolint:gosec // G110: streamed, a bomb costs time only
		return fmt.Errorf("%w: %w", ErrNotApplicable, err)
	}
	return nil
}

// canonGemData writes the canonical form of a gem's data.tar (the files
// installed) to w: for each entry, in order, uvarint(len(name)) name
// typeflag(1) uvarint(mode) uvarint(len(link)) link sha256(32) of the
// content. Times, owners and their names do not count: gem install sets
// none of them.
func canonGemData(r io.Reader, w hash.Hash) error {
	var rec []byte
	_, err := eachGemEntry(r, func(hdr *tar.Header, content io.Reader) error {
		h := sha256.New()
		if _, err := io.Copy(h, content); err != nil { //nolint:gosec // G110: streamed into a hash, a bomb costs time only
			return fmt.Errorf("%w: %w", ErrNotApplicable, err)
		}
		rec = binary.AppendUvarint(rec[:0], uint64(len(hdr.Name)))
		rec = append(rec, hdr.Name...)
		rec = append(rec, hdr.Typeflag)
		rec = binary.AppendUvarint(rec, uint64(hdr.Mode&0o7777))
		rec = binary.AppendUvarint(rec, uint64(len(hdr.Linkname)))
		rec = append(rec, hdr.Linkname...)
		w.Write(h.Sum(rec))
		return nil
	})
	if err != nil {
		return fmt.Errorf("data.tar: %w", err)
	}
	return nil
}

// gemDate starts the line of the gemspec YAML that holds the build day
// (gem build writes "date: 2026-11-30 00:00:00.000000000 Z", the day it ran
// or SOURCE_DATE_EPOCH's).
var gemDate = []byte("date: ")

// canonGemspec writes the gemspec YAML read from r to w with the value of
// its top-level date replaced by "*".
func canonGemspec(r io.Reader, w hash.Hash) error {
	br := bufio.NewReader(r)
	atStart, skip := true, false
	for {
		chunk, err := br.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) && !errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: %w", ErrNotApplicable, err)
		}
		if atStart && bytes.HasPrefix(chunk, gemDate) {
			w.Write([]byte("date: *\n"))
			skip = true
		}
		if !skip {
			w.Write(chunk)
		}
		atStart = bytes.HasSuffix(chunk, []byte("\n"))
		if atStart {
			skip = false
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
	}
}
