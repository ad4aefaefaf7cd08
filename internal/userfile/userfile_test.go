package userfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/imgver/imgver/internal/userfile/userfiletest"
)

func TestRefusesSpecialFiles(t *testing.T) {
	for kind, path := range userfiletest.Specials(t, t.TempDir()) {
		t.Run(kind, func(t *testing.T) {
			before, err := os.Lstat(path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ReadFile(path); !isNotRegular(err) {
				t.Errorf("ReadFile(%s) = %v, want a NotRegularError", kind, err)
			}
			if path == "/dev/null" && os.Geteuid() != 0 {
				return // not ours to write even if the check failed
			}
			if err := WriteFile(path, []byte("x\n"), 0o644); !isNotRegular(err) {
				t.Errorf("WriteFile(%s) = %v, want a NotRegularError", kind, err)
			}
			after, err := os.Lstat(path)
			if err != nil {
				t.Fatal(err)
			}
			if before.Mode() != after.Mode() || !os.SameFile(before, after) {
				t.Errorf("%s changed: %v -> %v", path, before.Mode(), after.Mode())
			}
		})
	}
}

func isNotRegular(err error) bool {
	var nr *NotRegularError
	return errors.As(err, &nr)
}

func TestReadFileMissing(t *testing.T) {
	_, err := ReadFile(filepath.Join(t.TempDir(), "none"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("err = %v, want fs.ErrNotExist", err)
	}
}

// TestWriteKeepsModeOwnerGroup: a rewrite keeps the mode (with setgid) and,
// as root, an owner and group that are not the writer's.
func TestWriteKeepsModeOwnerGroup(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	uid, gid := os.Getuid(), os.Getgid()
	if os.Geteuid() == 0 {
		uid, gid = 1234, 1234
		if err := os.Chown(path, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	mode := fs.FileMode(0o640) | fs.ModeSetgid
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []byte("new\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if int(st.Uid) != uid || int(st.Gid) != gid {
		t.Errorf("owner = %d:%d, want %d:%d", st.Uid, st.Gid, uid, gid)
	}
	if fi.Mode() != mode {
		t.Errorf("mode = %v, want %v", fi.Mode(), mode)
	}
	if data, _ := os.ReadFile(path); string(data) != "new\n" {
		t.Errorf("content = %q", data)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("%d entries left in the directory, want 1", len(entries))
	}
}

func TestWriteThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "link")
	if err := os.Symlink("sub/target", link); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, content := range []string{"created\n", "replaced\n"} {
		if err := WriteFile(link, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Fatalf("link is no longer a symlink: %v %v", fi, err)
		}
		if data, _ := os.ReadFile(filepath.Join(dir, "sub", "target")); string(data) != content {
			t.Errorf("target = %q, want %q", data, content)
		}
	}
}

func TestWriteRefusesReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("old\n"), 0o444); err != nil {
		t.Fatal(err)
	}
	var ro *ReadOnlyError
	if err := WriteFile(path, []byte("new\n"), 0o644); !errors.As(err, &ro) {
		t.Fatalf("err = %v, want a ReadOnlyError", err)
	}
	if data, _ := os.ReadFile(path); string(data) != "old\n" {
		t.Errorf("content = %q", data)
	}
}
