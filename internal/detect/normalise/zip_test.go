package normalise

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"io/fs"
	"strings"
	"testing"
	"time"
)

// zent is one entry written with archive/zip.
type zent struct {
	name    string
	body    string
	mode    fs.FileMode // 0: no unix mode (written as from MS-DOS)
	store   bool        // stored, sizes in the local header (CreateRaw)
	raw     bool        // deflated by the test, sizes in the local header (CreateRaw)
	extra   []byte
	comment string
}

// zopts is how archive/zip writes the whole archive.
type zopts struct {
	level    int // flate level for entries archive/zip compresses
	modified time.Time
	comment  string
}

var (
	t1 = time.Date(2026, 10, 9, 12, 0, 0, 0, time.UTC)
	t2 = time.Date(2027, 1, 2, 3, 4, 6, 0, time.UTC)
)

// zipFile builds a zip with archive/zip. Deflated entries get a data
// descriptor, as archive/zip writes them.
func zipFile(o zopts, ents ...zent) []byte {
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	level := o.level
	if level == 0 {
		level = flate.DefaultCompression
	}
	w.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, level)
	})
	if o.modified.IsZero() {
		o.modified = t1
	}
	for _, e := range ents {
		fh := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: o.modified, Extra: e.extra, Comment: e.comment}
		if e.mode != 0 {
			fh.SetMode(e.mode)
		}
		var (
			fw  io.Writer
			err error
		)
		switch {
		case e.store || e.raw:
			data := []byte(e.body)
			if e.store {
				fh.Method = zip.Store
			} else {
				data = deflate(e.body, flate.BestCompression)
			}
			fh.CRC32 = crc32.ChecksumIEEE([]byte(e.body))
			fh.CompressedSize64, fh.UncompressedSize64 = uint64(len(data)), uint64(len(e.body))
			fw, err = w.CreateRaw(fh)
			if err == nil {
				_, err = fw.Write(data)
			}
		default:
			fw, err = w.CreateHeader(fh)
			if err == nil {
				_, err = io.WriteString(fw, e.body)
			}
		}
		if err != nil {
			panic(err)
		}
	}
	if o.comment != "" {
		must(w.SetComment(o.comment))
	}
	if err := w.Close(); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// deflate compresses s at level.
func deflate[T string | []byte](s T, level int) []byte {
	var b bytes.Buffer
	w, err := flate.NewWriter(&b, level)
	must(err)
	_, err = w.Write([]byte(s))
	must(err)
	must(w.Close())
	return b.Bytes()
}

// must panics on err: for test data builders that have no *testing.T.
func must(err error) {
	if err != nil {
		panic(err)
	}
}

// Data descriptor shapes for rawZip.
const (
	descNone  = iota
	descSig   // signature, 32-bit sizes
	descNoSig // no signature (old Java), 32-bit sizes
	descSig64 // signature, 64-bit sizes (zip64)
)

// rawEntry is one entry written byte by byte, for shapes archive/zip does
// not write.
type rawEntry struct {
	name        string
	body        string
	deflate     bool
	desc        int
	method      int    // overrides the method when non-zero
	flags       uint16 // or'ed in
	badCRC      bool
	zip64       bool // sizes 0xffffffff in the local header, real ones in a zip64 extra
	mode        uint32
	noCentral   bool
	centralCRC  bool // a wrong CRC-32 in the central directory only
	dos         bool // written on MS-DOS: no unix mode
	zip64Cen    bool // sizes and offset 0xffffffff in the central directory, real ones in a zip64 extra
	offsetDelta int  // added to the offset in the central directory
	centralName string
}

