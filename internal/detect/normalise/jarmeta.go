package normalise

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"path"
	"strings"
)

const (
	// maxMetaLine bounds one physical line of a manifest or a properties
	// file, maxMetaLogical one logical line (continuations joined); longer
	// is not applicable.
	maxMetaLine    = 64 << 10
	maxMetaLogical = 1 << 20
)

// manifestTimeHeaders are the manifest attributes (names compared without
// case) that build tools stamp with the build time: Gradle and Maven builds
// that add Build-Time/Build-Date/Build-Timestamp, bnd's Bnd-LastModified.
var manifestTimeHeaders = []string{"build-time", "build-date", "build-timestamp", "bnd-lastmodified"}

// Manifest returns the normaliser for JAR manifests (META-INF/MANIFEST.MF):
// it compares the attributes without the build-time stamps, line endings and
// line folding; see the package documentation.
func Manifest() Normaliser {
	return canonNormaliser{name: "manifest", match: matchMetaINF("MANIFEST.MF"), canon: canonManifest}
}

// matchMetaINF matches the file called base in a META-INF directory.
func matchMetaINF(base string) func(string, int64) bool {
	suffix := "/META-INF/" + base
	return func(p string, _ int64) bool { return strings.HasSuffix(path.Clean("/"+p), suffix) }
}

// canonManifest writes the canonical form of the manifest read from r to w:
// each attribute unfolded on one line ended by "\n" (none if the file's last
// line had no line end: the JVM ignores such a line), an empty line for each
// section break, the attributes of manifestTimeHeaders left out.
func canonManifest(r io.Reader, w hash.Hash) error {
	lr := newLineReader(r)
	var attr []byte // the attribute being unfolded
	var attrEnded, have bool
	flush := func() {
		if !have {
			return
		}
		have = false
		name, _, _ := bytes.Cut(attr, []byte(": "))
		for _, t := range manifestTimeHeaders {
			if strings.EqualFold(string(name), t) {
				return
			}
		}
		w.Write(attr)
		if attrEnded {
			w.Write([]byte("\n"))
		}
	}
	for {
		line, ended, err := lr.next()
		if errors.Is(err, io.EOF) {
			flush()
			return nil
		}
		if err != nil {
			return err
		}
		switch {
		case len(line) == 0:
			flush()
			w.Write([]byte("\n"))
		case line[0] == ' ':
			if !have {
				return fmt.Errorf("line %d: continuation without an attribute", lr.n)
			}
			if len(attr)+len(line) > maxMetaLogical {
				return fmt.Errorf("line %d: attribute longer than %d bytes", lr.n, maxMetaLogical)
			}
			attr, attrEnded = append(attr, line[1:]...), ended
		default:
			flush()
			if err := checkManifestName(line); err != nil {
				return fmt.Errorf("line %d: %w", lr.n, err)
			}
			attr, attrEnded, have = append(attr[:0], line...), ended, true
		}
	}
}

// checkManifestName checks that line starts with an attribute name as the
// JVM takes it (1 to 70 of A-Z a-z 0-9 - _) followed by ": ".
func checkManifestName(line []byte) error {
	name, _, ok := bytes.Cut(line, []byte(": "))
	if !ok {
		return errors.New(`no ": " after an attribute name`)
	}
	if len(name) == 0 || len(name) > 70 {
		return fmt.Errorf("attribute name of %d bytes, want 1 to 70", len(name))
	}
	for _, c := range name {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("attribute name %q: invalid character %q", name, c)
		}
	}
	return nil
}

// BuildInfo returns the normaliser for Spring Boot's build-info.properties
// (META-INF/build-info.properties): it compares the properties without
// build.time, comments and blank lines; see the package documentation.
func BuildInfo() Normaliser {
	return canonNormaliser{name: "build-info", match: matchMetaINF("build-info.properties"), canon: canonBuildInfo}
}

// buildTimeKey is the property spring-boot's build-info goal stamps with the
// build time.
const buildTimeKey = "build.time"

// canonBuildInfo writes the canonical form of the properties file read from
// r to w: each logical line (continuations joined, as java.util.Properties
// reads them) ended by "\n", "build.time=*" in place of the build.time
// property, comments and blank lines left out.
func canonBuildInfo(r io.Reader, w hash.Hash) error {
	lr := newLineReader(r)
	var logical []byte
	inLogical := false
	for {
		line, _, err := lr.next()
		if errors.Is(err, io.EOF) {
			if inLogical {
				writeProperty(w, logical)
			}
			return nil
		}
		if err != nil {
			return err
		}
		line = bytes.TrimLeft(line, " \t\f")
		if !inLogical {
			if len(line) == 0 || line[0] == '#' || line[0] == '!' {
				continue
			}
			logical = logical[:0]
		}
		cont := oddBackslashes(line)
		if cont {
			line = line[:len(line)-1]
		}
		if len(logical)+len(line) > maxMetaLogical {
			return fmt.Errorf("line %d: property longer than %d bytes", lr.n, maxMetaLogical)
		}
		logical = append(logical, line...)
		inLogical = cont
		if !cont {
			writeProperty(w, logical)
		}
	}
}

