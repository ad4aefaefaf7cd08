package normalise

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/flate"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"path"
	"slices"
	"strings"
)

const (
	sigLocal      = 0x04034b50
	sigCentral    = 0x02014b50
	sigDescriptor = 0x08074b50
	sigEnd        = 0x06054b50
	sigEnd64      = 0x06064b50
	sigLocator64  = 0x07064b50
	sigSignature  = 0x05054b50

	methodStore   = 0
	methodDeflate = 8

	flagEncrypted  = 1 << 0
	flagDescriptor = 1 << 3

	hostUnix  = 3
	hostMacOS = 19

	// maxZipDepth bounds the nesting of archives normalised recursively; an
	// archive deeper than that is compared by its bytes.
	maxZipDepth = 4
	// maxZipEntries bounds the entries of one archive, the only state that
	// grows with the archive.
	maxZipEntries = 1 << 20

	u32max = 0xffffffff
)

// archiveExts are the extensions of zip-based archives: Match takes them,
// and entries so named are normalised recursively. Not ".apk": Alpine
// packages are tar.gz.
var archiveExts = []string{".jar", ".war", ".ear", ".zip", ".whl", ".aar"}

func isArchive(name string) bool {
	return slices.Contains(archiveExts, strings.ToLower(path.Ext(name)))
}

type zipNormaliser struct{}

var _ Normaliser = zipNormaliser{}

// Zip returns the normaliser for zip archives (.jar .war .ear .zip .whl
// .aar). It compares entry names, unix modes and uncompressed contents, in
// name order, and ignores everything else; see the package documentation.
func Zip() Normaliser { return zipNormaliser{} }

func (zipNormaliser) Name() string { return "zip" }

func (zipNormaliser) Match(p string, size int64) bool {
	return isArchive(p) && size >= 22 // smallest zip: an end record
}

func (zipNormaliser) Digest(r io.Reader) (string, error) {
	src := &source{r: r}
	sum, err := digestZip(src, 0, nil)
	if err != nil {
		return "", classify("zip", src, err)
	}
	return format(sum[:]), nil
}

// zipEntry is what the digest keeps of one entry.
type zipEntry struct {
	name    string
	crc     uint32
	csize   uint64   // compressed size, as read
	usize   uint64   // uncompressed size, as read
	nested  bool     // sum is the digest of the entry as a zip
	sum     [32]byte // sha256 of the (normalised) content
	hasMode bool     // written on a unix host
	mode    uint32   // st_mode from the external attributes
	matched bool     // a central directory record was found
}

// countReader counts what is read through it. It is an io.ByteReader, so a
// flate decompressor over it reads exactly the compressed stream.
type countReader struct {
	br *bufio.Reader
	n  uint64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.br.Read(p)
	c.n += uint64(n)
	return n, err
}

func (c *countReader) ReadByte() (byte, error) {
	b, err := c.br.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}

func (c *countReader) discard(n int) error {
	d, err := c.br.Discard(n)
	c.n += uint64(d)
	return err
}

// entryReader is the uncompressed content of one entry: it computes the
// CRC-32 and size as it goes and records the first error of its reader, to
// tell a broken entry (this archive's fault) from a broken nested archive.
type entryReader struct {
	r      io.Reader
	budget *zipBudget // charged for nested archives' entries; nil at the top
	crc    uint32
	n      uint64
	err    error
}

func (e *entryReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	e.crc = crc32.Update(e.crc, crc32.IEEETable, p[:n])
	e.n += uint64(n)
	if e.budget != nil && err == nil {
		err = e.budget.spend(n)
	}
	if err != nil && !errors.Is(err, io.EOF) && e.err == nil {
		e.err = err
	}
	return n, err
}

type zipParser struct {
	depth    int
	budget   *zipBudget
	r        *countReader
	flate    io.ReadCloser // reused across entries
	buf      []byte
	copyBuf  []byte // for content, so that entries do not each allocate one
	entries  []zipEntry
	byOffset map[uint64]int // local header offset → index in entries
}

// errZipBudget is returned when nested archives decompress to more than
// their budget allows.
var errZipBudget = errors.New("nested archives decompress to too much")

// zipBudget bounds the bytes decompressed from the entries of nested
// archives, all levels together, to base + ratio × the bytes the top-level
// archive has consumed so far. One level of deflate expands at most 1032
// times, but nesting multiplies that (42.zip); with the budget the work
// stays linear in the file size. Counting consumed bytes, not bytes read
// ahead, keeps the outcome independent of how the reader splits its input.
type zipBudget struct {
	top         *countReader
	base, ratio uint64
	used        uint64
}

