// Package userfile reads and writes the files a user owns (the pin file,
// Dockerfiles) so that they stay what they were.
//
// A user file must be a regular file or a symlink to one. Its type is checked
// with Lstat and Stat before anything opens it, so that a device, a FIFO or a
// socket is refused with one clear error and never opened: opening a FIFO
// blocks until a writer comes, and writing "over" a device would replace it
// with a regular file. Reads open with O_NONBLOCK and check the opened file
// again, so that a file swapped for a FIFO between the check and the open
// cannot block either.
//
// WriteFile replaces a file atomically: a temporary file in the target's
// directory gets the data, the old file's mode, owner and group (the owner
// can only be kept by root or by the owner itself; when it cannot be kept the
// write is refused), is synced and renamed over the target; the directory is
// synced too. A symlink is written through: its target changes, the link
// stays. A file whose owner made it read-only is not replaced.
package userfile
