package pinfile

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"mvdan.cc/sh/v3/syntax"

	"github.com/imgver/imgver/internal/clip"
)

// Option changes how a pin file is read.
type Option func(*options) error

type options struct {
	// owned is the set of variable prefixes images own; nil: every NAME_VER
	// variable is a pin.
	owned map[string]bool
}

// Owned names the variable prefixes that images own. With it, an assignment
// to a NAME_VER variable no image owns is not a pin: it is kept byte for byte
// like any other assignment, never a reason to refuse the file, and listed by
// File.Unowned. Without it, every NAME_VER variable is a pin.
func Owned(vars ...string) Option {
	return func(o *options) error {
		if o.owned == nil {
			o.owned = map[string]bool{}
		}
		for _, v := range vars {
			if !identRE.MatchString(v) {
				return fmt.Errorf("%q is not a valid shell variable prefix", v)
			}
			o.owned[v] = true
		}
		return nil
	}
}

func makeOptions(opts []Option) (options, error) {
	var o options
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	return o, nil
}

// Unowned is an assignment to a NAME_VER variable that no image owns (see
// Owned). imgver keeps it as it is and never reads it as a pin.
type Unowned struct {
	Var  string
	Line int
}

// form is the statement an assignment is in.
type form int

const (
	formAssign form = iota + 1 // NAME=value
	formExport                 // export NAME=value
)

// pin is a Pin and where it is in the file.
type pin struct {
	Pin
	// stmt and value are byte ranges: the statement (from its column 0 to
	// its end, without a trailing comment) and the value word.
	stmt, value [2]int
	// quote is how Set writes a new value: '"', '\'' or 0 (bare), as the
	// old one was written.
	quote byte
	// first and last are the 0-based indexes of the lines it spans.
	first, last int
}

// line is one line of the file: data[start:end] is its text, eol its
// ending ("\n" or "" for a last line without one).
type line struct {
	start, end int
	eol        string
	// covered is set on a line that is part of a statement (or a heredoc);
	// header on an uncovered "# <time> -- <version>" line.
	covered, header bool
}

var headerRE = regexp.MustCompile(`^# (\S+) -- (\S+)[ \t]*$`)

const grammar = `a pin file holds only comments, assignments, "export NAME=value" and ": ${NAME:=value}"`

// specialVars are bash variables whose assignment fails (they are read-only)
// or changes how bash reads the rest of the file.
var specialVars = map[string]bool{
	"BASHOPTS": true, "BASH_COMPAT": true, "BASH_VERSINFO": true, "EUID": true,
	"POSIXLY_CORRECT": true, "PPID": true, "SHELLOPTS": true, "UID": true,
}

// parser is the state of one Parse.
type parser struct {
	f       *File
	errs    []*ParseError
	lenient bool
	seen    map[string]int // pin var -> line
}

func (p *parser) fail(line int, format string, args ...any) {
	p.errs = append(p.errs, &ParseError{File: p.f.name, Line: line, Msg: fmt.Sprintf(format, args...)})
}

func parse(name string, data []byte, o options, lenient bool) (*File, []*ParseError) {
	f := &File{name: name, data: data, opts: o, lines: splitLines(data)}
	p := &parser{f: f, lenient: lenient, seen: map[string]int{}}
	if n, crlf := crLine(data); n > 0 {
		if crlf {
			p.fail(n, "the line ends in CR LF (a DOS line ending): bash would read a carriage return into every value (\"v1.0.0\" would be \"v1.0.0\\r\"); convert the file with: sed -i 's/\\r$//' %s", name)
		} else {
			p.fail(n, "a carriage return: bash reads it as part of a word, imgver's shell parser as a blank; remove it")
		}
		if !lenient {
			return nil, p.errs
		}
	}
	if n, msg := badRune(data); n > 0 {
		p.fail(n, "%s", msg)
		if !lenient {
			return nil, p.errs
		}
	}
	stmts, err := p.syntax(data)
	if err != nil && !lenient {
		return nil, p.errs
	}
	spans := make([][2]int, len(stmts))
	for i, s := range stmts {
		spans[i] = span(s)
		// A continuation at the end of the file ends the statement on a
		// line that is not there.
		spans[i][1] = min(spans[i][1], len(f.lines)-1)
		for l := spans[i][0]; l <= spans[i][1]; l++ {
			f.lines[l].covered = true
		}
	}
	for i, s := range stmts {
		shared := (i > 0 && spans[i-1][1] >= spans[i][0]) || (i+1 < len(stmts) && spans[i][1] >= spans[i+1][0])
		p.stmt(s, spans[i], shared)
		if len(p.errs) > 0 && !lenient {
			return nil, p.errs
		}
	}
	// mvdan.cc/sh reads a carriage return as a blank, bash as part of a
	// word: a pin on a line with one is not what bash reads.
	f.pins = slices.DeleteFunc(f.pins, func(pn pin) bool {
		for l := pn.first; l <= pn.last; l++ {
			if bytes.IndexByte(data[f.lines[l].start:f.lines[l].end], '\r') >= 0 {
				p.fail(pn.Line, "%s_VER: bash would read a carriage return into its value", pn.Var)
				return true
			}
		}
		return false
	})
	for i := range f.lines {
		l := &f.lines[i]
		if m := headerRE.FindSubmatch(data[l.start:l.end]); m != nil && !l.covered {
			if _, err := time.Parse(time.RFC3339, string(m[1])); err == nil {
				l.header = true
			}
		}
	}
	return f, p.errs
}

