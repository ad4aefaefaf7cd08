package cache

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func open(t testing.TB, dir string, maxBytes int64) *Cache {
	t.Helper()
	c, err := Open(dir, maxBytes)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// path is where key's entry lies under dir.
func entryPath(dir, key string) string { return filepath.Join(dir, filepath.FromSlash(name(key))) }

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	for _, tc := range []struct {
		name, key string
		payload   []byte
	}{
		{"empty payload", "k", []byte{}},
		{"empty key", "", []byte("x")},
		{"binary key and payload", "\x00\xff/..\n", []byte{0, 1, 2, 0xff}},
		{"1 MiB", "layer sha256:abc", big},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			c := open(t, dir, DefaultMaxBytes)
			if _, ok := c.Get(tc.key); ok {
				t.Fatal("hit in an empty cache")
			}
			c.Put(tc.key, tc.payload)
			got, ok := c.Get(tc.key)
			if !ok {
				t.Fatalf("miss after Put (warning: %v)", c.Warning())
			}
			if !bytes.Equal(got, tc.payload) {
				t.Fatalf("got %d bytes, want %d", len(got), len(tc.payload))
			}
			// Another process (another Cache on the directory) sees it too.
			got, ok = open(t, dir, DefaultMaxBytes).Get(tc.key)
			if !ok || !bytes.Equal(got, tc.payload) {
				t.Fatalf("second Cache: ok=%v, %d bytes", ok, len(got))
			}
			if c.Warning() != nil {
				t.Fatal(c.Warning())
			}
			fi, err := os.Stat(entryPath(dir, tc.key))
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("entry mode %v, want 0600", fi.Mode().Perm())
			}
		})
	}
}

func TestOpenCreatesPrivateDir(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "a", "imgver")
	open(t, dir, DefaultMaxBytes)
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("cache dir mode %v, want no group or other permissions", fi.Mode().Perm())
	}
}

func TestPutReplaces(t *testing.T) {
	t.Parallel()
	c := open(t, t.TempDir(), DefaultMaxBytes)
	c.Put("k", []byte("old"))
	c.Put("k", []byte("new"))
	if got, _ := c.Get("k"); string(got) != "new" {
		t.Fatalf("got %q, want new", got)
	}
}

