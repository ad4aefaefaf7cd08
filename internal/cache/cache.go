package cache

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMaxBytes is the size bound of a cache when the user sets none.
const DefaultMaxBytes int64 = 2 << 30

const (
	// formatVersion is bumped whenever the entry layout changes; it is part
	// of every file name, so entries of another version are never read (and
	// are evicted as they age).
	formatVersion = 1
	magic         = "imgver-cache\n"
	headerLen     = len(magic) + 2 + 4 + 8 + sha256.Size
	tmpPrefix     = ".tmp-"
	// touchAfter: a hit moves an entry's mtime only when it is older than
	// this, so that hits cost no write.
	touchAfter = time.Minute
	// staleTmp: a temporary file older than this was left by a killed
	// process.
	staleTmp = time.Hour
)

// Cache is a directory of entries: bytes by string key. Its methods are safe
// for concurrent use, also by several processes on one directory.
type Cache struct {
	root *os.Root
	max  int64

	// used estimates the bytes in the directory: the total of the last walk
	// plus what this process wrote since.
	used     atomic.Int64
	walkOnce sync.Once
	evicting sync.Mutex

	warnMu  sync.Mutex
	warning error

	hits, misses, discarded, written, evicted atomic.Int64
}

// Stats counts what a Cache did since Open.
type Stats struct {
	Hits      int64 // Gets that returned an entry
	Misses    int64 // Gets that did not (discarded entries included)
	Discarded int64 // corrupt, truncated or foreign entries removed by Get
	Written   int64 // entries written by Put
	Evicted   int64 // entries removed to keep the size bound
}

// Open opens the cache in dir, creating it (mode 0700) when missing, bounded
// to about maxBytes. An error means there is no cache to use; the caller may
// go on without one.
func Open(dir string, maxBytes int64) (*Cache, error) {
	if maxBytes <= 0 {
		return nil, fmt.Errorf("opening cache %q: size bound %d is not positive", dir, maxBytes)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating cache directory %q: %w", dir, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("opening cache directory %q: %w", dir, err)
	}
	return &Cache{root: root, max: maxBytes}, nil
}

// Close releases the directory.
func (c *Cache) Close() error { return c.root.Close() }

// Dir is the cache's directory.
func (c *Cache) Dir() string { return c.root.Name() }

// Warning is the first error that kept an entry from being written or read
// (nil when none): a cache that does not work is worth one warning, not a
// failed run.
func (c *Cache) Warning() error {
	c.warnMu.Lock()
	defer c.warnMu.Unlock()
	return c.warning
}

func (c *Cache) warn(err error) {
	c.warnMu.Lock()
	defer c.warnMu.Unlock()
	if c.warning == nil {
		c.warning = err
	}
}

// Stats counts what c did since Open.
func (c *Cache) Stats() Stats {
	return Stats{
		Hits:      c.hits.Load(),
		Misses:    c.misses.Load(),
		Discarded: c.discarded.Load(),
		Written:   c.written.Load(),
		Evicted:   c.evicted.Load(),
	}
}

// name is the path of key's entry under the root.
func name(key string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%d\x00%s", formatVersion, key)
	sum := hex.EncodeToString(h.Sum(nil))
	return sum[:2] + "/" + sum
}

// Get returns the bytes Put under key, or false. A corrupt entry is removed
// and is a miss.
func (c *Cache) Get(key string) ([]byte, bool) {
	b, ok := c.get(key)
	if ok {
		c.hits.Add(1)
	} else {
		c.misses.Add(1)
	}
	return b, ok
}

func (c *Cache) get(key string) ([]byte, bool) {
	n := name(key)
	f, err := c.root.Open(n)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			c.warn(fmt.Errorf("reading cache entry %q: %w", path.Join(c.Dir(), n), err))
		}
		return nil, false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		c.warn(fmt.Errorf("reading cache entry %q: %w", path.Join(c.Dir(), n), err))
		return nil, false
	}
	if !fi.Mode().IsRegular() || fi.Size() > c.max {
		c.discard(n, fi)
		return nil, false
	}
	buf := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, buf); err != nil {
		// Shorter than its size a moment ago: being replaced or cut.
		return nil, false
	}
	payload, ok := decode(buf, key)
	if !ok {
		c.discard(n, fi)
		return nil, false
	}
	if now := time.Now(); now.Sub(fi.ModTime()) > touchAfter {
		_ = c.root.Chtimes(n, now, now) // a read-only cache still serves hits
	}
	return payload, true
}

// discard removes the entry n that was read as fi, unless another process
// has put a new file there meanwhile.
func (c *Cache) discard(n string, fi fs.FileInfo) {
	c.discarded.Add(1)
	if cur, err := c.root.Lstat(n); err == nil && os.SameFile(cur, fi) {
		_ = c.root.Remove(n)
	}
}

// Put stores b under key. It never fails: an entry that cannot be written is
// left out (see Warning).
func (c *Cache) Put(key string, b []byte) {
	head := header(key, b)
	size := int64(len(head) + len(b))
	if size > c.max {
		return
	}
	c.walkOnce.Do(c.evict)
	if err := c.write(name(key), head, b); err != nil {
		c.warn(err)
		return
	}
	c.written.Add(1)
	if c.used.Add(size) > c.max {
		c.evict()
	}
}