const (
	zipBudgetBase  = 1 << 30
	zipBudgetRatio = 64
)

func (b *zipBudget) spend(n int) error {
	b.used += uint64(n)
	if b.used > b.base+b.ratio*b.top.n {
		return errZipBudget
	}
	return nil
}

// digestZip returns the sha256 of the canonical form of the zip read from r,
// which is nested depth archives deep, sharing budget with the archives
// around it (nil at the top).
func digestZip(r io.Reader, depth int, budget *zipBudget) ([32]byte, error) {
	p := newZipParser(r, depth, budget)
	defer p.close()
	if err := p.parse(); err != nil {
		return [32]byte{}, err
	}
	h := newDigest("zip")
	if err := p.writeCanonical(h); err != nil {
		return [32]byte{}, err
	}
	var s [32]byte
	h.Sum(s[:0])
	return s, nil
}

func newZipParser(r io.Reader, depth int, budget *zipBudget) *zipParser {
	cr := &countReader{br: bufio.NewReaderSize(r, 32<<10)}
	if budget == nil {
		budget = &zipBudget{top: cr, base: zipBudgetBase, ratio: zipBudgetRatio}
	}
	return &zipParser{
		depth:    depth,
		budget:   budget,
		r:        cr,
		buf:      make([]byte, 64),
		copyBuf:  make([]byte, 32<<10),
		byOffset: make(map[uint64]int),
	}
}

// readNameExtra reads the file name and extra field that follow a local or
// central directory header.
func (p *zipParser) readNameExtra(nameLen, extraLen int) (name string, extra []byte, err error) {
	b, err := p.read(nameLen)
	if err != nil {
		return "", nil, err
	}
	name = string(b)
	if extra, err = p.read(extraLen); err != nil {
		return "", nil, err
	}
	return name, extra, nil
}

func (p *zipParser) close() {
	if p.flate != nil {
		p.flate.Close()
	}
}

// parse reads the archive up to the end of its central directory.
func (p *zipParser) parse() error {
	sig, err := p.uint32()
	if err != nil {
		return err
	}
	for sig == sigLocal {
		if len(p.entries) == maxZipEntries {
			return fmt.Errorf("more than %d entries", maxZipEntries)
		}
		if err := p.local(); err != nil {
			return err
		}
		if sig, err = p.uint32(); err != nil {
			return err
		}
	}
	dir := centralDir{offset: p.r.n - 4}
	for sig == sigCentral {
		if err := p.central(); err != nil {
			return err
		}
		dir.records++
		if sig, err = p.uint32(); err != nil {
			return err
		}
	}
	dir.size = p.r.n - 4 - dir.offset
	for _, e := range p.entries {
		if !e.matched {
			return fmt.Errorf("entry %q is missing from the central directory", e.name)
		}
	}
	return p.end(sig, dir)
}

// centralDir is the central directory as read, to check the end records.
type centralDir struct {
	offset, size, records uint64
}