// rawZip writes a zip archive after prefix.
func rawZip(prefix string, ents ...rawEntry) []byte {
	var b []byte
	le16 := func(v int) { b = binary.LittleEndian.AppendUint16(b, uint16(v)) }
	le32 := func(v uint32) { b = binary.LittleEndian.AppendUint32(b, v) }
	le64 := func(v uint64) { b = binary.LittleEndian.AppendUint64(b, v) }
	b = append(b, prefix...)
	offsets := make([]int, len(ents))
	for i, e := range ents {
		offsets[i] = len(b)
		data, method := []byte(e.body), 0
		if e.deflate {
			data, method = deflate(e.body, flate.BestCompression), 8
		}
		if e.method != 0 {
			method = e.method
		}
		crc := crc32.ChecksumIEEE([]byte(e.body))
		if e.badCRC {
			crc ^= 1
		}
		flags := e.flags
		if e.desc != descNone {
			flags |= 8
		}
		le32(sigLocal)
		le16(20)
		le16(int(flags))
		le16(method)
		le16(0)
		le16(0)
		var extra []byte
		switch {
		case e.desc != descNone:
			le32(0)
			le32(0)
			le32(0)
		case e.zip64:
			le32(crc)
			le32(u32max)
			le32(u32max)
			extra = binary.LittleEndian.AppendUint16(extra, 1)
			extra = binary.LittleEndian.AppendUint16(extra, 16)
			extra = binary.LittleEndian.AppendUint64(extra, uint64(len(e.body)))
			extra = binary.LittleEndian.AppendUint64(extra, uint64(len(data)))
		default:
			le32(crc)
			le32(uint32(len(data)))
			le32(uint32(len(e.body)))
		}
		le16(len(e.name))
		le16(len(extra))
		b = append(b, e.name...)
		b = append(b, extra...)
		b = append(b, data...)
		switch e.desc {
		case descSig:
			le32(sigDescriptor)
			fallthrough
		case descNoSig:
			le32(crc)
			le32(uint32(len(data)))
			le32(uint32(len(e.body)))
		case descSig64:
			le32(sigDescriptor)
			le32(crc)
			le64(uint64(len(data)))
			le64(uint64(len(e.body)))
		}
	}
	start, n := len(b), 0
	for i, e := range ents {
		csize := len(e.body)
		if e.deflate {
			csize = len(deflate(e.body, flate.BestCompression))
		}
		if e.noCentral {
			continue
		}
		n++
		name := e.name
		if e.centralName != "" {
			name = e.centralName
		}
		le32(sigCentral)
		if e.dos {
			le16(20)
		} else {
			le16(hostUnix<<8 | 20)
		}
		le16(20)
		le16(0)
		le16(0)
		le16(0)
		le16(0)
		crc := crc32.ChecksumIEEE([]byte(e.body))
		if e.badCRC || e.centralCRC {
			crc ^= 1
		}
		le32(crc)
		var extra []byte
		offset := uint32(offsets[i] + e.offsetDelta)
		if e.zip64Cen {
			le32(u32max)
			le32(u32max)
			extra = binary.LittleEndian.AppendUint16(extra, 1)
			extra = binary.LittleEndian.AppendUint16(extra, 24)
			extra = binary.LittleEndian.AppendUint64(extra, uint64(len(e.body)))
			extra = binary.LittleEndian.AppendUint64(extra, uint64(csize))
			extra = binary.LittleEndian.AppendUint64(extra, uint64(offset))
			offset = u32max
		} else {
			le32(uint32(csize))
			le32(uint32(len(e.body)))
		}
		le16(len(name))
		le16(len(extra))
		le16(0)
		le16(0)
		le16(0)
		le32(e.mode << 16)
		le32(offset)
		b = append(b, name...)
		b = append(b, extra...)
	}
	end := len(b)
	le32(sigEnd)
	le16(0)
	le16(0)
	le16(n)
	le16(n)
	le32(uint32(end - start))
	le32(uint32(start))
	le16(0)
	return b
}

// endEdit returns a copy of the archive b with its end record (the last 22
// bytes: it has no comment) passed through edit, and before it whatever
// edit returns as the records to insert.
func endEdit(b []byte, edit func(end []byte) (insert []byte)) []byte {
	out := bytes.Clone(b[:len(b)-22])
	end := bytes.Clone(b[len(b)-22:])
	ins := edit(end)
	return append(append(out, ins...), end...)
}