// writeProperty writes one logical line of a properties file, with the
// value of build.time replaced by "*". A logical line that is empty or
// starts with a comment character (possible after a continuation: "\\\n#x"
// is the property "#x") is written as a properties file says it: "=" and
// "\\#x", so that the canonical form reads back as itself.
func writeProperty(w hash.Hash, logical []byte) {
	switch {
	case propertyKey(logical) == buildTimeKey:
		w.Write([]byte(buildTimeKey + "=*\n"))
		return
	case len(logical) == 0:
		w.Write([]byte("="))
	case logical[0] == '#' || logical[0] == '!':
		w.Write([]byte("\\"))
	}
	w.Write(logical)
	w.Write([]byte("\n"))
}

// propertyKey returns the key of a logical properties line: up to the first
// '=', ':' or white space that no backslash escapes, escapes removed.
func propertyKey(logical []byte) string {
	var key []byte
	for i := 0; i < len(logical); i++ {
		switch c := logical[i]; c {
		case '\\':
			if i+1 < len(logical) {
				i++
				key = append(key, logical[i])
			}
		case '=', ':', ' ', '\t', '\f':
			return string(key)
		default:
			key = append(key, c)
		}
	}
	return string(key)
}

// oddBackslashes reports whether line ends with an odd number of
// backslashes: the logical line goes on on the next one.
func oddBackslashes(line []byte) bool {
	n := 0
	for i := len(line) - 1; i >= 0 && line[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

// lineReader reads the lines of a text file ended by "\n", "\r\n" or "\r",
// as both the manifest and the properties readers of the JVM take them.
type lineReader struct {
	br  *bufio.Reader
	buf []byte
	n   int // number of the line last returned
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{br: bufio.NewReader(r)}
}

// next returns the next line without its line end, whether a line end
// closed it, and io.EOF when no line is left. The line is valid until the
// next call.
func (l *lineReader) next() ([]byte, bool, error) {
	l.buf = l.buf[:0]
	l.n++
	for {
		c, err := l.br.ReadByte()
		if err == io.EOF && len(l.buf) > 0 {
			return l.buf, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		switch c {
		case '\n':
			return l.buf, true, nil
		case '\r':
			if b, err := l.br.Peek(1); err == nil && b[0] == '\n' {
				_, _ = l.br.ReadByte() // the byte Peek returned
			}
			return l.buf, true, nil
		}
		if len(l.buf) == maxMetaLine {
			return nil, false, fmt.Errorf("line %d is longer than %d bytes", l.n, maxMetaLine)
		}
		l.buf = append(l.buf, c)
	}
}

// entryNormaliser returns the normaliser the zip normaliser applies to the
// archive entry called name (META-INF/MANIFEST.MF,
// BOOT-INF/classes/META-INF/build-info.properties), or nil.
func entryNormaliser(name string) Normaliser {
	for _, n := range []Normaliser{Manifest(), BuildInfo()} {
		if n.Match("/"+name, 0) {
			return n
		}
	}
	return nil
}

// normalisedEntry sets e.sum to n's digest of the entry read from er, or to
// the sha256 of its bytes when n does not take them.
func (p *zipParser) normalisedEntry(e *zipEntry, er *entryReader, n Normaliser) error {
	raw := sha256.New()
	tr := io.TeeReader(er, raw)
	d, nerr := n.Digest(tr)
	if _, err := io.CopyBuffer(io.Discard, tr, p.copyBuf); err != nil {
		return fmt.Errorf("entry %q: %w", e.name, err)
	}
	switch {
	case nerr == nil:
		e.normal = true
		_, err := hex.Decode(e.sum[:], []byte(strings.TrimPrefix(d, "sha256:")))
		return err
	case errors.Is(nerr, ErrNotApplicable):
		raw.Sum(e.sum[:0])
		return nil
	default:
		return fmt.Errorf("entry %q: %w", e.name, nerr)
	}
}

// kind is the byte of the canonical form that says what e.sum digests: 0 the
// entry's bytes, 1 the entry as a nested archive, 2 the entry as normalised by
// an entry normaliser.
func (e *zipEntry) kind() byte {
	switch {
	case e.nested:
		return 1
	case e.normal:
		return 2
	}
	return 0
}
