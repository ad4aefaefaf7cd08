package pinfile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/imgver/imgver/internal/userfile"
	"github.com/imgver/imgver/internal/userfile/userfiletest"
)

func TestUpdateKeepsModeAndWritesAtomically(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "image_versions.src")
	if err := os.WriteFile(path, []byte("a_VER=\"v1\"\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	err := Update(t.Context(), path, func(f *File) (bool, error) {
		return true, f.Set("b", "v2", Auto, now)
	})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("mode = %v, want 0640", fi.Mode().Perm())
	}
	want := "a_VER=\"v1\"\n\n" + Header(now, "v2") + "\nb_VER=\"v2\"\n"
	if got := userfiletest.Read(t, path); got != want {
		t.Errorf("content = %q, want %q", got, want)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the pin file (no temp or lock file)", len(entries))
	}
}

func TestUpdateLeavesFileOnError(t *testing.T) {
	for _, tc := range []struct {
		name, content string
		change        func(*File) (bool, error)
	}{
		{"change fails", "a_VER=\"v1\"\n", func(f *File) (bool, error) {
			f.Remove("a")
			return true, errors.New("boom")
		}},
		{"unreadable line", "a_VER=v1 2\n", func(_ *File) (bool, error) { return true, nil }},
		{"nothing changed", "a_VER=\"v1\"\r\n# x", func(_ *File) (bool, error) { return false, nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "pins.src")
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			before, _ := os.Stat(path)
			_ = Update(t.Context(), path, tc.change)
			if got := userfiletest.Read(t, path); got != tc.content {
				t.Errorf("content = %q, want it untouched: %q", got, tc.content)
			}
			after, _ := os.Stat(path)
			if !os.SameFile(before, after) {
				t.Error("file was replaced")
			}
		})
	}
}

func TestUpdateMissingFileCreates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.src")
	if err := Update(t.Context(), path, func(f *File) (bool, error) { return true, f.Set("a", "v1", Auto, now) }); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("stat: %v, %v", fi, err)
	}
}

// TestReadMissingDir: a missing pin file is empty, but a pin file in a
// missing directory is an error, not a file that unpins every image.
func TestReadMissingDir(t *testing.T) {
	dir := t.TempDir()
	if f, err := Read(filepath.Join(dir, "pins.src")); err != nil || len(f.Pins()) != 0 {
		t.Errorf("missing file: %v, %v; want an empty pin file", f, err)
	}
	if _, err := Read(filepath.Join(dir, "nodir", "pins.src")); err == nil || !strings.Contains(err.Error(), "nodir") {
		t.Errorf("missing directory: error %v, want one naming it", err)
	}
}

// TestUpdateThroughSymlink: a symlinked pin file is written through, also
// when its target does not exist yet; the symlink stays a symlink.
func TestUpdateThroughSymlink(t *testing.T) {
	for _, tc := range []struct{ name, content string }{
		{"target exists", "a_VER=\"v1\"\n"},
		{"dangling", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			target := filepath.Join(dir, "real", "pins.src")
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				t.Fatal(err)
			}
			if tc.content != "" {
				if err := os.WriteFile(target, []byte(tc.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			link := filepath.Join(dir, "link.src")
			if err := os.Symlink("real/pins.src", link); err != nil {
				t.Fatal(err)
			}
			if err := Update(t.Context(), link, func(f *File) (bool, error) { return true, f.Set("b", "v2", Auto, now) }); err != nil {
				t.Fatal(err)
			}
			if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
				t.Fatalf("%s is no longer a symlink: %v, %v", link, fi, err)
			}
			f, err := Read(target)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := f.Lookup("b"); !ok {
				t.Errorf("target %s has no pin of b:\n%s", target, f.Bytes())
			}
		})
	}
}

// TestUpdateConcurrent: parallel updates in one process all survive (the
// lock is per open file description, so it also serialises goroutines; the
// cmd tests check separate processes).
func TestUpdateConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pins.src")
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- Update(t.Context(), path, func(f *File) (bool, error) {
				return true, f.Set(fmt.Sprintf("img%d", i), "v1", Auto, now)
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	f, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.Pins()); n != 20 {
		t.Errorf("%d pins survived, want 20", n)
	}
}

func TestUpdateCancelledWhileLocked(t *testing.T) {
	dir := t.TempDir()
	unlock, err := lockDir(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := contextWithCancel(t)
	cancel()
	if err := Update(ctx, filepath.Join(dir, "p.src"), func(*File) (bool, error) { return true, nil }); err == nil {
		t.Error("Update got the lock while another holder had it")
	}
}

func contextWithCancel(t *testing.T) (context.Context, context.CancelFunc) {
	return context.WithCancel(t.Context())
}

func TestUpdateRefusesReadOnlyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pins.src")
	if err := os.WriteFile(path, []byte("a_VER=\"v1\"\n"), 0o444); err != nil {
		t.Fatal(err)
	}
	err := Update(t.Context(), path, func(f *File) (bool, error) { return f.Remove("a"), nil })
	if err == nil || !strings.Contains(err.Error(), "read-only (mode 0444)") {
		t.Fatalf("error = %v, want read-only", err)
	}
	if got := userfiletest.Read(t, path); got != "a_VER=\"v1\"\n" {
		t.Errorf("content = %q", got)
	}
}

// TestSpecialPinFile: a pin file that is a FIFO, a socket, a device or a
// directory is refused, before anything opens it (a FIFO would block), and
// stays what it was.
func TestSpecialPinFile(t *testing.T) {
	dir := t.TempDir()
	specials := userfiletest.Specials(t, dir)
	for _, path := range specials {
		t.Run(filepath.Base(path), func(t *testing.T) {
			before, _ := os.Lstat(path)
			var nr *userfile.NotRegularError
			if _, err := Read(path); !errors.As(err, &nr) {
				t.Errorf("Read = %v, want a NotRegularError", err)
			}
			err := Update(t.Context(), path, func(f *File) (bool, error) { return true, f.Set("a", "v1", Auto, now) })
			if !errors.As(err, &nr) {
				t.Errorf("Update = %v, want a NotRegularError", err)
			}
			if after, _ := os.Lstat(path); after.Mode() != before.Mode() || !os.SameFile(before, after) {
				t.Errorf("%s changed: %v -> %v", path, before.Mode(), after.Mode())
			}
		})
	}
	entries, _ := os.ReadDir(dir)
	want := 4
	if specials["device"] != "/dev/null" {
		want = 5
	}
	if len(entries) != want {
		t.Errorf("the directory holds %d entries: a temporary file was left", len(entries))
	}
}

// TestUpdateKeepsOwner: as root, a rewrite keeps an owner and group that are
// not root's.
func TestUpdateKeepsOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root can give a file to another owner")
	}
	path := filepath.Join(t.TempDir(), "pins.src")
	if err := os.WriteFile(path, []byte("a_VER=\"v1\"\n"), 0o664); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, 1234, 1234); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o664); err != nil {
		t.Fatal(err)
	}
	if err := Update(t.Context(), path, func(f *File) (bool, error) { return true, f.Set("a", "v2", Auto, now) }); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 1234 || st.Gid != 1234 || fi.Mode().Perm() != 0o664 {
		t.Errorf("after the write: owner %d:%d mode %v, want 1234:1234 and 0664", st.Uid, st.Gid, fi.Mode().Perm())
	}
	if got := userfiletest.Read(t, path); got != "a_VER=\"v2\"\n" {
		t.Errorf("content = %q", got)
	}
}
