package detect

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/sergi/go-diff/diffmatchpatch"
	"golang.org/x/sync/errgroup"
)

// maxTextDiffTotal bounds the content held for unified diffs of one
// platform; files beyond it get no diff.
const maxTextDiffTotal = 16 << 20

// contentKey names the bytes of a file in one layer of one image.
type contentKey struct {
	side  int
	layer int
	path  string
}

// addTextDiffs gives small modified text files a unified diff. Their
// content is fetched by a second pass over only the layers that hold it.
func (c *Comparer) addTextDiffs(ctx context.Context, pa, pb *platformImage, changes []*FileChange) error {
	want := map[[2]int]map[string]bool{} // (side, layer) -> paths
	var todo []*FileChange
	total := int64(0)
	for _, fc := range changes {
		a, b := fc.A, fc.B
		if a.Type != TypeFile || b.Type != TypeFile || a.Digest == b.Digest ||
			a.Size > c.o.maxTextDiffSize || b.Size > c.o.maxTextDiffSize || a.srcLayer < 0 || b.srcLayer < 0 {
			continue
		}
		if total+a.Size+b.Size > maxTextDiffTotal {
			break
		}
		total += a.Size + b.Size
		todo = append(todo, fc)
		for side, e := range []*Entry{a, b} {
			k := [2]int{side, e.srcLayer}
			if want[k] == nil {
				want[k] = map[string]bool{}
			}
			want[k][e.srcPath] = true
		}
	}
	if len(todo) == 0 {
		return nil
	}
	var mu sync.Mutex
	content := map[contentKey][]byte{}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(c.o.jobs)
	for k, paths := range want {
		pi := pa
		if k[0] == 1 {
			pi = pb
		}
		g.Go(func() error {
			got, err := c.readContents(ctx, pi, k[1], paths, c.o.maxTextDiffSize)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			for p, b := range got {
				content[contentKey{k[0], k[1], p}] = b
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for _, fc := range todo {
		a, okA := content[contentKey{0, fc.A.srcLayer, fc.A.srcPath}]
		b, okB := content[contentKey{1, fc.B.srcLayer, fc.B.srcPath}]
		if !okA || !okB || !isText(a) || !isText(b) {
			continue
		}
		fc.Diff = unifiedDiff("a"+fc.Path, "b"+fc.Path, string(a), string(b))
	}
	return nil
}

// readContents reads layer i of pi and returns the content of the files at
// paths (the last entry of each, as it is what the layer leaves), at most
// limit+1 bytes of each.
func (c *Comparer) readContents(ctx context.Context, pi *platformImage, i int, paths map[string]bool, limit int64) (map[string][]byte, error) {
	done, err := c.startRead(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	rc, blob, err := c.openLayer(pi, i)
	if err != nil {
		return nil, fmt.Errorf("reading layer %s of %q: %w", blob, pi.src.ref, err)
	}
	defer rc.Close()
	tr := tar.NewReader(&ctxReader{ctx: ctx, r: rc})
	out := map[string][]byte{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading layer %s of %q: %w", blob, pi.src.ref, err)
		}
		p := cleanPath(hdr.Name)
		if !paths[p] || hdr.Typeflag != tar.TypeReg && hdr.Typeflag != tar.TypeRegA {
			continue
		}
		var buf bytes.Buffer
		if _, err := io.Copy(&buf, io.LimitReader(tr, limit+1)); err != nil {
			return nil, fmt.Errorf("reading layer %s of %q: %w", blob, pi.src.ref, err)
		}
		out[p] = buf.Bytes()
	}
	return out, nil
}

func isText(b []byte) bool {
	return !bytes.ContainsRune(b, 0) && utf8.Valid(b)
}

// diffLine is one line of a line diff.
type diffLine struct {
	op   byte // ' ', '-', '+'
	text string
}

// unifiedDiff renders a unified diff with three lines of context.
func unifiedDiff(nameA, nameB, a, b string) string {
	dmp := diffmatchpatch.New()
	dmp.DiffTimeout = 0
	ca, cb, lines := dmp.DiffLinesToChars(a, b)
	diffs := dmp.DiffCharsToLines(dmp.DiffMain(ca, cb, false), lines)
	var ls []diffLine
	for _, d := range diffs {
		op := byte(' ')
		switch d.Type {
		case diffmatchpatch.DiffDelete:
			op = '-'
		case diffmatchpatch.DiffInsert:
			op = '+'
		}
		for _, l := range splitLines(d.Text) {
			ls = append(ls, diffLine{op, l})
		}
	}
	const ctxLines = 3
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", nameA, nameB)
	// Walk the lines, emitting hunks around changes.
	lineA, lineB := make([]int, len(ls)+1), make([]int, len(ls)+1)
	for i, l := range ls {
		lineA[i+1], lineB[i+1] = lineA[i], lineB[i]
		if l.op != '+' {
			lineA[i+1]++
		}
		if l.op != '-' {
			lineB[i+1]++
		}
	}
	i := 0
	for i < len(ls) {
		if ls[i].op == ' ' {
			i++
			continue
		}
		start := max(0, i-ctxLines)
		end := i
		for end < len(ls) {
			if ls[end].op != ' ' {
				end++
				continue
			}
			// Look for the next change within 2*ctx lines.
			k := end
			for k < len(ls) && ls[k].op == ' ' && k-end < 2*ctxLines {
				k++
			}
			if k < len(ls) && ls[k].op != ' ' {
				end = k
				continue
			}
			end = min(len(ls), end+ctxLines)
			break
		}
		countA, countB := lineA[end]-lineA[start], lineB[end]-lineB[start]
		startA, startB := lineA[start]+1, lineB[start]+1
		if countA == 0 {
			startA--
		}
		if countB == 0 {
			startB--
		}
		fmt.Fprintf(&out, "@@ -%d,%d +%d,%d @@\n", startA, countA, startB, countB)
		for _, l := range ls[start:end] {
			out.WriteByte(l.op)
			out.WriteString(l.text)
			if !strings.HasSuffix(l.text, "\n") {
				out.WriteString("\n\\ No newline at end of file\n")
			}
		}
		i = end
	}
	return out.String()
}

// splitLines splits s after each newline, keeping them.
func splitLines(s string) []string {
	var out []string
	for s != "" {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			out = append(out, s)
			break
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	return out
}
