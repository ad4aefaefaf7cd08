package cache

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
)

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