// syntax parses data with mvdan.cc/sh's bash parser. On a syntax error it
// reports the error and returns the statements before the line it is on, as
// bash runs the commands before a syntax error when it sources a file.
func (p *parser) syntax(data []byte) ([]*syntax.Stmt, error) {
	var first error
	for {
		sp := syntax.NewParser(syntax.Variant(syntax.LangBash), syntax.KeepComments(true))
		file, err := sp.Parse(bytes.NewReader(data), "")
		if err == nil {
			if first == nil {
				first = p.comments(file)
			}
			return file.Stmts, first
		}
		line, msg := syntaxError(err)
		if first == nil {
			first = err
			p.fail(line, "bash cannot parse this: %s", msg)
		}
		cut := 0
		if line > 1 && line-1 <= len(p.f.lines) {
			cut = p.f.lines[line-2].end
		}
		if cut >= len(data) || line <= 1 {
			return nil, first
		}
		data = data[:cut]
	}
}

// comments refuses a comment that ends in a backslash: mvdan.cc/sh joins the
// next line to it, which bash does not, so imgver could misread that line.
func (p *parser) comments(file *syntax.File) error {
	var err error
	syntax.Walk(file, func(n syntax.Node) bool {
		if c, ok := n.(*syntax.Comment); ok && err == nil && strings.HasSuffix(strings.TrimSuffix(c.Text, "\n"), "\\") {
			p.fail(int(c.Pos().Line()), "a comment ends in a backslash: remove it (imgver's shell parser would join the next line to the comment, bash does not)")
			err = errors.New("comment ends in a backslash")
		}
		return err == nil
	})
	return err
}

func syntaxError(err error) (line int, msg string) {
	var pe syntax.ParseError
	if errors.As(err, &pe) {
		return int(pe.Pos.Line()), pe.Text
	}
	var le syntax.LangError
	if errors.As(err, &le) {
		return int(le.Pos.Line()), strings.TrimPrefix(le.Error(), le.Pos.String()+": ")
	}
	return 1, err.Error()
}

// span returns the 0-based first and last lines of s, its heredoc bodies
// and their closing delimiters included.
func span(s *syntax.Stmt) [2]int {
	first, last := int(s.Pos().Line())-1, int(s.End().Line())-1
	for _, r := range s.Redirs {
		if r.Op != syntax.Hdoc && r.Op != syntax.DashHdoc {
			continue
		}
		if r.Hdoc != nil && r.Hdoc.End().Line() > 0 {
			// The body's word ends on its closing delimiter's line.
			last = max(last, int(r.Hdoc.End().Line())-1)
		} else {
			last++ // an empty body: the delimiter is on the next line
		}
	}
	return [2]int{first, last}
}

func splitLines(data []byte) []line {
	var ls []line
	for start := 0; start < len(data); {
		i := bytes.IndexByte(data[start:], '\n')
		if i < 0 {
			ls = append(ls, line{start: start, end: len(data)})
			break
		}
		ls = append(ls, line{start: start, end: start + i, eol: "\n"})
		start += i + 1
	}
	return ls
}

