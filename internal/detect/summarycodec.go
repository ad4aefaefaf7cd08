package detect

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/zstd"

	"github.com/imgver/imgver/internal/packages"
)

// The encoding of summaries (bump SummaryVersion whenever it changes).
//
// A summary is a zstd frame holding, after the magic "imgver-summary\n":
//
//	version  uvarint (SummaryVersion)
//	kind     byte: 1 a layer record, 2 an image summary
//	key      string: the options key (see Comparer.SummaryKey)
//
// then for a layer record (the local cache's entries):
//
//	diff_id  string
//	layer
//
// and for an image summary (one per platform manifest):
//
//	platform string ("os/arch[/variant]")
//	subject  string media type, string digest, uvarint size
//	config   string: the JSON of the normalised Config, every label in Labels
//	history  uvarint n, n strings (created_by lines)
//	diff_ids uvarint n, n strings, bottom first
//	layers   uvarint m, m times: string diff_id, layer; each distinct
//	         diff_id once, in the order of first use
//
// A layer is its entries in tar order, its whiteouts, its opaque dirs and
// its package databases:
//
//	uvarint n, n entries: byte type, string path, uvarint mode,
//	    varint uid, varint gid, then by type: file: uvarint size, string
//	    digest, string normaliser; symlink, hard link: string link; char,
//	    block: varint major, varint minor; then uvarint k, k times string
//	    xattr name, string hex value (names in byte order)
//	uvarint n, n strings: whiteouts
//	uvarint n, n strings: opaque dirs
//	uvarint n, n databases (paths in byte order): string path, uvarint k,
//	    k times string ecosystem, string name, string version
//
// A string is a uvarint length and its bytes. Nothing follows the last
// field. Encoding the same summary gives the same bytes.

// summaryMagic starts every decoded summary.
const summaryMagic = "imgver-summary\n"

// maxSummarySize bounds a summary, compressed and decoded (256 MiB: some
// two million paths).
const maxSummarySize = 256 << 20

const (
	kindLayer byte = 1
	kindImage byte = 2
)

// entryTypes are the entry types of a layer summary, by their code.
var entryTypes = [...]Type{1: TypeFile, 2: TypeDir, 3: TypeSymlink, 4: TypeChar, 5: TypeBlock, 6: TypeFifo, 7: typeHardlink}

func typeCode(t Type) byte {
	for i, u := range entryTypes {
		if u == t && i > 0 {
			return byte(i)
		}
	}
	panic("unknown entry type " + string(t))
}

// knownEcosystems are the ecosystems a package database may list.
var knownEcosystems = []packages.Ecosystem{packages.Deb, packages.Apk, packages.Python, packages.Npm, packages.Gem, packages.Maven, packages.Go}

// imageSummary is a decoded image summary.
type imageSummary struct {
	key      string
	platform string
	subject  v1.Descriptor
	// config is normalised with no label ignored.
	config  Config
	history []string
	diffIDs []v1.Hash
	layers  map[v1.Hash]*layerSummary
}

// encoder appends the fields of a summary to buf.
type encoder struct{ buf []byte }

func (e *encoder) uvarint(v uint64) { e.buf = binary.AppendUvarint(e.buf, v) }
func (e *encoder) varint(v int64)   { e.buf = binary.AppendVarint(e.buf, v) }
func (e *encoder) str(s string) {
	e.uvarint(uint64(len(s)))
	e.buf = append(e.buf, s...)
}

func (e *encoder) strs(ss []string) {
	e.uvarint(uint64(len(ss)))
	for _, s := range ss {
		e.str(s)
	}
}

func (e *encoder) header(kind byte, key string) {
	e.buf = append(e.buf, summaryMagic...)
	e.uvarint(SummaryVersion)
	e.buf = append(e.buf, kind)
	e.str(key)
}

