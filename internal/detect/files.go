package detect

import (
	"context"
	"sync"

	"golang.org/x/sync/errgroup"
)

// Lookup returns the entry at path (absolute, clean) of the snapshot's file
// system.
func (s *Snapshot) Lookup(path string) (*Entry, bool) {
	e, ok := s.byPath[path]
	return e, ok
}

// ReadFiles returns the first limit bytes (limit+1 when the file is longer,
// so a caller can tell) of the regular files at paths. Paths that are not
// regular files of the snapshot are left out. Only the layers that hold
// those files are read again, each once, in parallel.
func (s *Snapshot) ReadFiles(ctx context.Context, paths []string, limit int64) (map[string][]byte, error) {
	want := map[int]map[string]bool{} // layer -> paths in it
	for _, p := range paths {
		e, ok := s.byPath[p]
		if !ok || e.Type != TypeFile || e.srcLayer < 0 {
			continue
		}
		if want[e.srcLayer] == nil {
			want[e.srcLayer] = map[string]bool{}
		}
		want[e.srcLayer][e.srcPath] = true
	}
	var mu sync.Mutex
	bySrc := map[contentKey][]byte{}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(s.c.o.jobs)
	for layer, ps := range want {
		g.Go(func() error {
			got, err := s.c.readContents(ctx, s.pi, layer, ps, limit)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			for p, b := range got {
				bySrc[contentKey{0, layer, p}] = b
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, p := range paths {
		if e, ok := s.byPath[p]; ok && e.Type == TypeFile {
			if b, ok := bySrc[contentKey{0, e.srcLayer, e.srcPath}]; ok {
				out[p] = b
			}
		}
	}
	return out, nil
}
