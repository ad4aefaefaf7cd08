package detect

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// Lookup returns the entry at path (absolute, clean) of the snapshot's file
// system.
func (s *Snapshot) Lookup(path string) (*Entry, bool) {
	e, ok := s.byPath[path]
	return e, ok
}

// ReadFiles returns the first limit bytes (limit+1 when the file is longer,
// so a caller can tell) of the regular files at paths. Paths that are not
// regular files of the snapshot are left out. A file read before, by this
// Comparer or into its local cache (WithLayerCache), is not read again; of
// the others, only the layers that hold them are read, each once, in
// parallel.
func (s *Snapshot) ReadFiles(ctx context.Context, paths []string, limit int64) (map[string][]byte, error) {
	out := map[string][]byte{}
	want := contentWant{}
	for _, p := range paths {
		e, ok := s.byPath[p]
		if !ok || e.Type != TypeFile || e.srcLayer < 0 {
			continue
		}
		if b, ok := s.c.keptContent(e, limit); ok {
			out[p] = b
			continue
		}
		want.add(0, e)
	}
	bySrc, err := s.c.readWanted(ctx, want, limit, s.pi)
	if err != nil {
		return nil, err
	}
	for _, p := range paths {
		if e, ok := s.byPath[p]; ok && e.Type == TypeFile {
			if b, ok := bySrc[contentKey{0, e.srcLayer, e.srcPath}]; ok {
				out[p] = b
				s.c.keepContent(e, limit, b)
			}
		}
	}
	return out, nil
}

// contentCacheKey names the first limit bytes of the file e, by the digest
// of its raw content: "" when e's digest is of its normalised content.
func contentCacheKey(e *Entry, limit int64) string {
	if e.Normaliser != "" || e.Digest == "" {
		return ""
	}
	return fmt.Sprintf("content %s %d", e.Digest, limit)
}

// keptContent returns what ReadFiles read of a file with e's content before,
// in this Comparer or in the local cache. Bytes from the cache are checked:
// their length must be what ReadFiles returns for e, and a whole file must
// hash to e's digest.
func (c *Comparer) keptContent(e *Entry, limit int64) ([]byte, bool) {
	key := contentCacheKey(e, limit)
	if key == "" {
		return nil, false
	}
	c.mu.Lock()
	b, ok := c.contents[key]
	c.mu.Unlock()
	if ok {
		return b, true
	}
	if c.o.cache == nil {
		return nil, false
	}
	if b, ok = c.o.cache.Get(key); !ok || int64(len(b)) != min(e.Size, limit+1) {
		return nil, false
	}
	if int64(len(b)) == e.Size {
		sum := sha256.Sum256(b)
		if "sha256:"+hex.EncodeToString(sum[:]) != e.Digest {
			return nil, false
		}
	}
	c.mu.Lock()
	c.contents[key] = b
	c.mu.Unlock()
	return b, true
}

// keepContent keeps b, the first limit bytes of a file with e's content, for
// keptContent.
func (c *Comparer) keepContent(e *Entry, limit int64, b []byte) {
	key := contentCacheKey(e, limit)
	if key == "" {
		return
	}
	c.mu.Lock()
	c.contents[key] = b
	c.mu.Unlock()
	if c.o.cache != nil {
		c.o.cache.Put(key, b)
	}
}
