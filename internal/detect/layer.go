package detect

import (
	"archive/tar"
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/imgver/imgver/internal/clip"
	"github.com/imgver/imgver/internal/detect/normalise"
)

// Type is the kind of a file system entry.
type Type string

// The entry types. A hard link is a TypeFile whose Entry.Hardlink is set.
const (
	TypeFile    Type = "file"
	TypeDir     Type = "dir"
	TypeSymlink Type = "symlink"
	TypeChar    Type = "char"
	TypeBlock   Type = "block"
	TypeFifo    Type = "fifo"
	// typeHardlink only lives in a layer summary, before merging.
	typeHardlink Type = "hardlink"
)

// Entry is one path of a normalised file system.
type Entry struct {
	// Path is absolute and clean: "/", "/etc", "/etc/passwd".
	Path string `json:"path"`
	Type Type   `json:"type"`
	// Mode holds the permission bits with setuid, setgid and sticky (07777);
	// in JSON an octal string such as "0755".
	Mode Mode `json:"mode"`
	UID  int  `json:"uid"`
	GID  int  `json:"gid"`
	// Size and Digest describe a regular file's content; Digest is
	// "sha256:<hex>", of the normalised content when Normaliser is set.
	Size       int64  `json:"size,omitempty"`
	Digest     string `json:"digest,omitempty"`
	Normaliser string `json:"normaliser,omitempty"`
	// Link is a symlink's target, as written.
	Link string `json:"link,omitempty"`
	// Hardlink is set on every member of a group of hard-linked paths but
	// the first in byte order, and names that first path.
	Hardlink string `json:"hardlink,omitempty"`
	DevMajor int64  `json:"dev_major,omitempty"`
	DevMinor int64  `json:"dev_minor,omitempty"`
	// Xattrs maps extended attribute names to their hex-encoded values.
	Xattrs map[string]string `json:"xattrs,omitempty"`
	// Layer is the index of the layer that last wrote the entry, -1 for an
	// implicit parent directory.
	Layer int `json:"layer"`
	// Implicit marks a parent directory no layer has an entry for.
	Implicit bool `json:"implicit,omitempty"`
	// IgnoredBy names the noise rule that leaves the path out, if any.
	IgnoredBy string `json:"ignored_by,omitempty"`

	// srcLayer and srcPath say where the content bytes are (a hard link's
	// are at its target's path).
	srcLayer int
	srcPath  string
}

// Mode is a file's permission bits with setuid, setgid and sticky. In JSON
// it is an octal string ("4755").
type Mode uint32

// octalMode renders a mode as "0755".
func octalMode(m Mode) string { return fmt.Sprintf("%04o", uint32(m)) }

// MarshalText writes the mode in octal.
func (m Mode) MarshalText() ([]byte, error) { return []byte(octalMode(m)), nil }

// UnmarshalText reads what MarshalText writes.
func (m *Mode) UnmarshalText(b []byte) error {
	v, err := strconv.ParseUint(string(b), 8, 32)
	if err != nil {
		return fmt.Errorf("mode %q: %w", b, err)
	}
	*m = Mode(v)
	return nil
}

// layerSummary is what one layer contributes, in tar order.
type layerSummary struct {
	entries   []Entry
	whiteouts []string // paths removed from lower layers
	opaques   []string // dirs whose lower contents are removed
}

// cleanPath makes a tar entry name absolute and clean: "./a/", "a" and
// "/a" all become "/a".
func cleanPath(name string) string {
	return path.Clean("/" + name)
}

// pathMax is Linux's PATH_MAX: the longest path a system call takes, its
// terminating NUL included. No unpacker can create an entry whose path, or
// whose link target, is longer, so a layer holding one is corrupt; turning
// it down also bounds the work of walking a path's ancestors, which costs
// time quadratic in its depth.
const pathMax = 4096

// PathTooLongError is returned for a layer entry whose path or link
// target is longer than PATH_MAX (4096 bytes): the layer is corrupt.
type PathTooLongError struct {
	// Path is the entry's clean path, Link the target when that is the
	// long one; both as found, Error cuts them.
	Path, Link string
}