func (e *encoder) layer(s *layerSummary) {
	e.uvarint(uint64(len(s.entries)))
	for k := range s.entries {
		en := &s.entries[k]
		e.buf = append(e.buf, typeCode(en.Type))
		e.str(en.Path)
		e.uvarint(uint64(en.Mode))
		e.varint(int64(en.UID))
		e.varint(int64(en.GID))
		switch en.Type {
		case TypeFile:
			e.uvarint(uint64(en.Size))
			e.str(en.Digest)
			e.str(en.Normaliser)
		case TypeSymlink, typeHardlink:
			e.str(en.Link)
		case TypeChar, TypeBlock:
			e.varint(en.DevMajor)
			e.varint(en.DevMinor)
		}
		e.uvarint(uint64(len(en.Xattrs)))
		for _, name := range slices.Sorted(maps.Keys(en.Xattrs)) {
			e.str(name)
			e.str(en.Xattrs[name])
		}
	}
	e.strs(s.whiteouts)
	e.strs(s.opaques)
	e.uvarint(uint64(len(s.packages)))
	for _, p := range slices.Sorted(maps.Keys(s.packages)) {
		e.str(p)
		ps := s.packages[p]
		e.uvarint(uint64(len(ps)))
		for _, pkg := range ps {
			e.str(string(pkg.Ecosystem))
			e.str(pkg.Name)
			e.str(pkg.Version)
		}
	}
}

var (
	zencOnce sync.Once
	zenc     *zstd.Encoder
	zdecOnce sync.Once
	zdec     *zstd.Decoder
)

// compress compresses b into one zstd frame: the same bytes give the same
// frame.
func compress(b []byte) []byte {
	zencOnce.Do(func() {
		var err error
		zenc, err = zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedDefault))
		if err != nil {
			panic(err) // only bad options fail
		}
	})
	return zenc.EncodeAll(b, make([]byte, 0, len(b)/4))
}

// uncompress decodes a zstd frame of at most maxSummarySize bytes.
func uncompress(b []byte) ([]byte, error) {
	if len(b) > maxSummarySize {
		return nil, fmt.Errorf("summary of %d bytes is larger than %d", len(b), maxSummarySize)
	}
	zdecOnce.Do(func() {
		var err error
		zdec, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(maxSummarySize), zstd.WithDecoderMaxWindow(32<<20))
		if err != nil {
			panic(err) // only bad options fail
		}
	})
	return zdec.DecodeAll(b, nil)
}

// encodeLayerRecord encodes the summary s of layer diffID made with the
// options key.
func encodeLayerRecord(key string, diffID v1.Hash, s *layerSummary) []byte {
	e := &encoder{}
	e.header(kindLayer, key)
	e.str(diffID.String())
	e.layer(s)
	return compress(e.buf)
}

// encodeImageSummary encodes s.
func encodeImageSummary(s *imageSummary) ([]byte, error) {
	cfg, err := json.Marshal(s.config)
	if err != nil {
		return nil, fmt.Errorf("encoding config: %w", err)
	}
	e := &encoder{}
	e.header(kindImage, s.key)
	e.str(s.platform)
	e.str(string(s.subject.MediaType))
	e.str(s.subject.Digest.String())
	e.uvarint(uint64(s.subject.Size))
	e.str(string(cfg))
	e.strs(s.history)
	e.uvarint(uint64(len(s.diffIDs)))
	for _, d := range s.diffIDs {
		e.str(d.String())
	}
	order := firstUses(s.diffIDs)
	e.uvarint(uint64(len(order)))
	for _, d := range order {
		e.str(d.String())
		e.layer(s.layers[d])
	}
	return compress(e.buf), nil
}

// SummaryError says why a summary or cache entry cannot be used.
type SummaryError struct {
	// Offset is where in the decoded bytes the problem is (-1: none).
	Offset int
	Reason string
}

// Error says what is wrong and where.
func (e *SummaryError) Error() string {
	if e.Offset < 0 {
		return "bad summary: " + e.Reason
	}
	return fmt.Sprintf("bad summary at byte %d: %s", e.Offset, e.Reason)
}

// decoder reads the fields of a decoded summary. Strings are cut out of
// one copy of the whole, so decoding allocates little; the first error
// sticks and every later read returns zero values.
type decoder struct {
	s   string
	off int
	err error
	// normalisers are the names the options key allows.
	normalisers map[string]bool
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = &SummaryError{Offset: d.off, Reason: fmt.Sprintf(format, args...)}
	}
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if d.off >= len(d.s) {
		d.fail("truncated")
		return 0
	}
	b := d.s[d.off]
	d.off++
	return b
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	var v uint64
	for shift := uint(0); ; shift += 7 {
		if d.off >= len(d.s) {
			d.fail("truncated")
			return 0
		}
		b := d.s[d.off]
		d.off++
		if shift == 63 && b > 1 || shift > 63 {
			d.fail("varint overflows 64 bits")
			return 0
		}
		v |= uint64(b&0x7f) << shift
		if b < 0x80 {
			if b == 0 && shift > 0 {
				d.fail("varint not in its shortest form")
				return 0
			}
			return v
		}
	}
}

