package normalise

import (
	"bufio"
	"compress/gzip"
	"io"
	"path"
	"strings"
)

type gz struct{}

var _ Normaliser = gz{}

// Gzip returns the normaliser for gzip files (.gz, .tgz): it digests the
// decompressed stream, so the header (mtime, name, OS byte, comment) and the
// compression level do not count.
func Gzip() Normaliser { return gz{} }

func (gz) Name() string { return "gzip" }

func (gz) Match(p string, size int64) bool {
	ext := strings.ToLower(path.Ext(p))
	return (ext == ".gz" || ext == ".tgz") && size >= 18 // smallest gzip member
}

func (gz) Digest(r io.Reader) (string, error) {
	src := &source{r: r}
	// A bufio.Reader is an io.ByteReader, so the decompressor reads no
	// further than each member's end and the next header is found there.
	zr, err := gzip.NewReader(bufio.NewReaderSize(src, 32<<10))
	if err != nil {
		return "", classify("gzip", src, err)
	}
	h := newDigest("gzip")
	// Streamed into a hash, nothing held: a decompression bomb costs time
	// only, as any large layer does.
	if _, err := io.Copy(h, zr); err != nil { //nolint:gosec // G110: see above
		return "", classify("gzip", src, err)
	}
	return format(h.Sum(nil)), nil
}
