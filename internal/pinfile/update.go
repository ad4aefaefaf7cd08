package pinfile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/google/renameio/v2"
	"golang.org/x/sys/unix"
)

// Read parses the pin file at path. A missing file is an empty pin file:
// every image is unpinned.
func Read(path string) (*File, error) {
	data, err := ReadData(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// ReadData returns the content of the pin file at path: none for a missing
// file, but an error when its directory is missing too (a mistyped path,
// which would show every image as unpinned).
func ReadData(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
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
// left as it was. A missing file is created with mode 0644.
func Update(ctx context.Context, path string, change func(*File) (bool, error)) error {
	path, err := followLinks(path)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	unlock, err := lockDir(ctx, dir)
	if err != nil {
		return err
	}
	defer unlock()
	f, err := Read(path)
	if err != nil {
		return err
	}
	changed, err := change(f)
	if err != nil || !changed {
		return err
	}
	// A rename would replace a file its owner made read-only; refuse, as an
	// editor asks before it overwrites one.
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o200 == 0 {
		return fmt.Errorf("pin file %s is read-only (mode %04o): not written", path, fi.Mode().Perm())
	}
	if err := renameio.WriteFile(path, f.Bytes(), 0o644, renameio.WithTempDir(dir), renameio.WithExistingPermissions()); err != nil {
		return fmt.Errorf("writing pin file %s: %w", path, err)
	}
	return nil
}

// followLinks returns the file a symlinked pin file points to, also when that
// file does not exist yet, so that imgver writes through a symlink, never over
// it.
func followLinks(path string) (string, error) {
	for range 40 { // as Linux's MAXSYMLINKS
		fi, err := os.Lstat(path)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			return path, nil
		}
		target, err := os.Readlink(path)
		if err != nil {
			return "", fmt.Errorf("reading pin file symlink: %w", err)
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(path), target)
		}
		path = target
	}
	return "", fmt.Errorf("pin file %s: too many levels of symbolic links", path)
}

// lockDir takes an exclusive flock on dir, waiting for it until ctx is done.
// Locking the directory, not the file, survives the rename that replaces the
// file and leaves no lock file behind.
func lockDir(ctx context.Context, dir string) (func(), error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("locking pin file directory: %w", err)
	}
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
