package pinfile

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Kind tells an automatic pin from a manual one.
type Kind int

// The kinds of pin.
const (
	Auto   Kind = iota + 1 // VAR_VER="v1", written by imgver
	Manual                 // export VAR_VER="v1" or : ${VAR_VER:=v1}, written by a person
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

// Pin is one pin.
type Pin struct {
	// Var is the image's variable prefix: the pin sets Var + "_VER".
	Var     string
	Version string
	Kind    Kind
	// Line is the 1-based line number where the pin starts (0 for a pin
	// not read from a file).
	Line int
}

// ParseError is a statement the parser cannot read as bash does.
type ParseError struct {
	File string
	Line int
	Msg  string
}

func (e *ParseError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// File is a parsed pin file.
type File struct {
	name    string
	data    []byte
	opts    options
	lines   []line
	pins    []pin
	unowned []Unowned
}

var (
	identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	tagRE   = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
)

// ValidVersion reports whether v can be a pinned version: an image tag.
func ValidVersion(v string) bool { return tagRE.MatchString(v) }

// Parse reads the content of the pin file called name (used in errors). The
// first statement it cannot read as bash does is a *ParseError.
func Parse(name string, data []byte, opts ...Option) (*File, error) {
	o, err := makeOptions(opts)
	if err != nil {
		return nil, err
	}
	f, errs := parse(name, data, o, false)
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return f, nil
}

// ParseLenient reads what it can: a statement it cannot read (or a second
// pin of a variable) is kept as it is, not a pin, and reported in errs; after
// a syntax error nothing more is read, as bash runs nothing more. It is for
// commands that only look, such as imgver list: a file read with errors
// cannot be changed.
func ParseLenient(name string, data []byte, opts ...Option) (f *File, errs []*ParseError) {
	o, err := makeOptions(opts)
	if err != nil {
		return &File{name: name, data: data}, []*ParseError{{File: name, Msg: err.Error()}}
	}
	return parse(name, data, o, true)
}

// Name is the name the file was parsed under.
func (f *File) Name() string { return f.name }

// Bytes returns the file's content.
func (f *File) Bytes() []byte { return bytes.Clone(f.data) }

// Pins returns every pin in file order.
func (f *File) Pins() []Pin {
	ps := make([]Pin, 0, len(f.pins))
	for _, p := range f.pins {
		ps = append(ps, p.Pin)
	}
	return ps
}

// Unowned returns the assignments to NAME_VER variables that no image owns,
// in file order; empty unless the file was read with Owned.
func (f *File) Unowned() []Unowned { return slices.Clone(f.unowned) }

// Lookup returns the pin of variable prefix v.
func (f *File) Lookup(v string) (Pin, bool) {
	if i := f.index(v); i >= 0 {
		return f.pins[i].Pin, true
	}
	return Pin{}, false
}

func (f *File) index(v string) int {
	return slices.IndexFunc(f.pins, func(p pin) bool { return p.Var == v })
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

// Set pins v to version with the given kind. An existing pin keeps its form
// (quotes, trailing comment, export or : ${...:=...}) when its kind stays,
// and only its value changes; when its kind changes, the pin's statement is
// rewritten in place (its trailing comment stays). A new pin is added as a
// block under a header for version made at now.
func (f *File) Set(v, version string, kind Kind, now time.Time) error {
	p := Pin{Var: v, Version: version, Kind: kind}
	if err := checkPin(p); err != nil {
		return err
	}
	i := f.index(v)
	if i < 0 {
		return f.AddBlock(Header(now, version), []Pin{p})
	}
	old := f.pins[i]
	at, text := old.stmt, formatPin(p)
	if old.Kind == kind {
		at, text = old.value, version
		if old.quote != 0 {
			text = string(old.quote) + version + string(old.quote)
		}
	}
	want := f.Pins()
	want[i].Version, want[i].Kind = version, kind
	return f.replace(splice(f.data, at, text), want)
}

func splice(data []byte, at [2]int, text string) []byte {
	out := make([]byte, 0, len(data)+len(text))
	out = append(out, data[:at[0]]...)
	out = append(out, text...)
	return append(out, data[at[1]:]...)
}

// replace makes data the file's content after checking that it reads back
// with exactly the pins want (lines aside), so that an edit never writes
// something imgver or bash would read otherwise.
func (f *File) replace(data []byte, want []Pin) error {
	g, errs := parse(f.name, data, f.opts, false)
	if len(errs) > 0 {
		return fmt.Errorf("changing pin file %s: the result would not read back: %w", f.name, errs[0])
	}
	got := g.Pins()
	same := len(got) == len(want)
	for i := 0; same && i < len(got); i++ {
		same = got[i].Var == want[i].Var && got[i].Version == want[i].Version && got[i].Kind == want[i].Kind
	}
	if !same {
		return fmt.Errorf("changing pin file %s: the result would read as other pins", f.name)
	}
	*f = *g
	return nil
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
	if !strings.HasPrefix(header, "#") || strings.ContainsAny(header, "\r\n") {
		return fmt.Errorf("header %q is not a one-line comment", header)
	}
	want := f.Pins()
	seen := map[string]bool{}
	for _, p := range pins {
		if err := checkPin(p); err != nil {
			return err
		}
		if seen[p.Var] || f.index(p.Var) >= 0 {
			return fmt.Errorf("%s_VER is already pinned", p.Var)
		}
		seen[p.Var] = true
		want = append(want, p)
	}
	var b bytes.Buffer
	b.Write(f.data)
	if n := len(f.lines); n > 0 {
		last := f.lines[n-1]
		if last.eol == "" {
			b.WriteByte('\n')
		}
		if last.end > last.start {
			b.WriteByte('\n')
		}
	}
	b.WriteString(header + "\n")
	for _, p := range pins {
		b.WriteString(formatPin(p) + "\n")
	}
	return f.replace(b.Bytes(), want)
}

// Remove deletes the pin of v, automatic or manual, with the lines it is on,
// and reports whether it did. A header left with no pins under it goes too,
// with the blank line that set its block apart.
func (f *File) Remove(v string) bool {
	i := f.index(v)
	if i < 0 {
		return false
	}
	pn := f.pins[i]
	pinLine := make([]bool, len(f.lines))
	for j, p := range f.pins {
		if j != i {
			for l := p.first; l <= p.last; l++ {
				pinLine[l] = true
			}
		}
	}
	del := map[int]bool{}
	for l := pn.first; l <= pn.last; l++ {
		del[l] = true
	}
	h := pn.first - 1
	for h >= 0 && pinLine[h] {
		h--
	}
	next := pn.last + 1
	empty := h == pn.first-1 && (next >= len(f.lines) || !pinLine[next])
	if h >= 0 && f.lines[h].header && empty {
		// The header's block is empty: drop the header, and a blank line
		// before it when a blank line or the end of the file follows.
		del[h] = true
		if h > 0 && f.blank(h-1) && (next >= len(f.lines) || f.blank(next)) {
			del[h-1] = true
		}
	}
	var b bytes.Buffer
	for l, ln := range f.lines {
		if !del[l] {
			b.Write(f.data[ln.start:ln.end])
			b.WriteString(ln.eol)
		}
	}
	out := b.Bytes()
	// When the last line had no line ending, the file still ends without one.
	if n := len(f.lines); n > 0 && del[n-1] && f.lines[n-1].eol == "" {
		out = bytes.TrimSuffix(out, []byte("\n"))
	}
	want := slices.Delete(f.Pins(), i, i+1)
	return f.replace(out, want) == nil
}

func (f *File) blank(l int) bool { return f.lines[l].start == f.lines[l].end }