// end reads the end records that follow the central directory, whose sig
// has been read, and checks that they describe it: a reader that trusts them
// (the JVM, unzip, archive/zip) must see the entries digested. The archive
// comment, after them, is not read.
func (p *zipParser) end(sig uint32, dir centralDir) error {
	if sig == sigSignature { // digital signature: size, data
		b, err := p.read(2)
		if err != nil {
			return err
		}
		if err := p.r.discard(int(binary.LittleEndian.Uint16(b))); err != nil {
			return err
		}
		if sig, err = p.uint32(); err != nil {
			return err
		}
	}
	zip64 := false
	if sig == sigEnd64 {
		zip64 = true
		b, err := p.read(52)
		if err != nil {
			return err
		}
		size := binary.LittleEndian.Uint64(b)
		// size(8) made-by(2) needed(2) disk(4) dir-disk(4) entries-on-disk(8)
		// entries(8) dir-size(8) dir-offset(8)
		if binary.LittleEndian.Uint32(b[12:]) != 0 || binary.LittleEndian.Uint32(b[16:]) != 0 ||
			binary.LittleEndian.Uint64(b[20:]) != dir.records || binary.LittleEndian.Uint64(b[28:]) != dir.records ||
			binary.LittleEndian.Uint64(b[36:]) != dir.size || binary.LittleEndian.Uint64(b[44:]) != dir.offset || size < 44 {
			return errors.New("zip64 end record does not match the central directory")
		}
		if err := p.r.discard(int(min(size-44, 1<<30))); err != nil { // extensible data
			return err
		}
		if sig, err = p.uint32(); err != nil {
			return fmt.Errorf("reading the zip64 end locator: %w", err)
		}
		if sig != sigLocator64 {
			return fmt.Errorf("no zip64 end locator: %#08x", sig)
		}
		if err := p.r.discard(16); err != nil {
			return err
		}
		if sig, err = p.uint32(); err != nil {
			return err
		}
	}
	if sig != sigEnd {
		return fmt.Errorf("unexpected signature %#08x", sig)
	}
	b, err := p.read(18)
	if err != nil {
		return err
	}
	// Each field holds the value, or all ones if a zip64 end record does.
	ok := func(field, allOnes, want uint64) bool { return field == want || zip64 && field == allOnes }
	if binary.LittleEndian.Uint16(b) != 0 || binary.LittleEndian.Uint16(b[2:]) != 0 ||
		!ok(uint64(binary.LittleEndian.Uint16(b[4:])), 0xffff, dir.records) ||
		!ok(uint64(binary.LittleEndian.Uint16(b[6:])), 0xffff, dir.records) ||
		!ok(uint64(binary.LittleEndian.Uint32(b[8:])), u32max, dir.size) ||
		!ok(uint64(binary.LittleEndian.Uint32(b[12:])), u32max, dir.offset) {
		return errors.New("end record does not match the central directory")
	}
	// Readers look for the end record from the end of the file: the
	// comment must end the file, and not hold another end record.
	comment, err := p.read(int(binary.LittleEndian.Uint16(b[16:])))
	if err != nil {
		return err
	}
	if bytes.Contains(comment, []byte("PK\x05\x06")) {
		return errors.New("archive comment holds an end record")
	}
	switch _, err := p.r.br.Peek(1); {
	case err == nil:
		return errors.New("data after the archive comment")
	case !errors.Is(err, io.EOF):
		return fmt.Errorf("reading after the archive comment: %w", err)
	}
	return nil
}

// writeCanonical writes the canonical form: the entries in name order (ties broken by
// the rest of the record, so the order in the archive never counts), each as
// uvarint(len(name)) name kind(1) sha256(32) hasMode(1) mode(4, big-endian).
func (p *zipParser) writeCanonical(w io.Writer) error {
	slices.SortFunc(p.entries, func(a, b zipEntry) int {
		return cmp.Or(
			strings.Compare(a.name, b.name),
			bytes.Compare(a.sum[:], b.sum[:]),
			cmpBool(a.hasMode, b.hasMode),
			cmp.Compare(a.mode, b.mode),
		)
	})
	var rec []byte
	for _, e := range p.entries {
		rec = binary.AppendUvarint(rec[:0], uint64(len(e.name)))
		rec = append(rec, e.name...)
		rec = append(rec, boolByte(e.nested))
		rec = append(rec, e.sum[:]...)
		rec = append(rec, boolByte(e.hasMode))
		rec = binary.BigEndian.AppendUint32(rec, e.mode)
		if _, err := w.Write(rec); err != nil {
			return err
		}
	}
	return nil
}

func cmpBool(a, b bool) int { return cmp.Compare(boolByte(a), boolByte(b)) }

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// read returns the next n bytes, valid until the next call.
func (p *zipParser) read(n int) ([]byte, error) {
	if n > cap(p.buf) {
		p.buf = make([]byte, n)
	}
	b := p.buf[:n]
	if _, err := io.ReadFull(p.r, b); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return b, nil
}

