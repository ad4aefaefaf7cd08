package detect

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/imgver/imgver/internal/regtest"
)

// TestReadFilesKept: ReadFiles reads a file's bytes from its layer once;
// then from the Comparer, or from the local cache in another Comparer.
// Cached bytes that do not hash to the file's digest are read again.
func TestReadFilesKept(t *testing.T) {
	t.Parallel()
	cr := startCountingRegistry(t)
	img := richSpec(t, "1.0").image(t)
	ref := cr.host + "/app:v1"
	regtest.Push(t, ref, img)
	cache := newMapCache()
	paths := []string{"/bin/ping", "/usr/lib/libx.so.1"}
	want := map[string][]byte{"/bin/ping": []byte("ELF p"), "/usr/lib/libx.so.1": []byte("ELF")}
	read := func(c *Comparer) (got map[string][]byte, gets int) {
		t.Helper()
		before := cr.layerGets(t, img)
		snaps, err := c.Snapshot(t.Context(), ref)
		if err != nil {
			t.Fatal(err)
		}
		if got, err = snaps[0].ReadFiles(t.Context(), paths, 4); err != nil {
			t.Fatal(err)
		}
		return got, cr.layerGets(t, img) - before
	}

	c := newComparer(t, WithLayerCache(cache))
	if got, _ := read(c); !cmp.Equal(got, want) {
		t.Fatalf("ReadFiles = %q, want %q", got, want)
	}
	if got, gets := read(c); gets != 0 || !cmp.Equal(got, want) {
		t.Errorf("again in one Comparer: %q with %d layer GETs, want %q with none", got, gets, want)
	}
	if got, gets := read(newComparer(t, WithLayerCache(cache))); gets != 0 || !cmp.Equal(got, want) {
		t.Errorf("in a Comparer with the warm cache: %q with %d layer GETs, want %q with none", got, gets, want)
	}

	// A whole file whose cached bytes do not hash to its digest is read
	// again; so is a head of another length.
	for k, v := range cache.m {
		if strings.HasPrefix(k, "content ") {
			cache.m[k] = []byte(strings.Repeat("X", len(v)))
		}
	}
	got, gets := read(newComparer(t, WithLayerCache(cache)))
	if got["/usr/lib/libx.so.1"] == nil || string(got["/usr/lib/libx.so.1"]) != "ELF" || gets == 0 {
		t.Errorf("with a corrupt cached file: %q with %d layer GETs, want the file read again", got, gets)
	}
}
