package base

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/imgver/imgver/internal/clip"
)

// Kind says what a FROM refers to.
type Kind string

const (
	// KindImage is an image in a registry.
	KindImage Kind = "image"
	// KindStage is an earlier stage of the same Dockerfile (FROM build).
	KindStage Kind = "stage"
	// KindScratch is the empty image.
	KindScratch Kind = "scratch"
)

// Dockerfile is a parsed Dockerfile: its bytes and its FROM instructions.
type Dockerfile struct {
	// Data is the file as read; Rewrite edits a copy of it.
	Data []byte
	// Args holds the global ARGs (those before the first FROM) that have a
	// default, as NAME=value after substitution, in the order declared.
	Args []string
	// Froms holds every FROM instruction in order; the index is the stage.
	Froms []From

	escape  rune
	globals []globalArg
}

// globalArg is a global ARG as written: its name and, when it has one, its
// default before substitution.
type globalArg struct {
	key, value string
	hasValue   bool
}

// From is one FROM instruction.
type From struct {
	// Line and EndLine are the 1-based lines of the instruction (they differ
	// when it has line continuations).
	Line, EndLine int
	// Raw is the reference as written; Ref is Raw with the global ARG
	// defaults substituted and quotes removed.
	Raw, Ref string
	// Unset names the ARGs Raw uses that have no default.
	Unset []string
	// Platform is the --platform flag as written, or empty.
	Platform string
	// Stage is the name after AS, lowercased as BuildKit does, or empty.
	Stage string
	// Kind says whether Ref is an image, an earlier stage or scratch.
	Kind Kind

	// start and end are the byte offsets of Raw in Data, or -1 when Raw is
	// not written in one piece on one line.
	start, end int
}

// InPlace reports whether the reference can be replaced in place: it is
// written literally (no ARG, no quotes, no escapes) on one line.
func (f From) InPlace() bool { return f.start >= 0 && f.Raw == f.Ref }

// NotInPlaceReason says why InPlace is false.
func (f From) NotInPlaceReason() string {
	switch {
	case f.Raw != f.Ref && strings.Contains(f.Raw, "$"):
		return "the reference is built from ARG values; pin it by changing the ARG"
	case f.Raw != f.Ref:
		return "the reference is quoted or escaped"
	case f.start < 0:
		return "the reference is not written in one piece on one line"
	}
	return ""
}

// Parse parses a Dockerfile with BuildKit's parser and returns its FROM
// instructions with the global ARG defaults substituted.
func Parse(data []byte) (*Dockerfile, error) {
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	d := &Dockerfile{Data: data, escape: res.EscapeToken}
	lines := splitLines(data)
	lex := shell.NewLex(res.EscapeToken)
	env := map[string]string{}
	var order []string
	stages := map[string]bool{}
	for _, n := range res.AST.Children {
		switch strings.ToLower(n.Value) {
		case "arg":
			if len(d.Froms) > 0 {
				continue // a stage's ARG: FROM does not see it
			}
			for a := n.Next; a != nil; a = a.Next {
				k, v, ok := strings.Cut(a.Value, "=")
				d.globals = append(d.globals, globalArg{k, v, ok})
				if !ok {
					continue
				}
				r, err := lex.ProcessWordWithMatches(v, mapEnv{env, order})
				if err != nil {
					return nil, fmt.Errorf("line %d: expanding ARG %s: %w", n.StartLine, k, err)
				}
				if _, seen := env[k]; !seen {
					order = append(order, k)
				}
				env[k] = r.Result
			}
		case "from":
			f, err := parseFrom(data, n, lines, lex, mapEnv{env, order}, res.EscapeToken)
			if err != nil {
				return nil, err
			}
			switch {
			case f.Ref == "scratch":
				f.Kind = KindScratch
			case stages[strings.ToLower(f.Ref)]:
				f.Kind = KindStage
			default:
				f.Kind = KindImage
			}
			if f.Stage != "" {
				stages[f.Stage] = true
			}
			d.Froms = append(d.Froms, f)
		}
	}
	if len(d.Froms) == 0 {
		return nil, ErrNoFrom
	}
	for _, k := range order {
		d.Args = append(d.Args, k+"="+env[k])
	}
	return d, nil
}

