package packages

import (
	"debug/buildinfo"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestGoBinary reads a Go binary built in the test as its content streams
// by, in chunks of every size, and compares with debug/buildinfo.
func TestGoBinary(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("the binary is built for linux and read as ELF")
	}
	p := buildGo(t)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	bi, err := buildinfo.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	want := []Package{{Go, "stdlib", strings.TrimPrefix(bi.GoVersion, "go")}, {Go, "example.test/hello", bi.Main.Version}}
	for _, d := range bi.Deps {
		v := d.Version
		if d.Replace != nil {
			v = d.Replace.Version
		}
		want = append(want, Package{Go, d.Path, v})
	}
	if len(want) != 3 || want[2].Name != "example.test/dep" {
		t.Fatalf("debug/buildinfo found %v, want the main module and example.test/dep", want)
	}
	for _, chunk := range []int{1, 7, 16, 4096, 256 << 10, len(b)} {
		c := NewCapture("/usr/local/bin/hello", int64(len(b)), 0o755)
		for rest := b; len(rest) > 0; {
			n := min(chunk, len(rest))
			if _, err := c.Write(rest[:n]); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		got, ok := c.Packages()
		if !ok {
			t.Fatalf("chunks of %d: no build information found", chunk)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("chunks of %d (-want +got):\n%s", chunk, diff)
		}
	}
	// The magic as a string constant before the real blob is skipped.
	fake := append([]byte("\x7fELF"), make([]byte, 12)...)
	fake = append(fake, goMagic+"\x08\x00junk junk junk junk"...)
	fake = append(fake, make([]byte, 16-len(fake)%16)...)
	if got := parseGoBuildInfo(append(fake, b[16:]...)); len(got) != 3 {
		t.Errorf("after a false magic: %v, want 3 packages", got)
	}
	if c := NewCapture("/usr/local/bin/hello", int64(len(b)), 0o644); c != nil {
		t.Errorf("a file that is not executable got a capture")
	}
	if got := parseGoBuildInfo([]byte("#!/bin/sh\necho " + goMagic + "\n")); got != nil {
		t.Errorf("a script: %v, want nothing", got)
	}
}
