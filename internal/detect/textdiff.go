package detect

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"sync"
	"unicode/utf8"

	"golang.org/x/sync/errgroup"

	"github.com/imgver/imgver/internal/textdiff"
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
	want := contentWant{}
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
		want.add(0, a)
		want.add(1, b)
	}
	if len(todo) == 0 {
		return nil
	}
	content, err := c.readWanted(ctx, want, c.o.maxTextDiffSize, pa, pb)
	if err != nil {
		return err
	}
	for _, fc := range todo {
		a, okA := content[contentKey{0, fc.A.srcLayer, fc.A.srcPath}]
		b, okB := content[contentKey{1, fc.B.srcLayer, fc.B.srcPath}]
		if !okA || !okB || !isText(a) || !isText(b) {
			continue
		}
		fc.Diff = textdiff.Unified("a"+fc.Path, "b"+fc.Path, string(a), string(b))
	}
	return nil
}

// contentWant names the files whose content to read: by side (an index
// into the images read) and layer, their paths in that layer.
type contentWant map[[2]int]map[string]bool

// add asks for the content of the regular file e of the image of side.
func (w contentWant) add(side int, e *Entry) {
	k := [2]int{side, e.srcLayer}
	if w[k] == nil {
		w[k] = map[string]bool{}
	}
	w[k][e.srcPath] = true
}

// readWanted reads the files of want, at most limit+1 bytes of each, from
// the layers of pis (pis[side]) that hold them: each layer once, WithJobs
// layers at once.
func (c *Comparer) readWanted(ctx context.Context, want contentWant, limit int64, pis ...*platformImage) (map[contentKey][]byte, error) {
	var mu sync.Mutex
	content := map[contentKey][]byte{}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(c.o.jobs)
	for k, paths := range want {
		g.Go(func() error {
			got, err := c.readContents(ctx, pis[k[0]], k[1], paths, limit)
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
		return nil, err
	}
	return content, nil
}

// readContents reads layer i of pi and returns the content of the files at
// paths (the last entry of each, as it is what the layer leaves), at most
// limit+1 bytes of each.
func (c *Comparer) readContents(ctx context.Context, pi *platformImage, i int, paths map[string]bool, limit int64) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := c.withLayer(ctx, pi, i, func(r io.Reader) error {
		tr := tar.NewReader(r)
		for {
			hdr, err := tr.Next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			p := cleanPath(hdr.Name)
			if !paths[p] || !isRegular(hdr) {
				continue
			}
			var buf bytes.Buffer
			if _, err := io.Copy(&buf, io.LimitReader(tr, limit+1)); err != nil {
				return err
			}
			out[p] = buf.Bytes()
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func isText(b []byte) bool {
	return !bytes.ContainsRune(b, 0) && utf8.Valid(b)
}