// ErrNoFrom is returned by Parse for a Dockerfile without a FROM
// instruction, which Docker refuses to build.
var ErrNoFrom = errors.New("no FROM instruction (Docker refuses to build such a Dockerfile)")

// validUTF8 returns an error for a word of the instruction on line that is
// not valid UTF-8. BuildKit's lexer would print its complaint to stderr
// (text/scanner's default) and go on; no reference holds such bytes, so the
// word is turned down before it is lexed. (BuildKit's parser already turns
// bad bytes of ARG values and flags into U+FFFD.)
func validUTF8(line int, what, word string) error {
	if utf8.ValidString(word) {
		return nil
	}
	return fmt.Errorf("line %d: %s is not valid UTF-8: %s", line, what, clip.Quote(word))
}

func parseFrom(data []byte, n *parser.Node, lines []span, lex *shell.Lex, env mapEnv, escape rune) (From, error) {
	f := From{Line: n.StartLine, EndLine: n.EndLine, start: -1, end: -1}
	var args []string
	for a := n.Next; a != nil; a = a.Next {
		args = append(args, a.Value)
	}
	if len(args) != 1 && (len(args) != 3 || !strings.EqualFold(args[1], "as")) {
		return f, fmt.Errorf("line %d: FROM wants an image and optionally AS name, not %q", n.StartLine, strings.Join(args, " "))
	}
	f.Raw = args[0]
	if len(args) == 3 {
		f.Stage = strings.ToLower(args[2])
	}
	for _, fl := range n.Flags {
		if v, ok := strings.CutPrefix(fl, "--platform="); ok {
			f.Platform = v
		}
	}
	if err := validUTF8(n.StartLine, "FROM", f.Raw); err != nil {
		return f, err
	}
	r, err := lex.ProcessWordWithMatches(f.Raw, env)
	if err != nil {
		return f, fmt.Errorf("line %d: expanding %q: %w", n.StartLine, f.Raw, err)
	}
	f.Ref = r.Result
	for k := range r.Unmatched {
		f.Unset = append(f.Unset, k)
	}
	slices.Sort(f.Unset)
	f.start, f.end = locate(data, lines, n.StartLine, n.EndLine, f.Raw, escape)
	return f, nil
}

// span is a line of the file: Data[start:end] without its line ending.
type span struct{ start, end int }

// splitLines splits data into lines the way the parser counts them.
func splitLines(data []byte) []span {
	var out []span
	for i := 0; i < len(data); {
		j := bytes.IndexByte(data[i:], '\n')
		next := len(data)
		if j >= 0 {
			next = i + j + 1
		}
		end := next
		for end > i && (data[end-1] == '\n' || data[end-1] == '\r') {
			end--
		}
		out = append(out, span{i, end})
		i = next
	}
	if len(out) > 0 && bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		out[0].start += 3
	}
	return out
}

// locate finds the byte offsets of the reference word of the FROM
// instruction on lines [first, last] (1-based). It rebuilds the logical line
// as BuildKit does (leading space of the first line dropped, comment and
// blank lines inside a continuation dropped, continuation characters
// removed), remembering where each byte came from, then takes the first word
// after the instruction and its --flags. It returns -1, -1 when that word is
// not the expected one or does not come from one contiguous run of bytes.
func locate(fileData []byte, lines []span, first, last int, want string, escape rune) (int, int) {
	if first < 1 || last > len(lines) || first > last {
		return -1, -1
	}
	cont := continuation[escape]
	if cont == nil {
		return -1, -1
	}
	var logical []byte
	var offs []int
	for i := first; i <= last; i++ {
		ln := lines[i-1]
		text := ln
		if i == first {
			text.start = skipSpace(fileData, text)
		} else {
			s := skipSpace(fileData, text)
			if s == text.end || fileData[s] == '#' {
				continue // blank or comment line inside a continuation
			}
		}
		b := fileData[text.start:text.end]
		if m := cont.FindSubmatchIndex(b); m != nil {
			cut := m[0]
			if m[2] >= 0 {
				cut = m[3] // keep the character before the escape
			}
			b = b[:cut]
		}
		for k := range b {
			logical = append(logical, b[k])
			offs = append(offs, text.start+k)
		}
	}
	// Words are separated as by the parser's reWhitespace.
	words := wordRE.FindAllIndex(logical, -1)
	k := 1 // words[0] is FROM
	for k < len(words) && bytes.HasPrefix(logical[words[k][0]:words[k][1]], []byte("--")) {
		k++
	}
	if k >= len(words) {
		return -1, -1
	}
	a, b := words[k][0], words[k][1]
	if string(logical[a:b]) != want {
		return -1, -1
	}
	if offs[b-1]-offs[a] != b-1-a {
		return -1, -1
	}
	return offs[a], offs[b-1] + 1
}

