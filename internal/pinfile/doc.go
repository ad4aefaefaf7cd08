// Package pinfile reads and writes the pin file, the bash file of image
// versions that deployments source (VRO's scripts/image_versions.src).
//
// A pin file has three kinds of line:
//
//   - An automatic pin, written and removed by imgver, at column 0:
//     apigateway_VER="v1.2.3"
//   - A manual pin, written by a person or by "imgver pin --manual":
//     export apigateway_VER="v1.2.3"
//     Automation (release, detect) never adds, changes or removes one.
//   - Anything else: comments, blank lines, other shell. It is kept byte for
//     byte. A comment that names a variable is never a pin.
//
// A pin's value is a double-quoted string without ", \, $ or backquote, a
// single-quoted string, or a bare word of [A-Za-z0-9._+:@/-]; it may be
// followed by blanks and a # comment, which Set keeps when it rewrites the
// pin in place. The version must be a valid image tag
// ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}), since images are published under it.
// Any other assignment to a NAME_VER variable at column 0 (v1 2, $(cmd),
// "unterminated), an indented one or one through declare, typeset, readonly
// or local (which bash would honour while imgver could not see it), and a
// second pin of the same variable are parse errors that
// name the file and line.
//
// Release writes a header comment "# <UTC RFC3339 time> -- <version>" above
// each block of pins it adds. A header's block is the run of pin lines that
// follows it; when removing a pin empties a block, its header goes too, so the
// file does not fill with orphan headers.
//
// Parse followed by Bytes returns the input unchanged, byte for byte: line
// endings (LF or CRLF, per line), a missing final newline, and every line
// imgver does not mean to touch are kept. New lines use the file's first line
// ending.
//
// Update reads, changes and writes a pin file under an exclusive lock on its
// directory, so that two imgver processes never lose each other's updates, and
// writes atomically: a temporary file in the same directory, fsync, the old
// file's mode, rename.
package pinfile