func (d *decoder) varint() int64 {
	u := d.uvarint()
	v := int64(u >> 1)
	if u&1 != 0 {
		v = ^v
	}
	return v
}

// id reads a uid or gid: any number a tar header can hold (base-256
// fields and PAX records reach 64 bits).
func (d *decoder) id() int {
	v := d.varint()
	if int64(int(v)) != v {
		d.fail("id %d out of range", v)
		return 0
	}
	return int(v)
}

// count reads a count of items, each taking at least size bytes: a count
// the rest of the input cannot hold is an error, so no allocation is
// larger than the input.
func (d *decoder) count(size int) int {
	n := d.uvarint()
	if d.err == nil && n > uint64((len(d.s)-d.off)/size) {
		d.fail("count %d exceeds the %d bytes left", n, len(d.s)-d.off)
		return 0
	}
	return int(n)
}

func (d *decoder) str() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.s)-d.off) {
		d.fail("string of %d bytes exceeds the %d bytes left", n, len(d.s)-d.off)
		return ""
	}
	s := d.s[d.off : d.off+int(n)]
	d.off += int(n)
	return s
}

// path reads a clean absolute path shorter than PATH_MAX.
func (d *decoder) path() string {
	p := d.str()
	if d.err == nil && !validPath(p) {
		d.fail("bad path %q", p)
	}
	return p
}

func validPath(p string) bool {
	// path.Clean does not allocate for a clean path.
	return p != "" && len(p) < pathMax && p[0] == '/' && path.Clean(p) == p && strings.IndexByte(p, 0) < 0
}

// maxField bounds a name or version (tar bounds a PAX record to 1 MiB).
const maxField = 1 << 20

// text reads a string of at most limit bytes without NUL.
func (d *decoder) text(what string, limit int) string {
	s := d.str()
	if d.err == nil && (len(s) > limit || strings.IndexByte(s, 0) >= 0) {
		d.fail("bad %s %q", what, s)
	}
	return s
}

func (d *decoder) hash() v1.Hash {
	s := d.str()
	if d.err != nil {
		return v1.Hash{}
	}
	if !validDigest(s) {
		d.fail("bad digest %q", s)
		return v1.Hash{}
	}
	return v1.Hash{Algorithm: "sha256", Hex: s[len("sha256:"):]}
}

// validDigest reports whether s is "sha256:" and 64 lowercase hex digits.
func validDigest(s string) bool {
	return len(s) == len("sha256:")+64 && s[:len("sha256:")] == "sha256:" && validHex(s[len("sha256:"):])
}

// lowerHex marks the lowercase hex digits.
var lowerHex = func() (t [256]bool) {
	for _, c := range "0123456789abcdef" {
		t[c] = true
	}
	return t
}()

// validHex reports whether s is lowercase hex of whole bytes.
func validHex(s string) bool {
	if len(s)%2 != 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !lowerHex[s[i]] {
			return false
		}
	}
	return true
}

// header reads and checks the magic, version and kind, and returns the
// options key.
func (d *decoder) header(kind byte) string {
	if !strings.HasPrefix(d.s, summaryMagic) {
		d.fail("not an imgver summary")
		return ""
	}
	d.off = len(summaryMagic)
	if v := d.uvarint(); d.err == nil && v != SummaryVersion {
		d.fail("made by summary version %d, this imgver reads %d", v, SummaryVersion)
	}
	if k := d.byte(); d.err == nil && k != kind {
		d.fail("kind %d, want %d", k, kind)
	}
	key := d.str()
	if d.err != nil {
		return ""
	}
	ok, err := parseSummaryKey(key)
	if err != nil {
		d.fail("%v", err)
		return ""
	}
	d.normalisers = map[string]bool{}
	for _, n := range ok.normalisers {
		d.normalisers[n] = true
	}
	return key
}

// minEntry is the fewest bytes an encoded entry takes.
const minEntry = 7

