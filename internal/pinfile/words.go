package pinfile

import (
	"fmt"
	"strings"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"

	"github.com/imgver/imgver/internal/clip"
)

// value reads the value of a pin from w: a static word (no expansion) whose
// value, as bash reads it, is a valid image tag.
func (p *parser) value(pn *pin, w *syntax.Word, dq bool) bool {
	if w == nil || len(w.Parts) == 0 {
		p.fail(pn.Line, "empty version for %s_VER", pn.Var)
		return false
	}
	val, ok := staticValue(w, dq)
	if !ok {
		p.fail(pn.Line, "cannot read the value of %s_VER: want %s_VER=\"version\", got %s", pn.Var, pn.Var, clip.String(source(w)))
		return false
	}
	if val == "" {
		p.fail(pn.Line, "empty version for %s_VER", pn.Var)
		return false
	}
	if !ValidVersion(val) {
		p.fail(pn.Line, "version %s of %s_VER is not a valid image tag", clip.Quote(val), pn.Var)
		return false
	}
	pn.Version = val
	pn.value = [2]int{int(w.Pos().Offset()), int(w.End().Offset())}
	if len(w.Parts) == 1 {
		switch q := w.Parts[0].(type) {
		case *syntax.SglQuoted:
			if !q.Dollar {
				pn.quote = '\''
			} else {
				pn.quote = '"'
			}
		case *syntax.DblQuoted:
			pn.quote = '"'
		}
	} else {
		pn.quote = '"'
	}
	if dq {
		pn.quote = 0 // inside "${NAME:=...}", a bare tag reads as itself
	}
	return true
}

// staticValue returns what bash assigns from w, which must be made of
// literal text, 'single', "double" (without expansions) and $'ANSI-C'
// quoted parts; dq is set for a word inside double quotes.
func staticValue(w *syntax.Word, dq bool) (string, bool) {
	var b strings.Builder
	for _, part := range w.Parts {
		switch x := part.(type) {
		case *syntax.Lit:
			if dq {
				b.WriteString(unescapeDouble(x.Value))
				continue
			}
			s, ok := unescapeBare(x.Value)
			if !ok {
				return "", false
			}
			b.WriteString(s)
		case *syntax.SglQuoted:
			if dq {
				return "", false // kept as quotes inside "${...}"
			}
			if !x.Dollar {
				b.WriteString(x.Value)
				continue
			}
			// A Config of its own: with nil, expand changes a shared one
			// (a data race).
			s, err := expand.Literal(&expand.Config{}, &syntax.Word{Parts: []syntax.WordPart{x}})
			if err != nil {
				return "", false
			}
			b.WriteString(s)
		case *syntax.DblQuoted:
			if x.Dollar {
				return "", false // $"..." is translated through the locale
			}
			for _, in := range x.Parts {
				l, ok := in.(*syntax.Lit)
				if !ok {
					return "", false
				}
				b.WriteString(unescapeDouble(l.Value))
			}
		default:
			return "", false
		}
	}
	return b.String(), true
}

// unescapeBare removes the backslashes of unquoted text. A tilde, which bash
// would expand to a home directory, is not read.
func unescapeBare(s string) (string, bool) {
	if strings.Contains(s, "~") {
		return "", false
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 == len(s) {
			return "", false
		}
		i++
		if s[i] != '\n' {
			b.WriteByte(s[i])
		}
	}
	return b.String(), true
}

// unescapeDouble removes the backslashes that bash removes inside double
// quotes: before $, `, ", \ and a newline.
func unescapeDouble(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("$`\"\\\n", s[i+1]) >= 0 {
			i++
			if s[i] != '\n' {
				b.WriteByte(s[i])
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// unsafeWord returns the first part of w that could change a variable, stop
// bash or run a command, and why.
func unsafeWord(w *syntax.Word) (syntax.Node, string) {
	var bad syntax.Node
	var why string
	syntax.Walk(w, func(n syntax.Node) bool {
		if bad != nil {
			return false
		}
		switch x := n.(type) {
		case *syntax.CmdSubst:
			bad, why = x, "a command substitution runs a command"
		case *syntax.ProcSubst:
			bad, why = x, "a process substitution runs a command"
		case *syntax.ArithmExp:
			bad, why = x, "an arithmetic expansion can assign variables"
		case *syntax.DblQuoted:
			if x.Dollar {
				bad, why = x, "a $\"...\" string is translated through the locale"
			}
		case *syntax.ParamExp:
			switch {
			case x.Excl || x.Names != 0:
				bad, why = x, "an indirect expansion ${!...} can evaluate arithmetic"
			case x.Index != nil || x.Slice != nil:
				bad, why = x, "an index or slice is evaluated as arithmetic, which can assign variables"
			case x.Flags != nil || x.NestedParam != nil || x.Width || x.IsSet || len(x.Modifiers) > 0:
				bad, why = x, "an expansion bash does not have"
			case x.Exp == nil:
			case x.Exp.Op == syntax.AssignUnset || x.Exp.Op == syntax.AssignUnsetOrNull:
				bad, why = x, fmt.Sprintf("${%s%s...} assigns a variable (only \": ${NAME:=value}\" may)", paramName(x), x.Exp.Op)
			case x.Exp.Op == syntax.ErrorUnset || x.Exp.Op == syntax.ErrorUnsetOrNull:
				bad, why = x, fmt.Sprintf("${%s%s...} stops bash when the variable is unset", paramName(x), x.Exp.Op)
			case x.Exp.Op == syntax.OtherParamOps:
				bad, why = x, fmt.Sprintf("${%s@...} can run commands", paramName(x))
			}
		}
		return bad == nil
	})
	return bad, why
}

func paramName(pe *syntax.ParamExp) string {
	if pe.Param == nil {
		return ""
	}
	return pe.Param.Value
}

// source prints a node as shell, for an error message.
func source(n syntax.Node) string {
	var b strings.Builder
	if err := syntax.NewPrinter().Print(&b, n); err != nil {
		return "?"
	}
	return b.String()
}