// badRune finds what mvdan.cc/sh cannot read as bash does: invalid UTF-8,
// and U+0080 and U+0081, which its lexer takes for the end of the file and
// for an escaped newline. It returns the 1-based line and a message, or 0.
func badRune(data []byte) (int, string) {
	line := 1
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		switch {
		case r == '\n':
			line++
		case r == utf8.RuneError && n <= 1:
			return line, "the line is not valid UTF-8: imgver's shell parser reads UTF-8 only"
		case r == 0x80 || r == 0x81:
			return line, fmt.Sprintf("the control character U+%04X: imgver's shell parser cannot read it as bash does; remove it", r)
		}
		i += n
	}
	return 0, ""
}

// crLine returns the 1-based number of the first line with a carriage
// return, and whether it is the line's end (CR LF), or 0.
func crLine(data []byte) (int, bool) {
	i := bytes.IndexByte(data, '\r')
	if i < 0 {
		return 0, false
	}
	return bytes.Count(data[:i], []byte("\n")) + 1, i+1 == len(data) || data[i+1] == '\n'
}

// pinVar returns the prefix of a NAME_VER variable, and whether it is one.
func pinVar(name string) (string, bool) {
	v, ok := strings.CutSuffix(name, "_VER")
	return v, ok && identRE.MatchString(v)
}

// isPin reports whether an assignment to name is a pin, and records it as
// unowned when it is a NAME_VER variable no image owns.
func (p *parser) isPin(name string, line int) (string, bool) {
	v, ok := pinVar(name)
	if !ok {
		return "", false
	}
	if p.f.opts.owned != nil && !p.f.opts.owned[v] {
		p.f.unowned = append(p.f.unowned, Unowned{Var: v, Line: line})
		return "", false
	}
	return v, true
}

func lineOf(n syntax.Node) int { return int(n.Pos().Line()) }

// stmt reads one top-level statement.
func (p *parser) stmt(s *syntax.Stmt, sp [2]int, shared bool) {
	line := lineOf(s)
	switch {
	case s.Background:
		p.fail(line, "a command run in the background (&): bash would run it in a subshell; %s", grammar)
		return
	case s.Coprocess, s.Disown:
		p.fail(line, "a coprocess: %s", grammar)
		return
	case s.Negated:
		p.fail(line, "a negated command (!): %s", grammar)
		return
	}
	colon := false
	if c, ok := s.Cmd.(*syntax.CallExpr); ok && len(c.Args) > 0 && c.Args[0].Lit() == ":" && len(c.Assigns) == 0 {
		colon = true
	}
	for _, r := range s.Redirs {
		if !colon || (r.Op != syntax.Hdoc && r.Op != syntax.DashHdoc) {
			p.fail(lineOf(r), "a redirection (%s): %s", r.Op, grammar)
			return
		}
		if r.Hdoc != nil {
			if n, why := unsafeWord(r.Hdoc); n != nil {
				p.fail(lineOf(n), "in a heredoc: %s", why)
				return
			}
		}
	}
	var pins []pin
	n := 0 // assignments or arguments of the statement
	switch c := s.Cmd.(type) {
	case *syntax.CallExpr:
		switch {
		case len(c.Args) == 0:
			pins, n = p.assigns(c.Assigns, formAssign)
		case len(c.Assigns) > 0:
			for _, a := range c.Assigns {
				if v, ok := pinVar(a.Name.Value); ok {
					p.fail(line, "cannot read the value of %s_VER: bash runs %s as a command with %s_VER set only for it (quote a value with blanks: %s_VER=\"version\")", v, clip.String(source(c.Args[0])), v, v)
					return
				}
			}
			p.fail(line, "an assignment before a command (%s): bash would not keep it; %s", clip.String(source(c.Args[0])), grammar)
		case colon:
			pins, n = p.colon(c.Args[1:])
		default:
			what := "a command"
			if lit := c.Args[0].Lit(); lit != "" {
				what = fmt.Sprintf("command %q", lit)
			}
			p.fail(line, "%s: %s, so that imgver reads what bash reads", what, grammar)
		}
	case *syntax.DeclClause:
		pins, n = p.decl(c)
	default:
		p.fail(line, "%s: bash may assign variables in it that imgver cannot see; %s", describe(s.Cmd), grammar)
	}
	if len(pins) == 0 {
		return
	}
	pn := pins[0]
	pn.Line = line
	switch {
	case n > 1:
		p.fail(pn.Line, "%s_VER is assigned in one command with other words: a pin must be alone on its line", pn.Var)
		return
	case shared:
		p.fail(pn.Line, "%s_VER shares its line with another command: a pin must be alone on its line", pn.Var)
		return
	case s.Pos().Col() != 1:
		p.fail(pn.Line, "indented assignment to %s_VER: pins must start at column 0", pn.Var)
		return
	}
	if prev, dup := p.seen[pn.Var]; dup {
		p.fail(pn.Line, "second pin of %s_VER (first at line %d)", pn.Var, prev)
		return
	}
	p.seen[pn.Var] = pn.Line
	pn.stmt = [2]int{int(s.Pos().Offset()), int(s.End().Offset())}
	pn.first, pn.last = sp[0], sp[1]
	p.f.pins = append(p.f.pins, pn)
}

