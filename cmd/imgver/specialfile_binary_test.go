package main

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestBinarySpecialPinFile runs the built binary on a pin file that is a
// FIFO, a socket or a character device: every command exits 2 at once with
// one line naming the file, and the file stays what it was. Before, a FIFO
// blocked every command in open() and a device was replaced by a regular
// file.
func TestBinarySpecialPinFile(t *testing.T) {
	bin := binary(t)
	cfg, pins := monorepo(t, demoPins)
	dir := filepath.Dir(pins)
	fifo := filepath.Join(dir, "fifo.src")
	if err := unix.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock.src")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	specials := []string{fifo, sock}
	if dev := filepath.Join(dir, "null.src"); unix.Mknod(dev, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))) == nil {
		specials = append(specials, dev)
	} else {
		specials = append(specials, "/dev/null") // not root: nothing can replace it anyway
	}
	for _, path := range specials {
		for _, args := range [][]string{
			{"list"},
			{"vars", "--commit", "0123456789"},
			{"release", "v1.0.0", "--dry-run"},
			{"release", "v1.0.0"},
			{"pin", "postgres", "v1.0.0"},
			{"unpin", "console"},
		} {
			t.Run(filepath.Base(path)+"/"+args[0], func(t *testing.T) {
				before, err := os.Lstat(path)
				if err != nil {
					t.Fatal(err)
				}
				// A run takes milliseconds; one blocked in open() is killed
				// after 5 s, a margin for a loaded machine (no timed
				// assertion beyond that: the speed is not what is tested).
				ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
				defer cancel()
				cmd := exec.CommandContext(ctx, bin, append([]string{"--config", cfg, "--pin-file", path}, args...)...)
				var stderr strings.Builder
				cmd.Stderr = &stderr
				start := time.Now()
				err = cmd.Run()
				took := time.Since(start)
				var ee *exec.ExitError
				if ctx.Err() != nil || !errors.As(err, &ee) || ee.ExitCode() != 2 {
					t.Fatalf("after %v: %v (context %v), stderr %q; want exit 2", took, err, ctx.Err(), stderr.String())
				}
				msg := stderr.String()
				if strings.Count(msg, "\n") != 1 || !strings.Contains(msg, path) || !strings.Contains(msg, "not a regular file") {
					t.Errorf("stderr %q, want one line naming %s, not a regular file", msg, path)
				}
				after, err := os.Lstat(path)
				if err != nil || after.Mode() != before.Mode() || !os.SameFile(before, after) {
					t.Errorf("%s changed: %v -> %v (%v)", path, before.Mode(), after.Mode(), err)
				}
			})
		}
	}
	if got := readString(t, pins); got != demoPins {
		t.Errorf("the real pin file changed: %q", got)
	}
}