func (e *PathTooLongError) Error() string {
	if e.Link != "" {
		return fmt.Sprintf("corrupt layer: entry %s links to a path longer than PATH_MAX (%d bytes): %s", clip.Quote(e.Path), pathMax, clip.Quote(e.Link))
	}
	return fmt.Sprintf("corrupt layer: entry path longer than PATH_MAX (%d bytes): %s", pathMax, clip.Quote(e.Path))
}

// checkPathLen returns a *PathTooLongError when p, the clean path of hdr,
// the target of its symlink or the clean target of its hard link is longer
// than pathMax-1 bytes.
func checkPathLen(p string, hdr *tar.Header) error {
	switch {
	case len(p) >= pathMax:
		return &PathTooLongError{Path: p}
	case hdr.Typeflag == tar.TypeSymlink && len(hdr.Linkname) >= pathMax:
		return &PathTooLongError{Path: p, Link: hdr.Linkname}
	case hdr.Typeflag == tar.TypeLink && len(hdr.Linkname) >= pathMax:
		if l := cleanPath(hdr.Linkname); len(l) >= pathMax {
			return &PathTooLongError{Path: p, Link: l}
		}
	}
	return nil
}

// parentDir is path.Dir for a clean absolute path, without cleaning again:
// walking up a path costs the length of the path, not its square.
func parentDir(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return "/"
	}
	return p[:i]
}

const (
	whiteoutPrefix = ".wh."
	opaqueMarker   = ".wh..wh..opq"
	whiteoutMeta   = ".wh..wh."
)

// errTracker remembers the first error of the reader it wraps, so that a
// read error can be told from a normaliser not understanding the content.
type errTracker struct {
	r   io.Reader
	err error
}

func (e *errTracker) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

// layerReader reads uncompressed layer tars into summaries.
type layerReader struct {
	normalisers []normalise.Normaliser
	buf         []byte
	h           hash.Hash
	sum         [sha256.Size]byte
}

// rawDigest returns "sha256:<hex>" of what lr.h has hashed.
func (lr *layerReader) rawDigest() string {
	var out [7 + 2*sha256.Size]byte
	copy(out[:], "sha256:")
	hex.Encode(out[7:], lr.h.Sum(lr.sum[:0]))
	return string(out[:])
}

func newLayerReader(ns []normalise.Normaliser) *layerReader {
	return &layerReader{normalisers: ns, buf: make([]byte, 256<<10), h: sha256.New()}
}

// read streams the tar in r. It never holds a file's content.
func (lr *layerReader) read(r io.Reader) (*layerSummary, error) {
	tr := tar.NewReader(r)
	s := &layerSummary{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		p := cleanPath(hdr.Name)
		if err := checkPathLen(p, hdr); err != nil {
			return nil, err
		}
		dir, base := path.Split(p)
		if strings.HasPrefix(base, whiteoutPrefix) {
			switch {
			case base == opaqueMarker:
				s.opaques = append(s.opaques, path.Clean(dir))
			case strings.HasPrefix(base, whiteoutMeta):
				// aufs metadata (.wh..wh.plnk, ...): not part of the tree.
			default:
				s.whiteouts = append(s.whiteouts, path.Join(dir, base[len(whiteoutPrefix):]))
			}
			continue
		}
		e := Entry{
			Path: p,
			Mode: Mode(hdr.Mode & 0o7777),
			UID:  hdr.Uid,
			GID:  hdr.Gid,
		}
		switch {
		case isRegular(hdr):
			e.Type = TypeFile
			e.Size = hdr.Size
			if err := lr.digest(&e, tr); err != nil {
				return nil, fmt.Errorf("reading %s: %w", p, err)
			}
		case hdr.Typeflag == tar.TypeDir:
			e.Type = TypeDir
		case hdr.Typeflag == tar.TypeSymlink:
			e.Type = TypeSymlink
			e.Link = hdr.Linkname
		case hdr.Typeflag == tar.TypeLink:
			e.Type = typeHardlink
			e.Link = cleanPath(hdr.Linkname)
		case hdr.Typeflag == tar.TypeChar:
			e.Type = TypeChar
			e.DevMajor, e.DevMinor = hdr.Devmajor, hdr.Devminor
		case hdr.Typeflag == tar.TypeBlock:
			e.Type = TypeBlock
			e.DevMajor, e.DevMinor = hdr.Devmajor, hdr.Devminor
		case hdr.Typeflag == tar.TypeFifo:
			e.Type = TypeFifo
		default:
			// Global headers and unknown kinds carry no file.
			continue
		}
		e.Xattrs = xattrs(hdr)
		e.srcPath = p
		s.entries = append(s.entries, e)
	}
	return s, nil
}