// describe names a compound command for an error.
func describe(cmd syntax.Command) string {
	switch c := cmd.(type) {
	case *syntax.IfClause:
		return "an if statement"
	case *syntax.CaseClause:
		return "a case statement"
	case *syntax.WhileClause:
		if c.Until {
			return "an until loop"
		}
		return "a while loop"
	case *syntax.ForClause:
		return "a for loop"
	case *syntax.FuncDecl:
		return "a function definition"
	case *syntax.Subshell:
		return "a subshell"
	case *syntax.Block:
		return "a { } block"
	case *syntax.BinaryCmd:
		return fmt.Sprintf("a command list (%s)", c.Op)
	case *syntax.ArithmCmd, *syntax.LetClause:
		return "an arithmetic command"
	case *syntax.TestClause, *syntax.TestDecl:
		return "a [[ ]] test"
	case *syntax.TimeClause:
		return "a timed command"
	case *syntax.CoprocClause:
		return "a coprocess"
	}
	return "this statement"
}

// assigns reads plain assignments (form assign) or export's arguments.
// It returns the pins and the number of assignments of the statement.
func (p *parser) assigns(as []*syntax.Assign, fm form) ([]pin, int) {
	var pins []pin
	for _, a := range as {
		if a.Name == nil {
			p.fail(lineOf(a), "export %s: an export of something other than NAME or NAME=value; %s", source(a.Value), grammar)
			return nil, 0
		}
		line := lineOf(a)
		name := a.Name.Value
		v, isPin := p.isPin(name, line)
		if !isPin {
			if !p.otherAssign(a, fm) {
				return nil, 0
			}
			continue
		}
		switch {
		case a.Append:
			p.fail(line, "%s_VER+= appends to the pin: bash would deploy the joined value; write the whole version in one pin", v)
			return nil, 0
		case a.Index != nil || a.Array != nil:
			p.fail(line, "%s_VER is assigned as an array: a pin is %s_VER=\"version\"", v, v)
			return nil, 0
		case a.Naked:
			p.fail(line, "export %s_VER without a value: a manual pin is export %s_VER=\"version\"", v, v)
			return nil, 0
		}
		pn := pin{Pin: Pin{Var: v, Kind: Auto, Line: line}}
		if fm == formExport {
			pn.Kind = Manual
		}
		if !p.value(&pn, a.Value, false) {
			return nil, 0
		}
		pins = append(pins, pn)
	}
	return pins, len(as)
}

// otherAssign checks an assignment that is not a pin: it must not be able to
// change a pin, stop bash or run a command.
func (p *parser) otherAssign(a *syntax.Assign, fm form) bool {
	line := lineOf(a)
	if specialVars[a.Name.Value] {
		p.fail(line, "assignment to %s: it changes how bash reads the file (or fails); %s", a.Name.Value, grammar)
		return false
	}
	if a.Index != nil {
		p.fail(line, "assignment to an element of %s: its index is evaluated as arithmetic; %s", a.Name.Value, grammar)
		return false
	}
	var words []*syntax.Word
	if a.Value != nil {
		words = append(words, a.Value)
	}
	if a.Array != nil {
		for _, e := range a.Array.Elems {
			if e.Index != nil {
				p.fail(lineOf(e), "an indexed array element in %s: its index is evaluated as arithmetic; %s", a.Name.Value, grammar)
				return false
			}
			if e.Value != nil {
				words = append(words, e.Value)
			}
		}
	}
	for _, w := range words {
		if n, why := unsafeWord(w); n != nil {
			p.fail(lineOf(n), "in the value of %s: %s", a.Name.Value, why)
			return false
		}
		// export's arguments go through brace expansion, which could
		// make one argument several assignments.
		if fm == formExport && hasBrace(w) {
			p.fail(line, "export %s=...: a brace in an unquoted export value is expanded by bash; quote it", a.Name.Value)
			return false
		}
	}
	return true
}

