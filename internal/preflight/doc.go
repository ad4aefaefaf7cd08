// Package preflight finds what stops a built image from starting, before it is
// pushed: an entrypoint that is missing or not executable for the image's
// user (the 2021 ContainerSSH images failed with `exec: "/containerssh":
// permission denied` after an unpacking step lost the exec bit), a script
// whose #! interpreter is missing, a working directory that is not a
// directory, a user that /etc/passwd does not know. These are the checks of
// imgver check (the command keeps that name), and those imgver detect runs
// on every fresh build it reads (internal/flow). Each Problem names its
// check and the platform image it was found in.
//
// The checks, each with its name:
//
//   - entrypoint: the executable of Entrypoint+Cmd (Cmd alone when there is no
//     Entrypoint) exists, found through PATH from the image's Env for a bare
//     name, with symlinks followed inside the image; it is a regular file with
//     an exec bit for the image's user (root: any exec bit; otherwise the
//     owner, group or other bit that applies), and every directory on the way
//     is searchable by that user, those reached through symlinks included.
//     It is a #! script or an ELF binary for the image's architecture
//     (anything else fails with "exec format error").
//   - interpreter: when the executable starts with "#!", the line is split as
//     Linux does (the interpreter ends at the first space or tab; the rest is
//     one argument; a line ending in CRLF is a problem, since its "\r" ends
//     the interpreter's name or its argument; a line longer than the kernel's
//     255 bytes must not cut the interpreter's name), the interpreter exists
//     and is executable (a bare name is taken relative to the working
//     directory: the kernel does no PATH search), and a non-root user can
//     read the script. For "#!/usr/bin/env ARG", ARG as a whole is
//     found in PATH (env does not split "python3 -u"); with "-S" the first
//     word that is not an option or VAR=value is.
//   - workdir: WorkingDir, when set, is a directory or missing (Docker and
//     runc create a missing one); not a file, nor under one.
//   - user: User names a user of /etc/passwd, or is numeric; a group after ":"
//     names a group of /etc/group, or is numeric. Groups are those runc
//     gives: the primary gid of the first matching passwd entry (0 for a
//     numeric user without one), plus the /etc/group memberships of that
//     name unless ":group" is given, which replaces them all.
//   - world-writable: no file or directory outside /tmp and /var/tmp is
//     writable by everyone, unless it is a directory with the sticky bit.
//     Symlinks, device nodes and what is under /dev (a tmpfs in a running
//     container) do not count.
//   - size: no file is larger than the limit (off unless set).
//
// The merged file system is read once (internal/detect's streaming reader);
// the few files whose bytes matter (/etc/passwd, /etc/group, the first line
// of the executable) are then read from only the layers that hold them.
package preflight
