// Package userfiletest makes, for tests, the files that a user file must not
// be (see package userfile), and reads a user file back.
package userfiletest

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// Specials makes in dir a FIFO, a socket, a character device, a directory and
// a symlink to the FIFO, named NAME.src, and returns their paths by kind. The
// device is a new 1,3 (a null device) where the process may make one (root),
// else /dev/null itself. The socket is closed when the test ends.
func Specials(t testing.TB, dir string) map[string]string {
	t.Helper()
	paths := map[string]string{}
	for _, kind := range []string{"fifo", "socket", "dir", "link"} {
		paths[kind] = filepath.Join(dir, kind+".src")
	}
	if err := unix.Mkfifo(paths["fifo"], 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", paths["socket"])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	if err := os.Mkdir(paths["dir"], 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("fifo.src", paths["link"]); err != nil {
		t.Fatal(err)
	}
	paths["device"] = "/dev/null"
	if dev := filepath.Join(dir, "device.src"); unix.Mknod(dev, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))) == nil {
		paths["device"] = dev
	}
	return paths
}

// Read returns the content of the user file at p (a pin file, a Dockerfile),
// to compare with what a test wants there.
func Read(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