func (p *zipParser) uint32() (uint32, error) {
	b, err := p.read(4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

// local reads one local file header, its content and its data descriptor.
func (p *zipParser) local() error {
	offset := p.r.n - 4 // before the signature
	hdr, err := p.read(26)
	if err != nil {
		return err
	}
	flags := binary.LittleEndian.Uint16(hdr[2:])
	method := binary.LittleEndian.Uint16(hdr[4:])
	crc := binary.LittleEndian.Uint32(hdr[10:])
	csize := uint64(binary.LittleEndian.Uint32(hdr[14:]))
	usize := uint64(binary.LittleEndian.Uint32(hdr[18:]))
	nameLen := int(binary.LittleEndian.Uint16(hdr[22:]))
	extraLen := int(binary.LittleEndian.Uint16(hdr[24:]))
	name, extra, err := p.readNameExtra(nameLen, extraLen)
	if err != nil {
		return err
	}
	if csize == u32max || usize == u32max {
		csize, usize = zip64Sizes(extra, csize, usize)
	}
	if flags&flagEncrypted != 0 {
		return fmt.Errorf("entry %q is encrypted", name)
	}
	descriptor := flags&flagDescriptor != 0

	start := p.r.n
	var body io.Reader
	switch method {
	case methodStore:
		if descriptor && csize == 0 {
			return fmt.Errorf("stored entry %q has a data descriptor and no size", name)
		}
		body = io.LimitReader(p.r, int64(min(csize, 1<<62)))
	case methodDeflate:
		if p.flate == nil {
			p.flate = flate.NewReader(p.r)
		} else if err := p.flate.(flate.Resetter).Reset(p.r, nil); err != nil {
			return err
		}
		body = p.flate
	default:
		return fmt.Errorf("entry %q: unsupported compression method %d", name, method)
	}

	e := zipEntry{name: name}
	er := &entryReader{r: body}
	if p.depth > 0 {
		er.budget = p.budget
	}
	if err := p.content(&e, er); err != nil {
		return err
	}
	consumed := p.r.n - start
	e.crc, e.csize, e.usize = er.crc, consumed, er.n

	if descriptor {
		err = p.descriptor(name, er.crc, consumed, er.n)
	} else if er.crc != crc || er.n != usize || consumed != csize {
		err = fmt.Errorf("entry %q does not match its header", name)
	}
	if err != nil {
		return err
	}
	p.byOffset[offset] = len(p.entries)
	p.entries = append(p.entries, e)
	return nil
}

// content digests the uncompressed content of e read from er.
func (p *zipParser) content(e *zipEntry, er *entryReader) error {
	h := sha256.New()
	switch {
	case isArchive(e.name) && p.depth < maxZipDepth:
		// Read the entry once: as a zip, and into h as it goes, in case
		// it turns out not to be one. Reading to its end then fails if
		// the entry itself is broken (this archive's fault).
		tr := io.TeeReader(er, h)
		sum, err := digestZip(tr, p.depth+1, p.budget)
		if errors.Is(err, errZipBudget) {
			return err // not this entry's fault: the whole archive is too much
		}
		if _, derr := io.CopyBuffer(io.Discard, tr, p.copyBuf); derr != nil {
			return fmt.Errorf("entry %q: %w", e.name, derr)
		}
		if err == nil {
			e.nested, e.sum = true, sum
			return nil
		}
	case strings.HasPrefix(e.name, "META-INF/maven/") && strings.HasSuffix(e.name, "/pom.properties"):
		if _, err := io.CopyBuffer(&commentStripper{w: h}, er, p.copyBuf); err != nil {
			return fmt.Errorf("entry %q: %w", e.name, err)
		}
	default:
		if _, err := io.CopyBuffer(h, er, p.copyBuf); err != nil {
			return fmt.Errorf("entry %q: %w", e.name, err)
		}
	}
	h.Sum(e.sum[:0])
	return nil
}

// descriptor reads the data descriptor that follows an entry and checks it
// against what was read: crc and the compressed and uncompressed sizes, the
// signature optional and the sizes 4 or 8 bytes each (zip64).
func (p *zipParser) descriptor(name string, crc uint32, csize, usize uint64) error {
	v, err := p.uint32()
	if err != nil {
		return err
	}
	if v == sigDescriptor {
		if v, err = p.uint32(); err != nil {
			return err
		}
	}
	if v != crc {
		return fmt.Errorf("entry %q: crc %#08x, data descriptor says %#08x", name, crc, v)
	}
	b, _ := p.r.br.Peek(16)
	switch {
	case len(b) >= 8 && csize < u32max && usize < u32max &&
		uint64(binary.LittleEndian.Uint32(b)) == csize && uint64(binary.LittleEndian.Uint32(b[4:])) == usize:
		return p.r.discard(8)
	case len(b) >= 16 && binary.LittleEndian.Uint64(b) == csize && binary.LittleEndian.Uint64(b[8:]) == usize:
		return p.r.discard(16)
	}
	return fmt.Errorf("entry %q: sizes do not match its data descriptor", name)
}

// zip64Sizes returns the sizes from the zip64 extended information extra
// field (id 1) of a local header, which holds those of the two that are
// 0xffffffff, uncompressed size first.
func zip64Sizes(extra []byte, csize, usize uint64) (uint64, uint64) {
	for len(extra) >= 4 {
		id := binary.LittleEndian.Uint16(extra)
		n := int(binary.LittleEndian.Uint16(extra[2:]))
		extra = extra[4:]
		if n > len(extra) {
			break
		}
		if id == 1 {
			f := extra[:n]
			if usize == u32max && len(f) >= 8 {
				usize, f = binary.LittleEndian.Uint64(f), f[8:]
			}
			if csize == u32max && len(f) >= 8 {
				csize = binary.LittleEndian.Uint64(f)
			}
			break
		}
		extra = extra[n:]
	}
	return csize, usize
}

// central reads one central directory record and gives its unix mode to the
// local entry at the offset it names, which must have the same name and
// CRC-32: what reads the archive through its central directory (the JVM,
// unzip) then sees what was digested.
func (p *zipParser) central() error {
	hdr, err := p.read(42)
	if err != nil {
		return err
	}
	madeBy := binary.LittleEndian.Uint16(hdr)
	crc := binary.LittleEndian.Uint32(hdr[12:])
	csize := uint64(binary.LittleEndian.Uint32(hdr[16:]))
	usize := uint64(binary.LittleEndian.Uint32(hdr[20:]))
	nameLen := int(binary.LittleEndian.Uint16(hdr[24:]))
	extraLen := int(binary.LittleEndian.Uint16(hdr[26:]))
	commentLen := int(binary.LittleEndian.Uint16(hdr[28:]))
	attrs := binary.LittleEndian.Uint32(hdr[34:])
	offset := uint64(binary.LittleEndian.Uint32(hdr[38:]))
	name, extra, err := p.readNameExtra(nameLen, extraLen)
	if err != nil {
		return err
	}
	csize, usize, offset = zip64Central(extra, csize, usize, offset)
	if err := p.r.discard(commentLen); err != nil {
		return err
	}
	i, ok := p.byOffset[offset]
	if !ok || p.entries[i].name != name {
		return fmt.Errorf("central directory entry %q: no local entry %q at offset %d", name, name, offset)
	}
	delete(p.byOffset, offset)
	e := &p.entries[i]
	if e.crc != crc || e.csize != csize || e.usize != usize {
		return fmt.Errorf("entry %q: central directory does not match the content", name)
	}
	e.matched = true
	if host := madeBy >> 8; host == hostUnix || host == hostMacOS {
		e.hasMode, e.mode = true, attrs>>16
	}
	return nil
}

// zip64Central returns the sizes and local header offset of a central
// directory record, from the zip64 extended information extra field for
// those that are 0xffffffff in the record: uncompressed size, compressed
// size, offset, in that order, each there only if needed.
func zip64Central(extra []byte, csize, usize, offset uint64) (uint64, uint64, uint64) {
	if csize != u32max && usize != u32max && offset != u32max {
		return csize, usize, offset
	}
	for len(extra) >= 4 {
		id := binary.LittleEndian.Uint16(extra)
		n := int(binary.LittleEndian.Uint16(extra[2:]))
		extra = extra[4:]
		if n > len(extra) {
			break
		}
		if id == 1 {
			f := extra[:n]
			for _, v := range []*uint64{&usize, &csize, &offset} {
				if *v == u32max && len(f) >= 8 {
					*v, f = binary.LittleEndian.Uint64(f), f[8:]
				}
			}
			break
		}
		extra = extra[n:]
	}
	return csize, usize, offset
}

// commentStripper drops the lines that start with '#' (Maven's build date in
// pom.properties) from what it writes to w.
type commentStripper struct {
	w    io.Writer
	mid  bool // not at the start of a line
	skip bool // in a comment line
}

func (c *commentStripper) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if !c.mid && !c.skip && p[0] == '#' {
			c.skip = true
		}
		i := bytes.IndexByte(p, '\n')
		line := p
		if i >= 0 {
			line, p = p[:i+1], p[i+1:]
		} else {
			p = nil
		}
		if !c.skip {
			if _, err := c.w.Write(line); err != nil {
				return n - len(p) - len(line), err
			}
		}
		c.mid = i < 0
		if i >= 0 {
			c.skip = false
		}
	}
	return n, nil
}
