package pinfile

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Kind tells an automatic pin from a manual one.
type Kind int

// The kinds of pin.
const (
	Auto   Kind = iota + 1 // VAR_VER="v1", written by imgver
	Manual                 // export VAR_VER="v1", written by a person
)

func (k Kind) String() string {
	switch k {
	case Auto:
		return "auto"
	case Manual:
		return "manual"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Pin is one pin line.
type Pin struct {
	// Var is the image's variable prefix: the line sets Var + "_VER".
	Var     string
	Version string
	Kind    Kind
	// Line is the 1-based line number where the pin was read (0 for a pin
	// added since).
	Line int
}

// ParseError is a line the parser cannot read.
type ParseError struct {
	File string
	Line int
	Msg  string
}

func (e *ParseError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

type line struct {
	text string // without its line ending
	eol  string // "\n", "\r\n", or "" for a last line without one
	pin  *Pin
	// comment is what follows a pin's value (blanks and a "# comment"), kept
	// when the pin is rewritten in place.
	comment string
	// header is set on a "# <time> -- <version>" line.
	header bool
}

// File is a parsed pin file.
type File struct {
	name  string
	lines []line
	eol   string
}

var (
	// assignRE finds an assignment to a NAME_VER variable, possibly indented
	// or exported. Group 1: indent, 2: "export ", 3: var prefix, 4: value.
	assignRE = regexp.MustCompile(`^([ \t]*)(export[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)_VER=(.*)$`)
	// declRE finds an assignment to a NAME_VER variable through a bash
	// builtin other than export (declare -x, readonly...), which bash honours.
	// Group 1: the builtin, 2: var prefix.
	declRE = regexp.MustCompile(`^[ \t]*(declare|typeset|readonly|local)(?:[ \t]+[-+][A-Za-z]+)*[ \t]+([A-Za-z_][A-Za-z0-9_]*)_VER=`)
	// valueRE is the value grammar: quoted or bare, then an optional comment.
	valueRE  = regexp.MustCompile(`^(?:"([^"\\$` + "`" + `]*)"|'([^']*)'|([A-Za-z0-9._+:@/-]*))((?:[ \t]+(?:#.*)?)?)$`)
	identRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	tagRE    = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	headerRE = regexp.MustCompile(`^# (\S+) -- (\S+)[ \t]*$`)
)

// ValidVersion reports whether v can be a pinned version: an image tag.
func ValidVersion(v string) bool { return tagRE.MatchString(v) }

// Parse reads the content of the pin file called name (used in errors). The
// first line it cannot read is a *ParseError.
func Parse(name string, data []byte) (*File, error) {
	f, errs := parse(name, data, false)
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return f, nil
}

// ParseLenient reads what it can: a line it cannot read (or a second pin of
// a variable) is kept as an ordinary line, not a pin, and reported in errs.
// It is for commands that only look, such as imgver list.
func ParseLenient(name string, data []byte) (f *File, errs []*ParseError) {
	return parse(name, data, true)
}

func parse(name string, data []byte, lenient bool) (*File, []*ParseError) {
	f := &File{name: name}
	var errs []*ParseError
	seen := map[string]int{}
	for n := 1; len(data) > 0; n++ {
		var l line
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			l.text, data = string(data), nil
		} else {
			l.text, l.eol, data = string(data[:i]), "\n", data[i+1:]
			if strings.HasSuffix(l.text, "\r") {
				l.text, l.eol = l.text[:len(l.text)-1], "\r\n"
			}
		}
		if f.eol == "" && l.eol != "" {
			f.eol = l.eol
		}
		pin, comment, err := parseLine(l.text)
		if err == nil && pin != nil {
			if prev, dup := seen[pin.Var]; dup {
				err = fmt.Errorf("second pin of %s_VER (first at line %d)", pin.Var, prev)
			}
		}
		switch {
		case err != nil:
			errs = append(errs, &ParseError{File: name, Line: n, Msg: err.Error()})
			if !lenient {
				return nil, errs
			}
		case pin != nil:
			seen[pin.Var] = n
			pin.Line = n
			l.pin, l.comment = pin, comment
		default:
			if m := headerRE.FindStringSubmatch(l.text); m != nil {
				if _, err := time.Parse(time.RFC3339, m[1]); err == nil {
					l.header = true
				}
			}
		}
		f.lines = append(f.lines, l)
	}
	if f.eol == "" {
		f.eol = "\n"
	}
	return f, errs
}

// parseLine returns the pin on the line and what follows its value (blanks
// and a comment), nil for any other line, or an error for an assignment to a
// NAME_VER variable it cannot read.
func parseLine(text string) (*Pin, string, error) {
	m := assignRE.FindStringSubmatch(text)
	if m == nil {
		if d := declRE.FindStringSubmatch(text); d != nil {
			return nil, "", fmt.Errorf("assignment to %s_VER with %s: a pin is %s_VER=\"version\" or export %s_VER=\"version\"", d[2], d[1], d[2], d[2])
		}
		return nil, "", nil
	}
	indent, export, v, rest := m[1], m[2], m[3], m[4]
	if indent != "" {
		return nil, "", fmt.Errorf("indented assignment to %s_VER: pins must start at column 0", v)
	}
	vm := valueRE.FindStringSubmatch(rest)
	if vm == nil {
		return nil, "", fmt.Errorf("cannot read the value of %s_VER: want VAR_VER=\"version\", got %s", v, text)
	}
	version := vm[1] + vm[2] + vm[3]
	if version == "" {
		return nil, "", fmt.Errorf("empty version for %s_VER", v)
	}
	if !ValidVersion(version) {
		return nil, "", fmt.Errorf("version %q of %s_VER is not a valid image tag", version, v)
	}
	kind := Auto
	if export != "" {
		kind = Manual
	}
	return &Pin{Var: v, Version: version, Kind: kind}, vm[4], nil
}

// Name is the name the file was parsed under.
func (f *File) Name() string { return f.name }

// Bytes returns the file's content.
func (f *File) Bytes() []byte {
	var b bytes.Buffer
	for _, l := range f.lines {
		b.WriteString(l.text)
		b.WriteString(l.eol)
	}
	return b.Bytes()
}

// Pins returns every pin in file order.
func (f *File) Pins() []Pin {
	var ps []Pin
	for _, l := range f.lines {
		if l.pin != nil {
			ps = append(ps, *l.pin)
		}
	}
	return ps
}

// Lookup returns the pin of variable prefix v.
func (f *File) Lookup(v string) (Pin, bool) {
	if i := f.index(v); i >= 0 {
		return *f.lines[i].pin, true
	}
	return Pin{}, false
}

func (f *File) index(v string) int {
	for i, l := range f.lines {
		if l.pin != nil && l.pin.Var == v {
			return i
		}
	}
	return -1
}

func formatPin(p Pin) string {
	s := fmt.Sprintf("%s_VER=%q", p.Var, p.Version)
	if p.Kind == Manual {
		s = "export " + s
	}
	return s
}

// Header returns the header line of a block of pins to version made at t.
func Header(t time.Time, version string) string {
	return fmt.Sprintf("# %s -- %s", t.UTC().Format(time.RFC3339), version)
}

// Set pins v to version with the given kind. An existing pin line is
// rewritten in place, keeping its trailing comment; otherwise the pin is added as a new block under a header
// for version made at now.
func (f *File) Set(v, version string, kind Kind, now time.Time) error {
	p := Pin{Var: v, Version: version, Kind: kind}
	if err := checkPin(p); err != nil {
		return err
	}
	if i := f.index(v); i >= 0 {
		f.lines[i].text = formatPin(p) + f.lines[i].comment
		p.Line = f.lines[i].pin.Line
		f.lines[i].pin = &p
		return nil
	}
	return f.AddBlock(Header(now, version), []Pin{p})
}

func checkPin(p Pin) error {
	if !identRE.MatchString(p.Var) {
		return fmt.Errorf("%q is not a valid shell variable prefix", p.Var)
	}
	if !ValidVersion(p.Version) {
		return fmt.Errorf("version %q is not a valid image tag", p.Version)
	}
	if p.Kind != Auto && p.Kind != Manual {
		return fmt.Errorf("invalid pin kind %v", p.Kind)
	}
	return nil
}

// AddBlock appends header and one line per pin at the end of the file,
// separated from what comes before by a blank line. It adds nothing when
// pins is empty. A pin whose variable is already pinned is an error.
func (f *File) AddBlock(header string, pins []Pin) error {
	if len(pins) == 0 {
		return nil
	}
	seen := map[string]bool{}
	for _, p := range pins {
		if err := checkPin(p); err != nil {
			return err
		}
		if seen[p.Var] || f.index(p.Var) >= 0 {
			return fmt.Errorf("%s_VER is already pinned", p.Var)
		}
		seen[p.Var] = true
	}
	if n := len(f.lines); n > 0 {
		if f.lines[n-1].eol == "" {
			f.lines[n-1].eol = f.eol
		}
		if f.lines[n-1].text != "" {
			f.lines = append(f.lines, line{eol: f.eol})
		}
	}
	f.lines = append(f.lines, line{text: header, eol: f.eol, header: true})
	for _, p := range pins {
		p.Line = 0
		f.lines = append(f.lines, line{text: formatPin(p), eol: f.eol, pin: &p})
	}
	return nil
}

// Remove deletes the pin of v, automatic or manual, and reports whether there
// was one. A header left with no pins under it goes too, with the blank line
// that set its block apart.
func (f *File) Remove(v string) bool {
	i := f.index(v)
	if i < 0 {
		return false
	}
	h := i - 1
	for h >= 0 && f.lines[h].pin != nil {
		h--
	}
	f.deleteLine(i)
	if h < 0 || !f.lines[h].header || (h+1 < len(f.lines) && f.lines[h+1].pin != nil) {
		return true
	}
	// The header's block is empty: drop the header, and a blank line before
	// it when a blank line or the end of the file follows.
	f.deleteLine(h)
	if h > 0 && f.lines[h-1].text == "" && (h == len(f.lines) || f.lines[h].text == "") {
		f.deleteLine(h - 1)
	}
	return true
}

// deleteLine removes line i. When it was the last line and had no line
// ending, the new last line loses its own, so the file still ends as it did.
func (f *File) deleteLine(i int) {
	last := i == len(f.lines)-1
	eol := f.lines[i].eol
	f.lines = append(f.lines[:i], f.lines[i+1:]...)
	if last && eol == "" && i > 0 {
		f.lines[i-1].eol = ""
	}
}
