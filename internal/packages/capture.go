package packages

import (
	"bytes"
	"encoding/binary"
	"errors"
	"runtime/debug"
	"strings"
)

// A Capture collects what one regular file of an image says about packages
// while its content streams through Write, holding at most the bound of its
// kind (a Go binary: only its build information).
type Capture struct {
	kind Kind
	buf  bytes.Buffer
	gs   *goScanner
}

// NewCapture returns a Capture for the regular file at path p (absolute and
// clean) of the given size and mode, or nil when it cannot be a package
// database: not a database path (Match), one over its bound, or, for Go
// binaries, not executable.
func NewCapture(p string, size, mode int64) *Capture {
	if k := Match(p); k != None {
		if size > limit(k) {
			return nil
		}
		return &Capture{kind: k}
	}
	if mode&0o111 != 0 && size >= 64 {
		return &Capture{kind: GoBinary, gs: &goScanner{}}
	}
	return nil
}

// Write takes the next bytes of the file's content. It never fails.
func (c *Capture) Write(p []byte) (int, error) {
	if c.gs != nil {
		c.gs.write(p)
		return len(p), nil
	}
	return c.buf.Write(p)
}

// Packages returns the packages the content written lists. A Go binary's
// capture that found no build information returns nil and ok false: the
// file is no package database at all.
func (c *Capture) Packages() (ps []Package, ok bool) {
	if c.gs != nil {
		if c.gs.state != gsDone {
			return nil, false
		}
		return goPackages(c.gs.vers, c.gs.mod), true
	}
	return Parse(c.kind, c.buf.Bytes()), true
}

// parseGoBuildInfo returns the modules of the Go binary b.
func parseGoBuildInfo(b []byte) []Package {
	g := &goScanner{}
	g.write(b)
	if g.state != gsDone {
		return nil
	}
	return goPackages(g.vers, g.mod)
}

// goPackages turns a binary's Go version and module information into
// packages: the main module, the dependencies (at their replacement's
// version when replaced) and "stdlib" at the toolchain's version.
func goPackages(vers, mod string) []Package {
	var out []Package
	if f := strings.Fields(vers); len(f) > 0 {
		out = append(out, Package{Go, "stdlib", strings.TrimPrefix(f[0], "go")})
	}
	bi, err := debug.ParseBuildInfo(mod)
	if err != nil {
		return out
	}
	if bi.Main.Path != "" {
		out = append(out, Package{Go, bi.Main.Path, bi.Main.Version})
	}
	for _, d := range bi.Deps {
		v := d.Version
		if d.Replace != nil {
			v = d.Replace.Version
		}
		out = append(out, Package{Go, d.Path, v})
	}
	return out
}

// The build information of a Go 1.18+ binary, as debug/buildinfo reads it:
// a 32-byte header at a 16-aligned offset, starting with the magic, then
// the pointer size, flags (0x2: strings inline), then the Go version and
// the module information, each a uvarint length and bytes; the module
// information is wrapped in 16-byte sentinels.
const (
	goMagic      = "\xff Go buildinf:"
	goHeaderSize = 32
	goAlign      = 16
	goFlagInline = 0x2
	maxGoVersion = 1 << 10
	maxGoModInfo = 8 << 20
)

const (
	gsELF  = iota // reading the first 4 bytes: an ELF file?
	gsScan        // looking for the magic at 16-aligned offsets
	gsCand        // reading a candidate build information blob
	gsDone        // found: vers, mod
	gsDead        // not an ELF file
)

// goScanner finds the build information of a Go ELF binary in its content
// as it streams by, holding only the bytes since the last 16-aligned offset
// and, once found, the build information.
type goScanner struct {
	state     int
	carry     []byte // ELF magic; while scanning, bytes since the last aligned offset
	cand      []byte
	vers, mod string
}

var errNoBuildInfo = errors.New("no Go build information")

func (g *goScanner) write(p []byte) {
	for len(p) > 0 {
		switch g.state {
		case gsELF:
			take := min(4-len(g.carry), len(p))
			g.carry, p = append(g.carry, p[:take]...), p[take:]
			if len(g.carry) < 4 {
				return
			}
			if string(g.carry) != "\x7fELF" {
				g.state = gsDead
				return
			}
			g.state = gsScan
		case gsScan:
			if len(g.carry) > 0 {
				take := min(goAlign-len(g.carry), len(p))
				g.carry, p = append(g.carry, p[:take]...), p[take:]
				if len(g.carry) < goAlign {
					return
				}
				blk := g.carry
				g.carry = g.carry[:0]
				if bytes.HasPrefix(blk, []byte(goMagic)) {
					g.cand, g.state = append(g.cand[:0], blk...), gsCand
					continue
				}
			}
			// p starts at an aligned offset.
			n := len(p) &^ (goAlign - 1)
			if i := alignedIndex(p[:n]); i >= 0 {
				g.cand, g.state, p = g.cand[:0], gsCand, p[i:]
				continue
			}
			g.carry, p = append(g.carry[:0], p[n:]...), nil
		case gsCand:
			need, err := decodeBuildInfo(g.cand, g)
			if err != nil {
				// Not build information (the magic as a string constant):
				// scan on, keeping the alignment.
				g.carry = append(g.carry[:0], g.cand[len(g.cand)&^(goAlign-1):]...)
				g.state = gsScan
				continue
			}
			if need == 0 {
				g.state = gsDone
				return
			}
			take := min(need, len(p))
			g.cand, p = append(g.cand, p[:take]...), p[take:]
		default:
			return
		}
	}
	if g.state == gsCand {
		if need, err := decodeBuildInfo(g.cand, g); err == nil && need == 0 {
			g.state = gsDone
		}
	}
}

// alignedIndex returns the first 16-aligned index of the magic in b, or -1.
func alignedIndex(b []byte) int {
	for s := 0; s < len(b); {
		i := bytes.Index(b[s:], []byte(goMagic))
		if i < 0 {
			return -1
		}
		if i += s; i%goAlign == 0 {
			return i
		}
		s = (i + goAlign) &^ (goAlign - 1)
	}
	return -1
}

// decodeBuildInfo decodes the blob b that starts with the magic: it
// returns how many more bytes it needs, or 0 and sets g.vers and g.mod, or
// an error when b is no build information.
func decodeBuildInfo(b []byte, g *goScanner) (int, error) {
	if len(b) < goHeaderSize {
		return goHeaderSize - len(b), nil
	}
	if ptr := b[len(goMagic)]; ptr != 4 && ptr != 8 || b[len(goMagic)+1]&goFlagInline == 0 {
		return 0, errNoBuildInfo
	}
	pos := goHeaderSize
	var strs [2]string
	for i, bound := range []uint64{maxGoVersion, maxGoModInfo} {
		l, n := binary.Uvarint(b[pos:])
		switch {
		case n == 0 && len(b)-pos < binary.MaxVarintLen64:
			return 1, nil
		case n <= 0 || l > bound:
			return 0, errNoBuildInfo
		}
		end := pos + n + int(l)
		if len(b) < end {
			return end - len(b), nil
		}
		strs[i], pos = string(b[pos+n:end]), end
	}
	if !strings.HasPrefix(strs[0], "go") {
		return 0, errNoBuildInfo
	}
	mod := strs[1]
	if len(mod) >= 33 && mod[len(mod)-17] == '\n' {
		mod = mod[16 : len(mod)-16]
	} else {
		mod = ""
	}
	g.vers, g.mod = strs[0], mod
	return 0, nil
}