// zip64End moves the counts, size and offset of the central directory to a
// zip64 end record and locator, leaving all ones in the end record, as a
// writer does for an archive with 65535 entries or more.
func zip64End(b []byte) []byte {
	return endEdit(b, func(end []byte) []byte {
		n := uint64(binary.LittleEndian.Uint16(end[10:]))
		size := uint64(binary.LittleEndian.Uint32(end[12:]))
		offset := uint64(binary.LittleEndian.Uint32(end[16:]))
		r := binary.LittleEndian.AppendUint32(nil, sigEnd64)
		r = binary.LittleEndian.AppendUint64(r, 44)
		r = binary.LittleEndian.AppendUint16(r, 45)
		r = binary.LittleEndian.AppendUint16(r, 45)
		r = binary.LittleEndian.AppendUint32(r, 0)
		r = binary.LittleEndian.AppendUint32(r, 0)
		r = binary.LittleEndian.AppendUint64(r, n)
		r = binary.LittleEndian.AppendUint64(r, n)
		r = binary.LittleEndian.AppendUint64(r, size)
		r = binary.LittleEndian.AppendUint64(r, offset)
		r = binary.LittleEndian.AppendUint32(r, sigLocator64)
		r = binary.LittleEndian.AppendUint32(r, 0)
		r = binary.LittleEndian.AppendUint64(r, uint64(len(b)-22))
		r = binary.LittleEndian.AppendUint32(r, 1)
		copy(end[8:], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
		return r
	})
}

const pom = "#Generated by Maven\n#Mon Oct 09 12:00:00 UTC 2026\ngroupId=org.example\nartifactId=app\nversion=1.0\n"

func TestZipDigest(t *testing.T) {
	o1 := zopts{level: flate.BestSpeed, modified: t1}
	o2 := zopts{level: flate.BestCompression, modified: t2}
	a := zent{name: "META-INF/MANIFEST.MF", body: "Manifest-Version: 1.0\n", mode: 0o644}
	b := zent{name: "com/example/App.class", body: strings.Repeat("\xca\xfe\xba\xbe", 100), mode: 0o644}
	c := zent{name: "run.sh", body: "#!/bin/sh\necho hi\n", mode: 0o755}
	d := zent{name: "com/", mode: fs.ModeDir | 0o755}
	with := func(e zent, f func(*zent)) zent { f(&e); return e }
	extTime := func(sec uint32) []byte { // 0x5455 extended timestamp, mtime only
		x := []byte{0x55, 0x54, 5, 0, 1}
		return binary.LittleEndian.AppendUint32(x, sec)
	}
	lib := func(o zopts, ents ...zent) zent {
		return zent{name: "BOOT-INF/lib/dep.jar", body: string(zipFile(o, ents...)), mode: 0o644, store: true}
	}
	pomEnt := zent{name: "META-INF/maven/org.example/app/pom.properties", body: pom, mode: 0o644}

	runPairs(t, Zip(), []pairCase{
		{"baseline: times, order, levels", zipFile(o1, a, b, c, d), zipFile(o2, c, d, b, a), true},
		{"extended timestamp extra", zipFile(o1, with(a, func(e *zent) { e.extra = extTime(1) })), zipFile(o1, with(a, func(e *zent) { e.extra = extTime(2) })), true},
		{"stored or deflated", zipFile(o1, with(b, func(e *zent) { e.store = true })), zipFile(o1, b), true},
		{"data descriptor or not", zipFile(o1, with(b, func(e *zent) { e.raw = true })), zipFile(o1, b), true},
		{"entry comment", zipFile(o1, with(a, func(e *zent) { e.comment = "x" })), zipFile(o1, a), true},
		{"archive comment", zipFile(zopts{comment: "built at 12:00"}, a), zipFile(zopts{comment: "built at 13:00"}, a), true},
		{"one content byte", zipFile(o1, a, b), zipFile(o1, a, with(b, func(e *zent) { e.body = e.body[:10] + "X" + e.body[11:] })), false},
		{"one mode bit", zipFile(o1, a, c), zipFile(o1, a, with(c, func(e *zent) { e.mode = 0o754 })), false},
		{"unix mode or none", zipFile(o1, a), zipFile(o1, with(a, func(e *zent) { e.mode = 0 })), false},
		{"entry added", zipFile(o1, a, b), zipFile(o1, a, b, c), false},
		{"directory added", zipFile(o1, a, b), zipFile(o1, a, b, d), false},
		{"entry renamed", zipFile(o1, a, b), zipFile(o1, a, with(b, func(e *zent) { e.name = "com/example/App2.class" })), false},
		{"empty archive", zipFile(o1), zipFile(o1, a), false},
		{"name and content do not run together", zipFile(o1, zent{name: "ab", body: "c"}), zipFile(o1, zent{name: "a", body: "bc"}), false},

		{"duplicate names", zipFile(o1, a, with(a, func(e *zent) { e.body = "x" })), zipFile(o2, with(a, func(e *zent) { e.body = "x" }), a), true},
		{"duplicate names content", zipFile(o1, a, with(a, func(e *zent) { e.body = "x" })), zipFile(o1, a, a), false},
		{"duplicate names modes", zipFile(o1, a, with(a, func(e *zent) { e.mode = 0o600 })), zipFile(o1, with(a, func(e *zent) { e.mode = 0o600 }), a), true},

		{"pom.properties date", zipFile(o1, pomEnt), zipFile(o1, with(pomEnt, func(e *zent) {
			e.body = strings.Replace(e.body, "Mon Oct 09", "Tue Oct 10", 1)
		})), true},
		{"pom.properties version", zipFile(o1, pomEnt), zipFile(o1, with(pomEnt, func(e *zent) {
			e.body = strings.Replace(e.body, "version=1.0", "version=1.1", 1)
		})), false},
		{"comment lines elsewhere", zipFile(o1, zent{name: "app.properties", body: "#1\nx=1\n"}), zipFile(o1, zent{name: "app.properties", body: "#2\nx=1\n"}), false},
		{"pom.properties outside META-INF/maven", zipFile(o1, zent{name: "pom.properties", body: "#1\nx=1\n"}), zipFile(o1, zent{name: "pom.properties", body: "#2\nx=1\n"}), false},

		{"nested jar times and levels", zipFile(o1, a, lib(o1, a, b)), zipFile(o2, a, lib(o2, b, a)), true},
		{"nested jar pom.properties", zipFile(o1, lib(o1, pomEnt)), zipFile(o1, lib(o1, with(pomEnt, func(e *zent) { e.body = strings.Replace(e.body, "12:00", "13:00", 1) }))), true},
		{"nested jar deflated in the outer", zipFile(o1, a, with(lib(o1, a, b), func(e *zent) { e.store = false })), zipFile(o2, a, lib(o2, b, a)), true},
		{"nested nested jar", zipFile(o1, lib(o1, lib(o1, a))), zipFile(o2, lib(o2, lib(o2, a))), true},
		{"nested jar content", zipFile(o1, a, lib(o1, a, b)), zipFile(o1, a, lib(o1, a, with(b, func(e *zent) { e.body += "!" }))), false},
		{"nested jar mode", zipFile(o1, lib(o1, a)), zipFile(o1, lib(o1, with(a, func(e *zent) { e.mode = 0o600 }))), false},
		{"nested not a zip", zipFile(o1, zent{name: "lib/x.jar", body: "not a zip 1"}), zipFile(o1, zent{name: "lib/x.jar", body: "not a zip 2"}), false},
		{"archive only by name", zipFile(o1, with(lib(o1, a), func(e *zent) { e.name = "lib/dep.dat" })), zipFile(o1, with(lib(o2, a), func(e *zent) { e.name = "lib/dep.dat" })), false},

		{"descriptor with or without signature", rawZip("", rawEntry{name: "a", body: "hello", deflate: true, desc: descSig}), rawZip("", rawEntry{name: "a", body: "hello", deflate: true, desc: descNoSig}), true},
		{"descriptor 32 or 64 bit", rawZip("", rawEntry{name: "a", body: "hello", deflate: true, desc: descSig}), rawZip("", rawEntry{name: "a", body: "hello", deflate: true, desc: descSig64}), true},
		{"zip64 local sizes", rawZip("", rawEntry{name: "a", body: "hello"}), rawZip("", rawEntry{name: "a", body: "hello", zip64: true}), true},
		{"zip64 local sizes deflated", rawZip("", rawEntry{name: "a", body: "hello", deflate: true}), rawZip("", rawEntry{name: "a", body: "hello", deflate: true, zip64: true}), true},
		{"unix mode 0 or none", rawZip("", rawEntry{name: "a", body: "x"}), rawZip("", rawEntry{name: "a", body: "x", dos: true}), false},
		{"zip64 central offset", rawZip("", rawEntry{name: "a", body: "x"}, rawEntry{name: "b", body: "y"}), rawZip("", rawEntry{name: "a", body: "x"}, rawEntry{name: "b", body: "y", zip64Cen: true}), true},
		{"zip64 end record", rawZip("", rawEntry{name: "a", body: "x"}), zip64End(rawZip("", rawEntry{name: "a", body: "x"})), true},
		{"digital signature record", rawZip("", rawEntry{name: "a", body: "x"}), endEdit(rawZip("", rawEntry{name: "a", body: "x"}), func([]byte) []byte {
			return []byte("PK\x05\x05\x03\x00sig")
		}), true},
		{"raw same as archive/zip", rawZip("", rawEntry{name: "a", body: "hello", mode: 0o100644}), zipFile(o1, zent{name: "a", body: "hello", mode: 0o644}), true},
	})
}

func TestZipNotApplicable(t *testing.T) {
	valid := rawZip("", rawEntry{name: "a", body: "hello", deflate: true, desc: descSig})
	corruptFlate := bytes.Clone(valid)
	corruptFlate[30+1] = 0xff // first byte after the name: a reserved block type
	// The nested jar's own deflate stream is broken: it is compared by
	// bytes, the outer archive is fine.
	badNested := zipFile(zopts{}, zent{name: "lib/x.jar", store: true, body: string(corruptFlate)})
	if _, err := Zip().Digest(bytes.NewReader(badNested)); err != nil {
		t.Errorf("zip holding a broken jar: %v, want a digest", err)
	}
	// The outer deflate stream holding a nested jar is broken.
	corruptOuter := rawZip("", rawEntry{name: "lib/x.jar", body: string(valid), deflate: true})
	corruptOuter[30+len("lib/x.jar")] = 0xff
	commented := zipFile(zopts{comment: "comment"}, zent{name: "a", body: "x"})
	centralSize := bytes.Clone(valid)
	centralSize[bytes.Index(centralSize, []byte("PK\x01\x02"))+20]++
	zip64Bad := zip64End(valid)
	zip64Bad[len(zip64Bad)-22-20-56+32]++ // total entries in the zip64 end record
	runNotApplicable(t, Zip(), map[string][]byte{
		"empty":                          nil,
		"not a zip":                      []byte("just text, long enough to look like something\n"),
		"launch script":                  rawZip("#!/bin/sh\nexec java -jar \"$0\"\n", rawEntry{name: "a", body: "x"}),
		"encrypted":                      rawZip("", rawEntry{name: "a", body: "x", flags: 1}),
		"bzip2":                          rawZip("", rawEntry{name: "a", body: "x", method: 12}),
		"bad crc":                        rawZip("", rawEntry{name: "a", body: "x", badCRC: true}),
		"bad crc with descriptor":        rawZip("", rawEntry{name: "a", body: "x", deflate: true, desc: descSig, badCRC: true}),
		"not in central directory":       rawZip("", rawEntry{name: "a", body: "x"}, rawEntry{name: "b", body: "y", noCentral: true}),
		"central name unknown":           rawZip("", rawEntry{name: "a", body: "x", centralName: "b"}),
		"corrupt deflate":                corruptFlate,
		"corrupt deflate of nested zip":  corruptOuter,
		"central offset wrong":           rawZip("", rawEntry{name: "a", body: "x"}, rawEntry{name: "b", body: "y", offsetDelta: 1}),
		"central offset of another":      rawZip("", rawEntry{name: "a", body: "x"}, rawEntry{name: "a", body: "y", offsetDelta: -31 - len("a") - len("x")}),
		"central zip64 offset wrong":     rawZip("", rawEntry{name: "a", body: "x"}, rawEntry{name: "b", body: "y", zip64Cen: true, offsetDelta: -1}),
		"end record count":               endEdit(valid, func(end []byte) []byte { end[10]++; return nil }),
		"end record count on disk":       endEdit(valid, func(end []byte) []byte { end[8]++; return nil }),
		"end record size":                endEdit(valid, func(end []byte) []byte { end[12]++; return nil }),
		"end record offset":              endEdit(valid, func(end []byte) []byte { end[16]++; return nil }),
		"end record disk":                endEdit(valid, func(end []byte) []byte { end[4] = 1; return nil }),
		"all ones without zip64":         endEdit(valid, func(end []byte) []byte { end[10], end[11] = 0xff, 0xff; return nil }),
		"zip64 end record count":         zip64Bad,
		"central size differs":           centralSize,
		"comment holds an end record":    zipFile(zopts{comment: "PK\x05\x06"}, zent{name: "a", body: "x"}),
		"data after the comment":         append(zipFile(zopts{comment: "c"}, zent{name: "a", body: "x"}), 'x'),
		"comment cut short":              commented[:len(commented)-1],
		"central crc differs":            rawZip("", rawEntry{name: "a", body: "x", centralCRC: true}),
		"garbage after local entries":    append(bytes.Clone(valid[:bytes.Index(valid, []byte{0x50, 0x4b, 1, 2})]), "garbage!"...),
		"no end after central directory": valid[:len(valid)-22],
	})
}

// TestZipStoredDescriptor: archive/zip writes stored entries with a data
// descriptor and no sizes; the end of such an entry cannot be found without
// the central directory, so it is not applicable.
func TestZipStoredDescriptor(t *testing.T) {
	runNotApplicable(t, Zip(), map[string][]byte{
		"archive/zip Store": zipFileStoreDescriptor(),
		"raw":               rawZip("", rawEntry{name: "a", body: "x", desc: descSig}),
		"empty":             rawZip("", rawEntry{name: "a", desc: descSig}),
	})
}

func zipFileStoreDescriptor() []byte {
	var b bytes.Buffer
	w := zip.NewWriter(&b)
	fw, err := w.CreateHeader(&zip.FileHeader{Name: "a", Method: zip.Store})
	must(err)
	_, err = io.WriteString(fw, "hello")
	must(err)
	must(w.Close())
	return b.Bytes()
}

func TestZipTruncated(t *testing.T) {
	valid := zipFile(zopts{}, zent{name: "a", body: "hello", mode: 0o644}, zent{name: "lib/b.jar", store: true, body: string(zipFile(zopts{}, zent{name: "c", body: "x"}))})
	testTruncated(t, Zip(), valid, func(int) bool { return true })
}

func TestZipReadError(t *testing.T) {
	testReadError(t, Zip(), zipFile(zopts{}, zent{name: "a", body: "hello"}, zent{name: "lib/b.jar", store: true, body: string(zipFile(zopts{}, zent{name: "c", body: "x"}))}))
}

func TestCommentStripper(t *testing.T) {
	const in = "#a\nx=1\n#b\n\n y=#2\n#c"
	want := "x=1\n\n y=#2\n"
	// Any split of the input into writes gives the same output.
	for i := range len(in) {
		for j := i; j < len(in); j++ {
			var b bytes.Buffer
			w := &commentStripper{w: &b}
			for _, p := range []string{in[:i], in[i:j], in[j:]} {
				if n, err := w.Write([]byte(p)); n != len(p) || err != nil {
					t.Fatalf("Write(%q) = %d, %v", p, n, err)
				}
			}
			if got := b.String(); got != want {
				t.Fatalf("split at %d, %d: got %q, want %q", i, j, got, want)
			}
		}
	}
}

// canonical returns the canonical form of the zip b.
func canonical(t *testing.T, b []byte) []byte {
	t.Helper()
	p := newZipParser(bytes.NewReader(b), 0, nil)
	defer p.close()
	if err := p.parse(); err != nil {
		t.Fatal(err)
	}
	var w bytes.Buffer
	if err := p.writeCanonical(&w); err != nil {
		t.Fatal(err)
	}
	return w.Bytes()
}

// TestZipCanonicalUnambiguous builds pairs of archives whose canonical forms
// would be the same bytes without the kind byte or the name length.
func TestZipCanonicalUnambiguous(t *testing.T) {
	inner := zipFile(zopts{}, zent{name: "a", body: "x"})
	// A nested jar, and an entry of that name holding what the nested jar's
	// digest is the hash of (with the domain prefix), which is not a zip.
	canon := append([]byte("imgver/normalise/zip/v1\n"), canonical(t, inner)...)
	asJar := zipFile(zopts{}, zent{name: "x.jar", body: string(inner), store: true})
	asBytes := zipFile(zopts{}, zent{name: "x.jar", body: string(canon), store: true})

	// One entry whose name holds the rest of entry "a"'s record, and two
	// entries "a" and "b".
	two := zipFile(zopts{}, zent{name: "a", body: "x"}, zent{name: "b", body: "y"})
	recA := canonical(t, zipFile(zopts{}, zent{name: "a", body: "x"}))
	tailA := recA[bytes.IndexByte(recA, 'a')+1:]
	one := zipFile(zopts{}, zent{name: "a" + string(tailA) + "b", body: "y"})

	runPairs(t, Zip(), []pairCase{
		{"nested digest or bytes", asJar, asBytes, false},
		{"name boundaries", two, one, false},
	})
}

// TestZipNestedBudget: nested archives that decompress to more than the
// budget make the whole archive not applicable (a nested zip bomb must not
// run for hours); within it they are normalised.
func TestZipNestedBudget(t *testing.T) {
	zeros := strings.Repeat("\x00", 4<<20)
	inner := zipFile(zopts{}, zent{name: "zeros", body: zeros})
	middle := zipFile(zopts{}, zent{name: "inner.jar", body: string(inner)})
	outer := zipFile(zopts{}, zent{name: "middle.jar", body: string(middle)})
	t.Logf("outer %d bytes, middle %d, inner %d, content %d", len(outer), len(middle), len(inner), len(zeros))

	digest := func(base uint64) error {
		cr := &countReader{br: bufio.NewReader(bytes.NewReader(outer))}
		p := newZipParser(nil, 0, &zipBudget{top: cr, base: base, ratio: zipBudgetRatio})
		p.r = cr
		defer p.close()
		return p.parse()
	}
	if err := digest(zipBudgetBase); err != nil {
		t.Errorf("default budget: %v, want nil", err)
	}
	if err := digest(1 << 20); !errors.Is(err, errZipBudget) {
		t.Errorf("1 MiB budget: %v, want errZipBudget", err)
	}
	if _, err := Zip().Digest(bytes.NewReader(outer)); err != nil {
		t.Errorf("Digest: %v", err)
	}
}