func (d *decoder) layer() *layerSummary {
	s := &layerSummary{}
	if n := d.count(minEntry); n > 0 {
		s.entries = make([]Entry, n)
	}
	for k := range s.entries {
		if d.err != nil {
			return nil
		}
		e := &s.entries[k]
		code := d.byte()
		if d.err == nil && (int(code) >= len(entryTypes) || code == 0) {
			d.fail("unknown entry type %d", code)
		}
		e.Path = d.path()
		e.srcPath = e.Path
		if d.err == nil {
			e.Type = entryTypes[code]
			if base := e.Path[strings.LastIndexByte(e.Path, '/')+1:]; strings.HasPrefix(base, whiteoutPrefix) {
				d.fail("whiteout %q as an entry", e.Path)
			}
		}
		if m := d.uvarint(); m > 0o7777 {
			d.fail("mode %o out of range", m)
		} else {
			e.Mode = Mode(m)
		}
		e.UID = d.id()
		e.GID = d.id()
		switch e.Type {
		case TypeFile:
			size := d.uvarint()
			if size > math.MaxInt64 {
				d.fail("size %d out of range", size)
			}
			e.Size = int64(size)
			if e.Digest = d.str(); d.err == nil && !validDigest(e.Digest) {
				d.fail("bad digest %q", e.Digest)
			}
			if e.Normaliser = d.str(); d.err == nil && e.Normaliser != "" && !d.normalisers[e.Normaliser] {
				d.fail("normaliser %q is not in the options key", e.Normaliser)
			}
		case TypeSymlink:
			e.Link = d.text("symlink target", pathMax-1)
		case typeHardlink:
			e.Link = d.path()
		case TypeChar, TypeBlock:
			e.DevMajor, e.DevMinor = d.varint(), d.varint()
		}
		nx := d.count(2)
		prev := ""
		for x := range nx {
			name := d.text("xattr name", maxField)
			val := d.str()
			if d.err != nil {
				return nil
			}
			// As a PAX record key holds it: no "=", in byte order.
			if strings.Contains(name, "=") || x > 0 && name <= prev || !validHex(val) {
				d.fail("bad xattr %q=%q", name, val)
				return nil
			}
			prev = name
			if e.Xattrs == nil {
				e.Xattrs = make(map[string]string, nx)
			}
			e.Xattrs[name] = val
		}
	}
	s.whiteouts = d.paths()
	s.opaques = d.paths()
	ndb := d.count(2)
	prev := ""
	for x := range ndb {
		p := d.path()
		np := d.count(3)
		if d.err != nil {
			return nil
		}
		if x > 0 && p <= prev {
			d.fail("package database %q out of order", p)
			return nil
		}
		prev = p
		var ps []packages.Package
		if np > 0 {
			ps = make([]packages.Package, np)
		}
		for k := range ps {
			eco := packages.Ecosystem(d.str())
			ps[k].Name = d.text("package name", maxField)
			ps[k].Version = d.text("package version", maxField)
			if d.err != nil {
				return nil
			}
			if !slices.Contains(knownEcosystems, eco) {
				d.fail("unknown ecosystem %q", eco)
				return nil
			}
			ps[k].Ecosystem = eco
		}
		if s.packages == nil {
			s.packages = make(map[string][]packages.Package, ndb)
		}
		s.packages[p] = ps
	}
	if d.err != nil {
		return nil
	}
	return s
}

func (d *decoder) paths() []string {
	n := d.count(2)
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for k := range out {
		out[k] = d.path()
	}
	return out
}

// end checks that nothing follows the last field.
func (d *decoder) end() {
	if d.err == nil && d.off != len(d.s) {
		d.fail("%d bytes after the end", len(d.s)-d.off)
	}
}

func newDecoder(data []byte) (*decoder, error) {
	b, err := uncompress(data)
	if err != nil {
		return nil, &SummaryError{Offset: -1, Reason: "decompressing: " + err.Error()}
	}
	return &decoder{s: string(b)}, nil
}

// decodeLayerRecord decodes a layer record: the options key it was made
// with, the layer's diff_id and its summary.
func decodeLayerRecord(data []byte) (key string, diffID v1.Hash, s *layerSummary, err error) {
	d, err := newDecoder(data)
	if err != nil {
		return "", v1.Hash{}, nil, err
	}
	key = d.header(kindLayer)
	diffID = d.hash()
	s = d.layer()
	d.end()
	if d.err != nil {
		return "", v1.Hash{}, nil, d.err
	}
	return key, diffID, s, nil
}