func hasBrace(w *syntax.Word) bool {
	for _, part := range w.Parts {
		if l, ok := part.(*syntax.Lit); ok && strings.ContainsAny(l.Value, "{}") {
			return true
		}
	}
	return false
}

// decl reads export (and refuses declare, typeset, readonly, local).
func (p *parser) decl(c *syntax.DeclClause) ([]pin, int) {
	line := lineOf(c)
	if c.Variant.Value != "export" {
		for _, a := range c.Args {
			if a.Name != nil {
				if v, ok := pinVar(a.Name.Value); ok && (p.f.opts.owned == nil || p.f.opts.owned[v]) {
					p.fail(line, "assignment to %s_VER with %s: a pin is %s_VER=\"version\" or export %s_VER=\"version\"", v, c.Variant.Value, v, v)
					return nil, 0
				}
			}
		}
		p.fail(line, "command %q: %s, so that imgver reads what bash reads", c.Variant.Value, grammar)
		return nil, 0
	}
	if len(c.Args) == 0 {
		p.fail(line, "export without arguments: %s", grammar)
		return nil, 0
	}
	return p.assigns(c.Args, formExport)
}

// colon reads the arguments of ":". One of the form ${NAME:=value} or
// "${NAME:=value}" (or with = for :=) assigns NAME; any other argument
// must be harmless.
// It returns the pins and the number of arguments.
func (p *parser) colon(args []*syntax.Word) ([]pin, int) {
	var pins []pin
	for _, w := range args {
		pe, dq := defaultExp(w)
		if pe == nil {
			if n, why := unsafeWord(w); n != nil {
				p.fail(lineOf(n), "in an argument of \":\": %s", why)
				return nil, 0
			}
			continue
		}
		line := lineOf(w)
		v, isPin := p.isPin(pe.Param.Value, line)
		if !isPin {
			if specialVars[pe.Param.Value] {
				p.fail(line, "assignment to %s: it changes how bash reads the file (or fails); %s", pe.Param.Value, grammar)
				return nil, 0
			}
			if pe.Exp.Word != nil {
				if n, why := unsafeWord(pe.Exp.Word); n != nil {
					p.fail(lineOf(n), "in the value of %s: %s", pe.Param.Value, why)
					return nil, 0
				}
			}
			continue
		}
		pn := pin{Pin: Pin{Var: v, Kind: Manual, Line: line}}
		if !p.value(&pn, pe.Exp.Word, dq) {
			return nil, 0
		}
		pins = append(pins, pn)
	}
	return pins, len(args)
}

// defaultExp returns the ${NAME:=value} (or ${NAME=value}) of a word that is
// only that, bare or in double quotes.
func defaultExp(w *syntax.Word) (pe *syntax.ParamExp, dq bool) {
	parts := w.Parts
	if len(parts) == 1 {
		if d, ok := parts[0].(*syntax.DblQuoted); ok && !d.Dollar {
			parts, dq = d.Parts, true
		}
	}
	if len(parts) != 1 {
		return nil, false
	}
	pe, ok := parts[0].(*syntax.ParamExp)
	if !ok || pe.Short || pe.Exp == nil || pe.Param == nil || !plainParam(pe) ||
		(pe.Exp.Op != syntax.AssignUnset && pe.Exp.Op != syntax.AssignUnsetOrNull) {
		return nil, false
	}
	return pe, dq
}

// plainParam reports whether pe is ${NAME...} with no operator other than
// its Exp.
func plainParam(pe *syntax.ParamExp) bool {
	return !pe.Excl && !pe.Length && !pe.Width && !pe.IsSet && pe.Flags == nil && pe.NestedParam == nil &&
		pe.Index == nil && pe.Slice == nil && pe.Repl == nil && pe.Names == 0 && len(pe.Modifiers) == 0
}