func (lr *layerReader) digest(e *Entry, r io.Reader) error {
	lr.h.Reset()
	for _, n := range lr.normalisers {
		if !n.Match(e.Path, e.Size) {
			continue
		}
		et := &errTracker{r: r}
		d, nerr := n.Digest(io.TeeReader(et, lr.h))
		if _, err := io.CopyBuffer(lr.h, et, lr.buf); err != nil {
			return err
		}
		if et.err != nil {
			return et.err
		}
		if nerr == nil {
			e.Digest = d
			e.Normaliser = n.Name()
			return nil
		}
		e.Digest = lr.rawDigest()
		return nil
	}
	if _, err := io.CopyBuffer(lr.h, r, lr.buf); err != nil {
		return err
	}
	e.Digest = lr.rawDigest()
	return nil
}

// xattrs returns the entry's extended attributes, hex-encoded, from PAX
// records (SCHILY.xattr.* as GNU tar and Go write them, LIBARCHIVE.xattr.*
// base64-encoded as bsdtar writes them).
func xattrs(hdr *tar.Header) map[string]string {
	var m map[string]string
	for k, v := range hdr.PAXRecords {
		var name, val string
		switch {
		case strings.HasPrefix(k, "SCHILY.xattr."):
			name, val = strings.TrimPrefix(k, "SCHILY.xattr."), v
		case strings.HasPrefix(k, "LIBARCHIVE.xattr."):
			b, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				b, err = base64.RawStdEncoding.DecodeString(v)
			}
			if err != nil {
				continue
			}
			name, val = strings.TrimPrefix(k, "LIBARCHIVE.xattr."), string(b)
		default:
			continue
		}
		if m == nil {
			m = map[string]string{}
		}
		m[name] = hex.EncodeToString([]byte(val))
	}
	return m
}

// decompress returns the uncompressed stream of a layer blob, telling gzip
// and zstd from a plain tar by their magic numbers.
func decompress(r io.Reader) (io.ReadCloser, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, err := br.Peek(4)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, err
		}
		return zr, nil
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(128<<20))
		if err != nil {
			return nil, err
		}
		return zr.IOReadCloser(), nil
	default:
		return io.NopCloser(br), nil
	}
}

// verifier fails the read at EOF when fewer than size bytes came
// (size < 0: unknown) or the bytes do not hash to want.
type verifier struct {
	r    io.Reader
	h    hash.Hash
	want string
	size int64
	n    int64
}

func newVerifier(r io.Reader, want string, size int64) *verifier {
	return &verifier{r: r, h: sha256.New(), want: want, size: size}
}

func (v *verifier) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.h.Write(p[:n])
	v.n += int64(n)
	if err == io.EOF {
		if v.size >= 0 && v.n < v.size {
			return n, io.ErrUnexpectedEOF
		}
		if got := "sha256:" + hex.EncodeToString(v.h.Sum(nil)); got != v.want {
			return n, &DigestMismatchError{Want: v.want, Got: got}
		}
	}
	return n, err
}

// DigestMismatchError is returned when a blob's bytes do not match its
// digest.
type DigestMismatchError struct {
	Want, Got string
}

// Error says what the content hashes to.
func (e *DigestMismatchError) Error() string {
	return fmt.Sprintf("digest mismatch: content hashes to %s", e.Got)
}

// isRegular reports whether hdr holds a file's content. The tar reader
// itself turns the legacy TypeRegA into TypeReg (or TypeDir for a name
// ending in "/").
func isRegular(hdr *tar.Header) bool {
	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeGNUSparse, tar.TypeCont:
		return true
	}
	return false
}