// write puts the entry head+payload at n atomically: a temporary file in
// n's shard, renamed.
func (c *Cache) write(n string, head, payload []byte) (err error) {
	shard := path.Dir(n)
	if err := c.root.MkdirAll(shard, 0o700); err != nil {
		return fmt.Errorf("writing cache entry in %q: %w", path.Join(c.Dir(), shard), err)
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := path.Join(shard, tmpPrefix+hex.EncodeToString(rnd[:]))
	f, err := c.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("writing cache entry in %q: %w", path.Join(c.Dir(), shard), err)
	}
	defer func() {
		if err != nil {
			_ = c.root.Remove(tmp)
		}
	}()
	if _, err = f.Write(head); err == nil {
		_, err = f.Write(payload)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = c.root.Rename(tmp, n)
	}
	if err != nil {
		return fmt.Errorf("writing cache entry %q: %w", path.Join(c.Dir(), n), err)
	}
	return nil
}

// header is what an entry's file holds before its payload.
func header(key string, payload []byte) []byte {
	b := make([]byte, 0, headerLen+len(key))
	b = append(b, magic...)
	b = binary.BigEndian.AppendUint16(b, formatVersion)
	b = binary.BigEndian.AppendUint32(b, uint32(len(key)))
	b = binary.BigEndian.AppendUint64(b, uint64(len(payload)))
	sum := sha256.Sum256(payload)
	b = append(b, sum[:]...)
	return append(b, key...)
}

// decode returns the payload of the file b if it is a whole, intact entry of
// key.
func decode(b []byte, key string) ([]byte, bool) {
	if len(b) < headerLen || string(b[:len(magic)]) != magic {
		return nil, false
	}
	h := b[len(magic):headerLen]
	if binary.BigEndian.Uint16(h) != formatVersion {
		return nil, false
	}
	klen := uint64(binary.BigEndian.Uint32(h[2:]))
	plen := binary.BigEndian.Uint64(h[6:])
	rest := b[headerLen:]
	if klen != uint64(len(key)) || uint64(len(rest)) < klen || uint64(len(rest))-klen != plen {
		return nil, false
	}
	if string(rest[:klen]) != key {
		return nil, false
	}
	payload := rest[klen:]
	sum := sha256.Sum256(payload)
	if !bytes.Equal(sum[:], h[14:]) {
		return nil, false
	}
	return payload, true
}

// file is an entry or temporary file found by a walk.
type file struct {
	name  string
	size  int64
	mtime time.Time
}

// evict walks the directory, removes stale temporary files and, when the
// total is over the bound, the least recently used entries down to 90% of
// it, and resets the running estimate. One goroutine at a time walks; the
// others go on.
func (c *Cache) evict() {
	if !c.evicting.TryLock() {
		return
	}
	defer c.evicting.Unlock()
	before := c.used.Load()
	files, total := c.walk()
	if total > c.max {
		slices.SortFunc(files, func(a, b file) int {
			if d := a.mtime.Compare(b.mtime); d != 0 {
				return d
			}
			return strings.Compare(a.name, b.name)
		})
		low := c.max - c.max/10
		for _, f := range files {
			if total <= low {
				break
			}
			err := c.root.Remove(f.name)
			if err == nil || errors.Is(err, fs.ErrNotExist) {
				total -= f.size
				if err == nil {
					c.evicted.Add(1)
				}
			}
		}
	}
	// Writes of this process during the walk may now be counted twice: an
	// estimate too high only brings the next walk closer.
	c.used.Add(total - before)
}

// walk lists the entries of the directory with their total size, and
// removes temporary files left by killed processes. Other files are left
// alone and not counted.
func (c *Cache) walk() ([]file, int64) {
	fsys := c.root.FS()
	shards, err := fs.ReadDir(fsys, ".")
	if err != nil {
		c.warn(fmt.Errorf("listing cache directory %q: %w", c.Dir(), err))
		return nil, 0
	}
	var files []file
	var total int64
	now := time.Now()
	for _, s := range shards {
		if !s.IsDir() || !isHex(s.Name(), 2) {
			continue
		}
		des, err := fs.ReadDir(fsys, s.Name())
		if err != nil {
			continue // removed meanwhile, or unreadable: nothing to count
		}
		for _, de := range des {
			entry := isHex(de.Name(), 2*sha256.Size) && strings.HasPrefix(de.Name(), s.Name())
			tmp := strings.HasPrefix(de.Name(), tmpPrefix)
			if !de.Type().IsRegular() || !entry && !tmp {
				continue
			}
			fi, err := de.Info()
			if err != nil {
				continue // vanished
			}
			n := s.Name() + "/" + de.Name()
			if tmp && now.Sub(fi.ModTime()) > staleTmp {
				_ = c.root.Remove(n)
				continue
			}
			total += fi.Size()
			if entry {
				files = append(files, file{n, fi.Size(), fi.ModTime()})
			}
		}
	}
	return files, total
}

// isHex says whether s is n lowercase hex digits.
func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, r := range s {
		if (r < '0' || r > '9') && (r < 'a' || r > 'f') {
			return false
		}
	}
	return true
}
