// Package normalise computes digests of file contents that ignore the bytes a
// rebuild changes without changing what the file means: the source mtime in a
// .pyc header, entry timestamps in a zip or jar, the mtime and name in a gzip
// header, the last-password-change day in /etc/shadow, the build time in a JAR
// manifest and in Spring Boot's build-info.properties, tar and gzip times and
// the gemspec date in a RubyGems package.
//
// Every digest is "sha256:<hex>" of a canonical form that begins with the
// line "imgver/normalise/<name>/v<N>\n", name being the normaliser's Name, so
// that the digests of different kinds never collide with each other or with
// the raw sha256 of a file. The version N changes whenever a canonical form
// does: zip is at v2 (manifests and build-info.properties in archives
// normalised), the others at v1.
//
// Each normaliser streams: it reads its input once, through buffers of fixed
// size, and returns an error wrapping ErrNotApplicable for content it does
// not understand, never guessing. The caller then compares the raw bytes, so
// being strict only ever costs a false "changed", never a false "same". An
// error from the reader itself is returned wrapped but not as
// ErrNotApplicable.
//
// # pyc
//
// Files named *.pyc or *.pyo. The version is read from the magic number (a
// little-endian uint16 followed by "\r\n"):
//
//   - 3390 and up (Python 3.7+, PEP 552), 16-byte header: magic, flags, then
//     8 bytes. With flags 0 they are the source mtime and size and are
//     zeroed; with flags 1 or 3 (hash-based) they are the source hash and
//     are kept. Other flags are not applicable.
//   - 3230 to 3389 (Python 3.3 to 3.6), 12-byte header: magic, mtime, size;
//     mtime and size are zeroed.
//   - anything else (Python 1, 2, 3.0 to 3.2), 8-byte header: magic, mtime;
//     mtime is zeroed.
//
// The canonical form is the header so zeroed followed by the rest of the file.
//
// # zip
//
// Files named *.jar, *.war, *.ear, *.zip, *.whl or *.aar (not *.apk: Alpine
// packages are tar.gz). The archive is read front to back: local file
// headers with their content (stored or deflate; a data descriptor, with or
// without its signature, 32- or 64-bit sizes, is checked against what was
// read), then the central directory, which gives each entry its mode. Each
// central directory record must name the offset of a local entry with its
// name and CRC-32, and every local entry must have one, so that what reads
// the archive through its central directory (the JVM, unzip) sees what was
// digested.
//
// What counts, per entry: the name, the uncompressed content, and the unix
// mode (the high 16 bits of the external attributes, when the archive was
// written on a unix or macOS host; otherwise "no mode"). What does not count:
// the order of entries, timestamps, extra fields (extended timestamps 0x5455,
// unix uid/gid 0x7875, zip64 and alignment fields), compression method and
// level, flags, the "version needed", the entry comments and the archive
// comment (neither is extracted, and build tools stamp them). The sizes and
// CRC-32 in the central directory must match what was read.
//
// The canonical form lists the entries sorted by name (entries whose name
// repeats are all kept, ordered by the rest of their record), each as
// uvarint(len(name)), name, a kind byte (0 content, 1 nested archive), the
// 32-byte sha256 of the content or the nested archive's canonical form, a
// byte saying whether there is a mode, and the mode as a big-endian uint32.
// (Kind 2: the digest of the manifest or build-info normaliser, below.)
//
// Four entries get more than their bytes hashed:
//
//   - An entry named like an archive (BOOT-INF/lib/x.jar in a Spring Boot fat
//     jar, WEB-INF/lib/x.jar in a war, x.war in an ear) is normalised the
//     same way, streaming, up to 4 levels deep; if it is not a zip it counts
//     by its bytes.
//   - In META-INF/maven/**/pom.properties, lines starting with '#' are
//     dropped: Maven writes the build date there as a comment.
//   - META-INF/MANIFEST.MF and any .../META-INF/build-info.properties
//     (BOOT-INF/classes/META-INF/build-info.properties in a Spring Boot jar)
//     count by the digest of the manifest and build-info normalisers below,
//     or by their bytes when those do not take them. Inside archives they
//     apply even when switched off by name: they are part of zip's canonical
//     form.
//
// DigestMembers (MemberDigester) hands the caller the content of every
// pom.properties it reads, nested archives' included, so that package
// packages learns a jar's Maven coordinates from the one pass that digests
// it.
//
// Not applicable: encrypted entries; methods other than stored and deflate;
// a stored entry with a data descriptor and no size in its local header (as
// Go's archive/zip writes them: its end cannot be found when streaming);
// sizes or CRC-32 that do not match the content; local entries and central
// directory records that do not pair up; end records (zip64 ones included)
// whose entry count or central directory size or offset differ from what was
// read (a reader trusting them would see other entries), or that are not
// last in the file with their comment (readers search for them from the
// end), or a comment holding an end record; anything before the
// first local header (a launch script prepended to an executable jar); more
// than 1<<20 entries.
//
// Nested archives may decompress, all levels together, to at most 1 GiB
// plus 64 times the bytes of the outer archive read so far; more (a nested
// zip bomb) makes the whole archive not applicable, so the time spent stays
// linear in the file size, as it is for one level of deflate (at most 1032
// times).
//
// Memory does not grow with the file size: per archive level (at most 5) a
// 32 KiB read buffer, a 32 KiB copy buffer and one flate decompressor, plus a
// record per entry (its name and 32-byte digest) until the end.
//
// # gzip
//
// Files named *.gz or *.tgz, .tar.gz included. The canonical form is the
// decompressed stream, every member of a multi-member file in turn, so the
// header (mtime, name, comment, OS byte) and the compression level do not
// count; a .tar.gz still differs when the mtimes inside its tar differ.
// Trailing bytes after the last member (even zeros) are not applicable.
//
// # shadow
//
// Exactly /etc/shadow and /etc/shadow-. Each line has the nine fields
// name:passwd:lastchg:min:max:warn:inactive:expire:reserved. lastchg, the day
// (since 1970) of the last password change, is the day useradd ran; a day
// number is replaced by "*". An empty lastchg (password aging off) and "0"
// (password must be changed at the next login) are kept, since they change
// what the system does. Everything else, empty lines and the final newline or
// its absence included, counts byte for byte. A non-empty line that has not
// nine fields, a lastchg that is not a number, or a line longer than 64 KiB
// is not applicable.
//
// # manifest
//
// Files named .../META-INF/MANIFEST.MF (an unpacked jar, such as the layers
// of a Spring Boot jar extracted into an image), and the manifest entries of
// archives (see zip). Lines end with "\n", "\r\n" or "\r"; a line starting
// with a space continues the attribute above it (lines are folded at 72
// bytes). The canonical form is each attribute unfolded on one line ended by
// "\n", and an empty line for each empty line (the breaks between the main
// section and the per-entry sections), in the order of the file. Left out:
// the attributes Build-Time, Build-Date, Build-Timestamp and Bnd-LastModified
// (names compared without case), which build tools stamp with the build time.
// So line ends and folding do not count; everything else does, order
// included: Main-Class, Start-Class, Class-Path, Created-By (the JDK or tool
// that built the jar: the same on a rebuild, and a real change otherwise),
// per-entry digests. A last line without a line end, which the JVM ignores, is
// kept without one, so it differs from the same line ended.
//
// Not applicable: a line that is neither empty, nor a continuation of an
// attribute, nor "Name: value" with a name of 1 to 70 of A-Z a-z 0-9 - _ (as
// the JVM requires); a line longer than 64 KiB or an attribute longer than
// 1 MiB.
//
// # build-info
//
// Files named .../META-INF/build-info.properties, the file Spring Boot's
// build-info goal writes (and its actuator serves): build.artifact,
// build.group, build.name, build.version and build.time. Read as
// java.util.Properties reads it: lines end with "\n", "\r\n" or "\r",
// leading white space is skipped, a line whose first character is '#' or '!'
// is a comment, a line ending with an odd number of backslashes goes on on
// the next. The canonical form is each logical line (continuations joined)
// ended by "\n", with "build.time=*" for the property whose key (up to the
// first unescaped '=', ':' or white space, escapes removed) is build.time.
// Comments (Spring Boot 2 wrote a date comment) and blank lines are left out.
// Every other property counts as written, in order.
//
// Not applicable: a line longer than 64 KiB or a logical line longer than
// 1 MiB.
//
// # gem
//
// Files named *.gem of at least 1 KiB: a RubyGems package as gem build
// writes it (a .gem left next to its sources; the copies gem install keeps
// under GEM_HOME/cache are noise, see package detect). It is a tar of
// metadata.gz (the gemspec as YAML), data.tar.gz (the files to install) and
// checksums.yaml.gz, each with the build time as tar mtime and gzip mtime,
// and the gemspec holds the build day ("date: 2026-11-30 00:00:00.000000000
// Z"). The canonical form is, for each member of the outer tar in order:
// uvarint(len(name)) name uvarint(mode & 07777) and the 32-byte sha256 of
//
//   - metadata.gz: the decompressed YAML with a line starting "date: " (the
//     top-level key) replaced by "date: *";
//   - data.tar.gz: for each entry of the decompressed tar, in order,
//     uvarint(len(name)) name typeflag uvarint(mode & 07777)
//     uvarint(len(link)) link and the sha256 of its content (times, owners
//     and their names do not count: gem install sets none of them);
//   - any other member (signatures *.sig): its bytes.
//
// checksums.yaml.gz is left out: it holds the digests of the compressed
// metadata.gz and data.tar.gz, which change with their timestamps, while the
// contents it vouches for are compared. Not applicable: no tar, a tar without
// members, a member that is not a regular file, metadata.gz or data.tar.gz
// that is not gzip (trailing bytes included) or not read to its end, a
// data.tar that is not a tar, more than 1<<20 members or entries. A tar cut
// at a member boundary (no end blocks) is read as the members it has, as gem
// itself reads it.
package normalise