// TestBadEntries damages an entry in each way a disk, a crash or a person
// can, and checks that Get misses, removes the file, and counts it.
func TestBadEntries(t *testing.T) {
	t.Parallel()
	payload := bytes.Repeat([]byte("layer summary "), 100)
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, file string)
	}{
		{"payload byte flipped", func(t *testing.T, file string) { flip(t, file, -1) }},
		{"checksum byte flipped", func(t *testing.T, file string) { flip(t, file, headerLen-1) }},
		{"magic byte flipped", func(t *testing.T, file string) { flip(t, file, 0) }},
		{"length byte flipped", func(t *testing.T, file string) { flip(t, file, len(magic)+2+4+7) }},
		{"other format version", func(t *testing.T, file string) { flip(t, file, len(magic)+1) }},
		{"truncated payload", func(t *testing.T, file string) { truncate(t, file, -10) }},
		{"truncated header", func(t *testing.T, file string) { truncate(t, file, headerLen-5-int64Len(t, file)) }},
		{"empty", func(t *testing.T, file string) { truncate(t, file, -int64Len(t, file)) }},
		{"trailing bytes", func(t *testing.T, file string) {
			f, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Write([]byte("x")); err != nil {
				t.Fatal(err)
			}
			f.Close()
		}},
		{"entry of another key", func(t *testing.T, file string) {
			other := encode("other key", payload)
			if err := os.WriteFile(file, other, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"key byte flipped", func(t *testing.T, file string) { flip(t, file, headerLen) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			c := open(t, dir, DefaultMaxBytes)
			c.Put("key", payload)
			file := entryPath(dir, "key")
			tc.damage(t, file)
			if got, ok := c.Get("key"); ok {
				t.Fatalf("damaged entry was a hit: %d bytes", len(got))
			}
			if _, err := os.Lstat(file); !os.IsNotExist(err) {
				t.Errorf("damaged entry not removed: %v", err)
			}
			if s := c.Stats(); s.Discarded != 1 {
				t.Errorf("stats %+v, want 1 discarded", s)
			}
			// The key works again.
			c.Put("key", payload)
			if got, ok := c.Get("key"); !ok || !bytes.Equal(got, payload) {
				t.Fatalf("after re-Put: ok=%v", ok)
			}
		})
	}
}

func int64Len(t *testing.T, file string) int {
	t.Helper()
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	return int(fi.Size())
}

// flip inverts the byte at off (from the end when negative).
func flip(t *testing.T, file string, off int) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if off < 0 {
		off += len(b)
	}
	b[off] ^= 0xff
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// truncate shortens file by -delta bytes.
func truncate(t *testing.T, file string, delta int) {
	t.Helper()
	if err := os.Truncate(file, int64(int64Len(t, file)+delta)); err != nil {
		t.Fatal(err)
	}
}

// TestMovedEntry: an intact entry copied under another key's name (a hash
// collision, a person tidying up) is not returned for that key.
func TestMovedEntry(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := open(t, dir, DefaultMaxBytes)
	c.Put("a", []byte("payload of a"))
	b, err := os.ReadFile(entryPath(dir, "a"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(entryPath(dir, "b")), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(entryPath(dir, "b"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Get("b"); ok {
		t.Fatal("a's entry served for b")
	}
	if _, err := os.Stat(entryPath(dir, "b")); !os.IsNotExist(err) {
		t.Errorf("entry under the wrong name not removed: %v", err)
	}
	if got, ok := c.Get("a"); !ok || string(got) != "payload of a" {
		t.Errorf("a: %q, %v", got, ok)
	}
}

// entrySize is the file size of an entry with a one-character key.
func entrySize(payload int) int64 { return int64(headerLen + 1 + payload) }

// setAge sets the mtime of key's entry to age ago.
func setAge(t *testing.T, dir, key string, age time.Duration) {
	t.Helper()
	tm := time.Now().Add(-age)
	if err := os.Chtimes(entryPath(dir, key), tm, tm); err != nil {
		t.Fatal(err)
	}
}

// present lists the keys among keys whose entries exist.
func present(dir string, keys []string) []string {
	var out []string
	for _, k := range keys {
		if _, err := os.Stat(entryPath(dir, k)); err == nil {
			out = append(out, k)
		}
	}
	return out
}

// dirSize is the total size of the regular files under dir.
func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	var total int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		fi, err := d.Info()
		total += fi.Size()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return total
}

func TestEvictsLeastRecentlyUsed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const payload = 1000
	es := entrySize(payload)
	c := open(t, dir, 10*es)
	keys := strings.Split("abcdefghijk", "")
	for i, k := range keys[:10] {
		c.Put(k, bytes.Repeat([]byte{byte(i)}, payload))
		setAge(t, dir, k, time.Duration(20-i)*time.Hour) // a oldest, j newest
	}
	if got := present(dir, keys); len(got) != 10 {
		t.Fatalf("at the bound, entries evicted: %v", got)
	}
	if _, ok := c.Get("a"); !ok { // a becomes the most recently used
		t.Fatal("miss of a")
	}
	c.Put("k", bytes.Repeat([]byte{10}, payload))
	// Over the bound by one entry: evicted down to 90%, the least recently
	// used first: b and c.
	want := []string{"a", "d", "e", "f", "g", "h", "i", "j", "k"}
	if diff := cmp.Diff(want, present(dir, keys)); diff != "" {
		t.Errorf("entries left (-want +got):\n%s", diff)
	}
	if total := dirSize(t, dir); total > 10*es {
		t.Errorf("%d bytes in the cache, bound %d", total, 10*es)
	}
	if s := c.Stats(); s.Evicted != 2 {
		t.Errorf("stats %+v, want 2 evicted", s)
	}
}

// TestEvictsOnFirstPut: a process that opens a cache over its bound (set
// smaller than before) brings it under with its first Put, and never
// touches files that are not its own.
func TestEvictsOnFirstPut(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const payload = 1000
	es := entrySize(payload)
	big := open(t, dir, DefaultMaxBytes)
	keys := strings.Split("abcdefghij", "")
	for i, k := range keys {
		big.Put(k, bytes.Repeat([]byte{byte(i)}, payload))
		setAge(t, dir, k, time.Duration(20-i)*time.Hour)
	}
	foreign := []string{"README", "ab/notes.txt", filepath.Dir(name("a")) + "/" + strings.Repeat("0", 64)}
	for _, f := range foreign {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, bytes.Repeat([]byte("x"), 5000), 0o600); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-100 * time.Hour)
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	staleTmpFile := filepath.Join(filepath.Dir(entryPath(dir, "a")), tmpPrefix+"dead")
	freshTmpFile := filepath.Join(filepath.Dir(entryPath(dir, "a")), tmpPrefix+"busy")
	for _, f := range []string{staleTmpFile, freshTmpFile} {
		if err := os.WriteFile(f, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(staleTmpFile, old, old); err != nil {
		t.Fatal(err)
	}

	small := open(t, dir, 5*es)
	small.Put("z", bytes.Repeat([]byte{'z'}, payload))
	// 11 entries over a bound of 5: down to at most 4.5 entries, newest kept
	// (the fresh temporary file counts too).
	if diff := cmp.Diff([]string{"h", "i", "j", "z"}, present(dir, append(keys, "z"))); diff != "" {
		t.Errorf("entries left (-want +got):\n%s", diff)
	}
	for _, f := range foreign {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("foreign file %s: %v", f, err)
		}
	}
	if _, err := os.Stat(staleTmpFile); !os.IsNotExist(err) {
		t.Errorf("stale temporary file kept: %v", err)
	}
	if _, err := os.Stat(freshTmpFile); err != nil {
		t.Errorf("fresh temporary file (a writer at work) removed: %v", err)
	}
}

func TestTooBigNotKept(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := open(t, dir, 100)
	c.Put("k", make([]byte, 100))
	if _, ok := c.Get("k"); ok {
		t.Fatal("an entry larger than the bound was kept")
	}
	if c.Warning() != nil {
		t.Errorf("warning %v for an entry too big to keep", c.Warning())
	}
	if s := c.Stats(); s.Written != 0 {
		t.Errorf("stats %+v: an entry that cannot fit was written", s)
	}
}

// TestUnwritable: a cache where no entry can be written misses, and Put
// neither panics nor fails; one warning says why. Every shard name is taken
// by a regular file (which defeats root too, unlike a read-only mode).
func TestUnwritable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for i := range 256 {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%02x", i)), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
	c := open(t, dir, DefaultMaxBytes)
	for _, k := range []string{"a", "b"} {
		c.Put(k, []byte("payload"))
		if _, ok := c.Get(k); ok {
			t.Fatalf("hit of %s in an unwritable cache", k)
		}
	}
	if c.Warning() == nil || !strings.Contains(c.Warning().Error(), dir) {
		t.Errorf("warning %v, want one naming %s", c.Warning(), dir)
	}
	if s := c.Stats(); s.Written != 0 || s.Misses != 2 {
		t.Errorf("stats %+v", s)
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		dir  string
		max  int64
	}{
		{"dir is a file", file, DefaultMaxBytes},
		{"dir below a file", filepath.Join(file, "imgver"), DefaultMaxBytes},
		{"zero bound", t.TempDir(), 0},
	} {
		if c, err := Open(tc.dir, tc.max); err == nil {
			c.Close()
			t.Errorf("%s: no error", tc.name)
		}
	}
}

// TestSymlinkOut: a shard that is a symlink leading out of the directory is
// never written through nor read from.
func TestSymlinkOut(t *testing.T) {
	t.Parallel()
	dir, outside := t.TempDir(), t.TempDir()
	shard := filepath.Dir(entryPath(dir, "k"))
	if err := os.Symlink(outside, shard); err != nil {
		t.Fatal(err)
	}
	// An intact entry of k outside: must not be served.
	if err := os.WriteFile(filepath.Join(outside, filepath.Base(entryPath(dir, "k"))), encode("k", []byte("outside")), 0o600); err != nil {
		t.Fatal(err)
	}
	c := open(t, dir, DefaultMaxBytes)
	if got, ok := c.Get("k"); ok {
		t.Fatalf("served %q through a symlink out of the cache", got)
	}
	c.Put("k", []byte("inside"))
	des, err := os.ReadDir(outside)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	if want := []string{filepath.Base(entryPath(dir, "k"))}; !slices.Equal(names, want) {
		t.Errorf("files outside the cache: %v, want only %v", names, want)
	}
	if c.Warning() == nil {
		t.Error("no warning for a cache that cannot be written")
	}
}

func TestHitTouches(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := open(t, dir, DefaultMaxBytes)
	c.Put("k", []byte("v"))
	setAge(t, dir, "k", 5*time.Hour)
	if _, ok := c.Get("k"); !ok {
		t.Fatal("miss")
	}
	fi, err := os.Stat(entryPath(dir, "k"))
	if err != nil {
		t.Fatal(err)
	}
	if age := time.Since(fi.ModTime()); age > time.Hour {
		t.Errorf("mtime %v old after a hit", age)
	}
}

// TestDiscardKeepsReplacement: a reader that found an entry corrupt does not
// remove the intact one another process renamed over it meanwhile.
func TestDiscardKeepsReplacement(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := open(t, dir, DefaultMaxBytes)
	c.Put("k", []byte("v1"))
	file := entryPath(dir, "k")
	seen, err := os.Stat(file) // the corrupt entry the reader read
	if err != nil {
		t.Fatal(err)
	}
	open(t, dir, DefaultMaxBytes).Put("k", []byte("v2")) // another process
	c.discard(name("k"), seen)
	if got, ok := c.Get("k"); !ok || string(got) != "v2" {
		t.Fatalf("replacement lost: %q, %v", got, ok)
	}
	c.discard(name("k"), seen)
	fresh, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	c.discard(name("k"), fresh)
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("entry read as corrupt not removed: %v", err)
	}
}

// The concurrency tests share a small key space and a bound smaller than
// all the entries, so that writers replace each other's entries and
// evictions remove files others are reading.
const (
	concKeys  = 40
	concBound = 600 << 10
)

// concPayload is the one value of key k: 1 to 64 KiB, its bytes derived
// from k, so that a torn or mixed entry cannot pass for it.
func concPayload(k int) []byte {
	n := 1024 + k*1597%(63<<10)
	b := make([]byte, 0, n+sha256.Size)
	seed := sha256.Sum256([]byte(strconv.Itoa(k)))
	for len(b) < n {
		seed = sha256.Sum256(seed[:])
		b = append(b, seed[:]...)
	}
	return b[:n]
}

// hammer Puts and Gets random keys of dir's cache from goroutines, and
// returns the first Get that returned wrong bytes.
func hammer(dir string, seed int64, goroutines, ops int) error {
	c, err := Open(dir, concBound)
	if err != nil {
		return err
	}
	defer c.Close()
	errs := make(chan error, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(seed*1000 + int64(g)))
			for range ops {
				k := rng.Intn(concKeys)
				key := fmt.Sprintf("key %d", k)
				if rng.Intn(2) == 0 {
					c.Put(key, concPayload(k))
					continue
				}
				if got, ok := c.Get(key); ok && !bytes.Equal(got, concPayload(k)) {
					errs <- fmt.Errorf("Get(%q) returned %d bytes that were never put under it", key, len(got))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	if s := c.Stats(); s.Discarded > 0 {
		return fmt.Errorf("%d entries discarded: a reader saw a partly written entry (%+v)", s.Discarded, s)
	}
	if w := c.Warning(); w != nil {
		return fmt.Errorf("warning: %w", w)
	}
	return nil
}

func TestConcurrentGoroutines(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := hammer(dir, 1, 8, 150); err != nil {
		t.Fatal(err)
	}
	if total := dirSize(t, dir); total > concBound {
		t.Errorf("%d bytes in the cache, bound %d", total, concBound)
	}
}

// TestConcurrentProcesses runs several processes of this test binary
// (TestHelperProcess) on one directory at once.
func TestConcurrentProcesses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const procs = 4
	var cmds []*exec.Cmd
	outs := make([]*bytes.Buffer, procs)
	for i := range procs {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), "IMGVER_CACHE_HELPER_DIR="+dir, "IMGVER_CACHE_HELPER_SEED="+strconv.Itoa(i+10))
		outs[i] = new(bytes.Buffer)
		cmd.Stdout, cmd.Stderr = outs[i], outs[i]
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("process %d: %v\n%s", i, err, outs[i])
		}
	}
	// Each process walks before it evicts, but the others' writes since
	// then are unknown to it: the bound holds within what one round of
	// writers can add (every key once).
	var all int64
	for k := range concKeys {
		all += int64(len(encode(fmt.Sprintf("key %d", k), concPayload(k))))
	}
	if total := dirSize(t, dir); total > concBound+all {
		t.Errorf("%d bytes in the cache, bound %d", total, concBound)
	}
	// What is left is intact.
	c := open(t, dir, concBound)
	for k := range concKeys {
		if got, ok := c.Get(fmt.Sprintf("key %d", k)); ok && !bytes.Equal(got, concPayload(k)) {
			t.Errorf("key %d: wrong bytes", k)
		}
	}
	if s := c.Stats(); s.Discarded > 0 || s.Hits == 0 {
		t.Errorf("after the processes: %+v", s)
	}
}

// TestHelperProcess is one process of TestConcurrentProcesses; on its own it
// does nothing.
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv("IMGVER_CACHE_HELPER_DIR")
	if dir == "" {
		return
	}
	seed, err := strconv.ParseInt(os.Getenv("IMGVER_CACHE_HELPER_SEED"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	if err := hammer(dir, seed, 3, 150); err != nil {
		t.Fatal(err)
	}
}
