// Package pinfile reads and writes the pin file, the bash file of image
// versions that deployments source (VRO's scripts/image_versions.src).
//
// # What imgver reads is what bash reads
//
// The file is parsed with mvdan.cc/sh's bash parser, and the version imgver
// reads for an image's variable is the value bash gives it when it sources
// the file alone (no environment, nothing else run). To keep that promise the
// file may only hold what imgver can both read exactly and edit safely; any
// other statement is a *ParseError naming the file and line. The grammar:
//
//   - Comments and blank lines, anywhere.
//   - An automatic pin, at column 0: apigateway_VER="v1.2.3"
//   - A manual pin, at column 0: export apigateway_VER="v1.2.3", or
//     : ${apigateway_VER:="v1.2.3"} (also with = for :=, or the whole
//     ${...} in double quotes), which VRO's own files used.
//     Automation (release, detect) never adds, changes or removes one.
//   - Other assignments: NAME=value, NAME+=value, NAME=(a b), export NAME
//     and export NAME=value (one or more per line), : ${NAME:=value}, and
//     heredocs of ":" (: <<'EOF' ... EOF); a heredoc's body is data, never a
//     pin (unquoted, it must not expand anything that assigns or runs).
//
// A pin's value is a word without expansions: bare, 'single', "double" or
// $'ANSI-C' quoted, or a concatenation of those; it is read as bash reads it
// (quotes and backslashes removed, line continuations joined) and must be a
// valid image tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}), since images are
// published under it. A pin is alone on its line (a trailing # comment
// aside), one per variable.
//
// Refused, because bash would read something else than the pins imgver sees,
// or because imgver could not edit the file safely: any other command (echo,
// set, eval, source, unset, declare, readonly...), if, case, loops,
// functions, subshells, pipelines and && lists, a background command, a
// redirection (other than a heredoc of ":"), an assignment before a command
// (apigateway_VER=v1 2), += on a pin, an array or indexed pin, an indented
// pin, a second pin of a variable, a pin sharing its line with another
// statement, and in any value a command or process substitution, an
// arithmetic expansion, an index or slice, an indirect ${!x}, ${x:=...}
// outside the manual pin form, ${x:?...}, ${x@...} and $"...". A carriage
// return anywhere (CR LF line endings) is refused too: bash reads it into
// the value while the parser takes it for a blank; the error says how to
// convert the file. A syntax error is refused; ParseLenient reads the
// statements before it, as bash runs them before it stops.
//
// With the Owned option, an assignment to a NAME_VER variable that no image
// owns (VRO's CURRENT_RELEASE_VER) is an ordinary assignment: kept byte for
// byte, listed by File.Unowned for a warning, never a reason to refuse the
// file. Without it, every NAME_VER variable is a pin.
//
// # Edits
//
// Parse followed by Bytes returns the input unchanged. Set changes only a
// pin's value (keeping its quotes, form and trailing comment) when its kind
// stays, and rewrites only the pin's statement when its kind changes; Remove
// deletes the lines of a pin; AddBlock appends. Release writes a header
// comment "# <UTC RFC3339 time> -- <version>" above each block of pins it
// adds; when removing a pin empties a block, its header goes too. Every edit
// is parsed again and checked to read back with exactly the pins it meant, so
// imgver never writes a file it, or bash, would read otherwise.
//
// Update reads, changes and writes a pin file under an exclusive lock on its
// directory, so that two imgver processes never lose each other's updates.
// The file must be a regular file or a symlink to one; it is checked and
// written by package userfile (atomic rename, mode, owner and group kept).
package pinfile
