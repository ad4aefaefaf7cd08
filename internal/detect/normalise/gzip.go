package normalise

import (
	"bufio"
	"compress/gzip"
	"hash"
	"io"
	"path"
	"strings"
)

// Gzip returns the normaliser for gzip files (.gz, .tgz): it digests the
// decompressed stream, so the header (mtime, name, OS byte, comment) and the
// compression level do not count.
func Gzip() Normaliser {
	return canonNormaliser{name: "gzip", match: matchGzip, canon: canonGzip}
}

func matchGzip(p string, size int64) bool {
	ext := strings.ToLower(path.Ext(p))
	return (ext == ".gz" || ext == ".tgz") && size >= 18 // smallest gzip member
}

// canonGzip writes the decompressed stream read from r to w.
func canonGzip(r io.Reader, w hash.Hash) error {
	// A bufio.Reader is an io.ByteReader, so the decompressor reads no
	// further than each member's end and the next header is found there.
	zr, err := gzip.NewReader(bufio.NewReaderSize(r, 32<<10))
	if err != nil {
		return err
	}
	// Streamed into a hash, nothing held: a decompression bomb costs time
	// only, as any large layer does.
	_, err = io.Copy(w, zr) //nolint:gosec // G110: see above
	return err
}
