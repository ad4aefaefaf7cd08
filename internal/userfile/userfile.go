package userfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// NotRegularError is a user file that is not a regular file: a directory, a
// device, a FIFO or a socket.
type NotRegularError struct {
	Path string
	// Target is the file a symlink Path points to, if it is one.
	Target string
	Mode   fs.FileMode
}

func (e *NotRegularError) Error() string {
	name := e.Path
	if e.Target != "" {
		name = fmt.Sprintf("%s (a symlink to %s)", e.Path, e.Target)
	}
	return fmt.Sprintf("%s is %s, not a regular file: refusing to open it", name, describe(e.Mode))
}

// fileTypes names the types of file a user file must not be, in the order
// describe tests them (a character device has fs.ModeDevice too).
var fileTypes = []struct {
	bit  fs.FileMode
	name string
}{
	{fs.ModeDir, "a directory"},
	{fs.ModeCharDevice, "a character device"},
	{fs.ModeDevice, "a block device"},
	{fs.ModeNamedPipe, "a FIFO (named pipe)"},
	{fs.ModeSocket, "a socket"},
	{fs.ModeIrregular, "an irregular file"},
}

func describe(m fs.FileMode) string {
	for _, t := range fileTypes {
		if m&t.bit != 0 {
			return t.name
		}
	}
	return fmt.Sprintf("of type %v", m.Type())
}

// ReadOnlyError is a user file its owner made read-only: WriteFile does not
// replace it, as an editor asks before it overwrites one.
type ReadOnlyError struct {
	Path string
	Perm fs.FileMode
}

func (e *ReadOnlyError) Error() string {
	return fmt.Sprintf("%s is read-only (mode %04o): not written", e.Path, uint32(e.Perm))
}

// Stat returns the file info of path, following symlinks, after checking
// with Lstat and Stat that it is a regular file or a symlink to one. A
// missing file is an error that matches fs.ErrNotExist.
func Stat(path string) (fs.FileInfo, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	target := ""
	if fi.Mode()&fs.ModeSymlink != 0 {
		if fi, err = os.Stat(path); err != nil {
			return nil, err
		}
		target, _ = Resolve(path)
	}
	if !fi.Mode().IsRegular() {
		return nil, &NotRegularError{Path: path, Target: target, Mode: fi.Mode()}
	}
	return fi, nil
}

// ReadFile returns the content of the regular file at path. Anything else is
// refused before it is opened (see Stat); a missing file is an error that
// matches fs.ErrNotExist.
func ReadFile(path string) ([]byte, error) {
	before, err := Stat(path)
	if err != nil {
		return nil, err
	}
	// O_NONBLOCK: should the file have become a FIFO since Stat, the open
	// returns at once instead of waiting for a writer.
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &NotRegularError{Path: path, Mode: fi.Mode()}
	}
	if !os.SameFile(before, fi) {
		return nil, fmt.Errorf("%s was replaced while it was being read", path)
	}
	return io.ReadAll(f)
}

// Resolve returns the file a symlinked path points to, also when that file
// does not exist yet, so that a write goes through a symlink, never over it.
func Resolve(path string) (string, error) {
	for range 40 { // as Linux's MAXSYMLINKS
		fi, err := os.Lstat(path)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			return path, nil
		}
		target, err := os.Readlink(path)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(path), target)
		}
		path = target
	}
	return "", fmt.Errorf("%s: too many levels of symbolic links", path)
}

// WriteFile replaces the content of the user file at path with data,
// atomically, keeping its mode, owner and group; a new file gets mode perm.
// A symlink is written through. Nothing changes when it fails.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	path, err := Resolve(path)
	if err != nil {
		return err
	}
	old, err := Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		old = nil
	case err != nil:
		return err
	case old.Mode().Perm()&0o200 == 0:
		return &ReadOnlyError{Path: path, Perm: old.Mode().Perm()}
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	mode := perm
	if old != nil {
		mode = old.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
		if st, ok := old.Sys().(*syscall.Stat_t); ok {
			// Before the chmod: chown clears the setuid and setgid bits.
			if err := tmp.Chown(int(st.Uid), int(st.Gid)); err != nil {
				return fmt.Errorf("keeping owner %d:%d of %s: %w", st.Uid, st.Gid, path, err)
			}
		}
	}
	if err := tmp.Chmod(mode); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	done = true
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
