package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imgver/imgver/internal/userfile/userfiletest"
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
	specials := userfiletest.Specials(t, dir)
	for _, path := range specials {
		for _, args := range [][]string{
			{"list"},
			{"vars", "--commit", "0123456789"},
			{"release", "v1.0.0", "--dry-run"},
			{"pin", "postgres", "v1.0.0"},
			{"unpin", "console"},
		} {
			t.Run(filepath.Base(path)+"/"+args[0], func(t *testing.T) {
				t.Parallel() // nothing is written when the test passes
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
	t.Cleanup(func() {
		if got := readString(t, pins); got != demoPins {
			t.Errorf("the real pin file changed: %q", got)
		}
	})
}