// decodeImageSummary decodes an image summary, checking every field.
func decodeImageSummary(data []byte) (*imageSummary, error) {
	d, err := newDecoder(data)
	if err != nil {
		return nil, err
	}
	s := &imageSummary{key: d.header(kindImage)}
	s.platform = d.text("platform", 255)
	if d.err == nil {
		if pl, err := v1.ParsePlatform(s.platform); err != nil || pl.OS == "" || pl.Architecture == "" ||
			platformKey(pl.OS, pl.Architecture, pl.Variant) != s.platform {
			d.fail("bad platform %q", s.platform)
		}
	}
	s.subject.MediaType = types.MediaType(d.text("media type", 255))
	s.subject.Digest = d.hash()
	if size := d.uvarint(); size > maxManifestSize {
		d.fail("subject size %d out of range", size)
	} else {
		s.subject.Size = int64(size)
	}
	if d.err == nil && !s.subject.MediaType.IsImage() {
		d.fail("subject media type %q is not an image manifest's", s.subject.MediaType)
	}
	cfg := d.str()
	if d.err == nil {
		// The config as Summarize writes it, byte for byte: so that what
		// decodes encodes to the same bytes.
		err := json.Unmarshal([]byte(cfg), &s.config)
		if err == nil {
			var b []byte
			b, err = json.Marshal(s.config)
			if err == nil && (string(b) != cfg || len(s.config.IgnoredLabels) > 0) {
				err = errors.New("not in canonical form")
			}
		}
		if err != nil {
			d.fail("bad config %s: %v", strconv.Quote(clipString(cfg, 80)), err)
		}
	}
	if n := d.count(1); n > 0 {
		s.history = make([]string, n)
		for k := range s.history {
			s.history[k] = d.str()
		}
	}
	if n := d.count(1); n > 0 {
		s.diffIDs = make([]v1.Hash, n)
		for k := range s.diffIDs {
			s.diffIDs[k] = d.hash()
		}
	}
	order := firstUses(s.diffIDs)
	if n := d.count(1); d.err == nil && n != len(order) {
		d.fail("%d layer summaries for %d layers", n, len(order))
	}
	s.layers = make(map[v1.Hash]*layerSummary, len(order))
	for _, want := range order {
		if h := d.hash(); d.err == nil && h != want {
			d.fail("layer %s where %s belongs", h, want)
		}
		l := d.layer()
		if d.err != nil {
			return nil, d.err
		}
		s.layers[want] = l
	}
	d.end()
	if d.err != nil {
		return nil, d.err
	}
	return s, nil
}

// firstUses returns the distinct diff_ids, in the order of first use.
func firstUses(diffIDs []v1.Hash) []v1.Hash {
	var order []v1.Hash
	seen := map[v1.Hash]bool{}
	for _, d := range diffIDs {
		if !seen[d] {
			seen[d] = true
			order = append(order, d)
		}
	}
	return order
}

// maxManifestSize bounds the size of a subject manifest (ggcr reads at
// most 4 MiB of one).
const maxManifestSize = 100 << 20

func clipString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// summaryKey is a parsed options key.
type summaryKey struct {
	version     int
	normalisers []string
	packages    bool
}

// String renders the key as "imgver-summary-v1;normalisers=a,b;packages=true".
func (k summaryKey) String() string {
	return fmt.Sprintf("imgver-summary-v%d;normalisers=%s;packages=%t", k.version, strings.Join(k.normalisers, ","), k.packages)
}

// parseSummaryKey parses what summaryKey.String writes.
func parseSummaryKey(s string) (summaryKey, error) {
	var k summaryKey
	bad := func() (summaryKey, error) { return summaryKey{}, fmt.Errorf("bad options key %q", clipString(s, 200)) }
	parts := strings.Split(s, ";")
	if len(parts) != 3 {
		return bad()
	}
	v, ok := strings.CutPrefix(parts[0], "imgver-summary-v")
	n, err := strconv.Atoi(v)
	if !ok || err != nil || n < 1 || strconv.Itoa(n) != v {
		return bad()
	}
	k.version = n
	ns, ok := strings.CutPrefix(parts[1], "normalisers=")
	if !ok {
		return bad()
	}
	if ns != "" {
		k.normalisers = strings.Split(ns, ",")
		for _, name := range k.normalisers {
			if name == "" || len(name) > 64 {
				return bad()
			}
		}
	}
	switch parts[2] {
	case "packages=true":
		k.packages = true
	case "packages=false":
	default:
		return bad()
	}
	if k.String() != s {
		return bad()
	}
	return k, nil
}
