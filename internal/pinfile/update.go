package pinfile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/imgver/imgver/internal/userfile"
)

// Read parses the pin file at path. A missing file is an empty pin file:
// every image is unpinned.
func Read(path string, opts ...Option) (*File, error) {
	data, err := ReadData(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data, opts...)
}

// ReadData returns the content of the pin file at path: none for a missing
// file, but an error when its directory is missing too (a mistyped path,
// which would show every image as unpinned). A pin file must be a regular
// file or a symlink to one: anything else is an error, found before the file
// is opened.
func ReadData(path string) ([]byte, error) {
	data, err := userfile.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		dir := filepath.Dir(path)
		if _, derr := os.Stat(dir); derr != nil {
			return nil, fmt.Errorf("reading pin file %s: its directory: %w", path, derr)
		}
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading pin file: %w", err)
	}
	return data, nil
}

// Update reads the pin file at path, calls change on it, and writes it back
// when change reports that it changed something, all under an exclusive lock
// on the file's directory. When change or the write fails, the file on disk is
// left as it was. A missing file is created with mode 0644; a rewrite keeps
// the file's mode, owner and group (see package userfile).
func Update(ctx context.Context, path string, change func(*File) (bool, error), opts ...Option) error {
	// Checked as named first, so that an error names the user's path.
	if _, err := userfile.Stat(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("reading pin file: %w", err)
	}
	path, err := userfile.Resolve(path)
	if err != nil {
		return fmt.Errorf("reading pin file symlink: %w", err)
	}
	dir := filepath.Dir(path)
	unlock, err := lockDir(ctx, dir)
	if err != nil {
		return err
	}
	defer unlock()
	f, err := Read(path, opts...)
	if err != nil {
		return err
	}
	changed, err := change(f)
	if err != nil || !changed {
		return err
	}
	if err := userfile.WriteFile(path, f.Bytes(), 0o644); err != nil {
		var ro *userfile.ReadOnlyError
		if errors.As(err, &ro) {
			return fmt.Errorf("pin file %w", err)
		}
		return fmt.Errorf("writing pin file %s: %w", path, err)
	}
	return nil
}

// lockDir takes an exclusive flock on dir, waiting for it until ctx is done.
// Locking the directory, not the file, survives the rename that replaces the
// file and leaves no lock file behind.
func lockDir(ctx context.Context, dir string) (func(), error) {
	// O_DIRECTORY: anything but a directory fails at once, and nothing that
	// could block (a FIFO) is opened.
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("locking pin file directory: %w", &fs.PathError{Op: "open", Path: dir, Err: err})
	}
	d := os.NewFile(uintptr(fd), dir)
	for delay := time.Millisecond; ; delay = min(2*delay, 50*time.Millisecond) {
		err := unix.Flock(int(d.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return func() { _ = unix.Flock(int(d.Fd()), unix.LOCK_UN); d.Close() }, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			d.Close()
			return nil, fmt.Errorf("locking %s: %w", dir, err)
		}
		select {
		case <-ctx.Done():
			d.Close()
			return nil, fmt.Errorf("waiting for the lock on %s: %w", dir, ctx.Err())
		case <-time.After(delay):
		}
	}
}