var wordRE = regexp.MustCompile(`[^\t\v\f\r ]+`)

// continuation holds the parser's line-continuation expression for each
// escape token the parser allows.
var continuation = map[rune]*regexp.Regexp{
	'\\': regexp.MustCompile(`([^\\])\\[ \t]*$|^\\[ \t]*$`),
	'`':  regexp.MustCompile("([^`])`[ \t]*$|^`[ \t]*$"),
}

// skipSpace returns the offset of the first byte of s that is not space,
// decoding UTF-8 as the parser does.
func skipSpace(data []byte, s span) int {
	return s.end - len(bytes.TrimLeftFunc(data[s.start:s.end], unicode.IsSpace))
}

// platformArgs returns the ARGs a FROM sees in a build for platform pl, as
// BuildKit makes them: its automatic platform ARGs (BUILD* and TARGET* both
// stand for pl), then each global ARG with a default, expanded with those
// before it. A global ARG without a default leaves an automatic one as it is.
func (d *Dockerfile) platformArgs(pl v1.Platform) (mapEnv, error) {
	env := mapEnv{m: map[string]string{}}
	set := func(k, v string) {
		if _, ok := env.m[k]; !ok {
			env.order = append(env.order, k)
		}
		env.m[k] = v
	}
	for _, p := range []string{"BUILD", "TARGET"} {
		set(p+"PLATFORM", pl.String())
		set(p+"OS", pl.OS)
		set(p+"OSVERSION", pl.OSVersion)
		set(p+"ARCH", pl.Architecture)
		set(p+"VARIANT", pl.Variant)
	}
	lex := shell.NewLex(d.escape)
	for _, a := range d.globals {
		if !a.hasValue {
			continue
		}
		r, err := lex.ProcessWordWithMatches(a.value, env)
		if err != nil {
			return env, fmt.Errorf("expanding ARG %s: %w", a.key, err)
		}
		set(a.key, r.Result)
	}
	return env, nil
}

// mapEnv is the shell.EnvGetter of the global ARGs.
type mapEnv struct {
	m     map[string]string
	order []string
}

func (e mapEnv) Get(k string) (string, bool) { v, ok := e.m[k]; return v, ok }
func (e mapEnv) Keys() []string              { return e.order }

// NotInPlaceError is returned by Rewrite for a FROM whose reference cannot
// be replaced in place.
type NotInPlaceError struct {
	Line   int
	Raw    string
	Reason string
}

func (e *NotInPlaceError) Error() string {
	return fmt.Sprintf("line %d: cannot rewrite %q in place: %s", e.Line, e.Raw, e.Reason)
}

// Rewrite returns a copy of Data in which the reference of FROM number i
// (an index into Froms) is replaced by refs[i]. Every other byte is kept.
// It returns a *NotInPlaceError for a FROM that is not InPlace.
func (d *Dockerfile) Rewrite(refs map[int]string) ([]byte, error) {
	idx := make([]int, 0, len(refs))
	for i := range refs {
		if i < 0 || i >= len(d.Froms) {
			return nil, fmt.Errorf("rewriting FROM %d: the file has %d", i, len(d.Froms))
		}
		f := d.Froms[i]
		if !f.InPlace() {
			return nil, &NotInPlaceError{Line: f.Line, Raw: f.Raw, Reason: f.NotInPlaceReason()}
		}
		idx = append(idx, i)
	}
	slices.Sort(idx)
	out := make([]byte, 0, len(d.Data)+len(refs)*80)
	prev := 0
	for _, i := range idx {
		f := d.Froms[i]
		out = append(out, d.Data[prev:f.start]...)
		out = append(out, refs[i]...)
		prev = f.end
	}
	return append(out, d.Data[prev:]...), nil
}
