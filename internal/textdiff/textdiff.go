// Package textdiff writes unified diffs: detect's diffs of changed text
// files and the edits `imgver base update --dry-run` would make.
package textdiff

import (
	"fmt"
	"strings"

	"github.com/sergi/go-diff/diffmatchpatch"
)

// context is how many unchanged lines stand around each change.
const context = 3

// line is one line of a line diff, with its newline when it has one.
type line struct {
	op   diffmatchpatch.Operation
	text string
}

// Unified returns a unified diff of a and b, line by line, with three
// lines of context, headed "--- nameA" and "+++ nameB". Hunk headers are
// written as GNU diff and git do: a range of one line is its number alone,
// an empty range is the line before it with ",0". A last line without a
// newline is marked "\ No newline at end of file". It is empty when a and b
// are equal.
func Unified(nameA, nameB, a, b string) string {
	if a == b {
		return ""
	}
	dmp := diffmatchpatch.New()
	dmp.DiffTimeout = 0 // the default deadline makes output depend on machine speed
	ca, cb, lines := dmp.DiffLinesToChars(a, b)
	var ls []line
	for _, d := range dmp.DiffCharsToLines(dmp.DiffMain(ca, cb, false), lines) {
		for _, t := range splitLines(d.Text) {
			ls = append(ls, line{d.Type, t})
		}
	}
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", nameA, nameB)
	oldLine, newLine := 1, 1 // numbers of the line ls[done] stands at
	done := 0
	for i := 0; i < len(ls); {
		if ls[i].op == diffmatchpatch.DiffEqual {
			i++
			continue
		}
		// A hunk: from context lines before this change to context lines
		// after the last change within 2*context lines of the one before.
		start, end := max(i-context, 0), i
		for end < len(ls) {
			if ls[end].op != diffmatchpatch.DiffEqual {
				end++
				continue
			}
			k := end
			for k < len(ls) && ls[k].op == diffmatchpatch.DiffEqual {
				k++
			}
			if k == len(ls) || k-end > 2*context {
				end = min(end+context, len(ls))
				break
			}
			end = k
		}
		oldLine, newLine = advance(ls[done:start], oldLine, newLine)
		oldEnd, newEnd := advance(ls[start:end], oldLine, newLine)
		fmt.Fprintf(&out, "@@ -%s +%s @@\n", hunkRange(oldLine, oldEnd-oldLine), hunkRange(newLine, newEnd-newLine))
		for _, l := range ls[start:end] {
			prefix := byte(' ')
			switch l.op {
			case diffmatchpatch.DiffDelete:
				prefix = '-'
			case diffmatchpatch.DiffInsert:
				prefix = '+'
			}
			out.WriteByte(prefix)
			out.WriteString(l.text)
			if !strings.HasSuffix(l.text, "\n") {
				out.WriteString("\n\\ No newline at end of file\n")
			}
		}
		oldLine, newLine, done = oldEnd, newEnd, end
		i = end
	}
	return out.String()
}

// advance returns the old and new line numbers after ls.
func advance(ls []line, oldLine, newLine int) (int, int) {
	for _, l := range ls {
		if l.op != diffmatchpatch.DiffInsert {
			oldLine++
		}
		if l.op != diffmatchpatch.DiffDelete {
			newLine++
		}
	}
	return oldLine, newLine
}

// hunkRange writes the range of n lines from start of a hunk header.
func hunkRange(start, n int) string {
	switch n {
	case 0:
		return fmt.Sprintf("%d,0", start-1)
	case 1:
		return fmt.Sprint(start)
	}
	return fmt.Sprintf("%d,%d", start, n)
}

// splitLines splits s after each newline, keeping them.
func splitLines(s string) []string {
	var out []string
	for s != "" {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			return append(out, s)
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	return out
}
