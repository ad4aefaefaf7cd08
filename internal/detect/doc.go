// Package detect tells whether two container images run the same thing.
//
// Diff says "same" for a rebuild of the same sources and "changed" for any
// change that alters what runs, down to one permission bit. Fingerprint
// digests the same normalised content, so two images have equal
// fingerprints exactly when Diff, with the same options, says same.
//
// # References
//
// Images are named in skopeo's transport syntax:
//
//	oci:DIR[:TAG]  oci:DIR@DIGEST   an OCI layout; index.json holds one image
//	                                 or one multi-platform index, or TAG/DIGEST
//	                                 picks one (TAG matches the
//	                                 org.opencontainers.image.ref.name annotation)
//	docker-archive:FILE[:REF]        a "docker save" tar
//	docker-daemon:NAME:TAG           an image of the local Docker daemon
//	docker://REF, REF                a registry image (credentials from the
//	                                 default keychain; plain http for
//	                                 localhost and loopback addresses)
//
// Relative paths are resolved against WithBaseDir. A reference that does not
// exist gives a *NotFoundError (IsNotFound); one that cannot be parsed a
// *ParseError.
//
// # What is compared
//
// An image is its normalised file system plus its normalised runtime config.
// Nothing else makes a change: not manifest or index annotations, not media
// types (OCI vs Docker v2s2), not the compression of layers (gzip at any
// level, zstd, none), not how the files are split into layers.
//
// Multi-platform images are compared platform by platform, matched by
// os/arch/variant (arm64's default variant "v8" is the same as none), never
// by position. Attestation manifests (platform unknown/unknown, or the
// annotation vnd.docker.reference.type=attestation-manifest) are left out.
// A platform on one side only is a change. WithPlatform compares one
// platform. Two single-platform images are compared whatever their
// platforms; a different os or architecture then shows as a config change.
//
// Cheap answers come first: equal manifest digests mean same without
// reading a layer; equal diff_id lists and equal normalised configs mean
// same without reading a layer either.
//
// # The file system
//
// Layers are applied in order, as a container runtime does: a whiteout
// ".wh.NAME" removes NAME and what lies below it in the lower layers; an
// opaque marker ".wh..wh..opq" removes what the lower layers have in its
// directory; a non-directory replacing a directory removes the directory's
// contents. Whiteouts act only on lower layers. Other ".wh..wh.*" entries
// (aufs metadata) are skipped. The result does not depend on the layer
// split, the order of tar entries, the tar format (USTAR, PAX, GNU) or PAX
// records other than xattrs.
//
// Paths are made absolute and clean: "./a", "a", "/a" and "a/" are the same
// path "/a".
//
// For every path these attributes are compared:
//
//   - type: file, dir, symlink, char, block, fifo;
//   - mode: the permission bits with setuid, setgid and sticky (07777);
//   - uid and gid (numbers; user and group names are not compared);
//   - for a regular file, its content digest and its size (the size only when
//     no content normaliser produced the digest, see below);
//   - a symlink's target, as written;
//   - hard links: every member of a group of hard-linked paths is compared as
//     the file it links to, and all but the first member (in byte order)
//     name that first member in Entry.Hardlink. So the same links written
//     in another tar order are the same, and linking to another path is a
//     change;
//   - device numbers of char and block devices;
//   - extended attributes (PAX SCHILY.xattr.* and LIBARCHIVE.xattr.*), such as
//     security.capability.
//
// Never compared: mtime, atime, ctime, uname, gname, and other tar header
// details.
//
// Implicit directories: a path whose parent directory has no entry in any
// layer (a/b without a/) gets an implicit parent with mode 0755 owned by
// 0:0, which is what container runtimes create when they unpack such a
// layer. So an explicit "a/" entry with mode 0755 and owner 0:0 is the same
// as none, and an explicit "a/" with another mode or owner is a change. The
// root directory "/" is treated the same way. An implicit directory whose
// every descendant is noise (below) is noise too, under the rule of its
// first descendant: it exists only to hold the noise. Where the other image
// has an entry at that path that is not noise (a symlink, a directory of
// its own), that entry counts as added or removed, as in the fingerprint.
//
// # Noise
//
// Some paths differ on every rebuild without changing what runs (the list
// follows what two real builds of the same sources differed in). They are
// left out of the comparison and of the fingerprint under named rules. Each
// rule (its name, globs and why its paths are noise) is defined once, in
// DefaultRules; BuiltinRules adds the one conditional rule, pycache, and is
// what "imgver diff --help" lists; Comparer.Rules returns those in force.
// The rules cover package-manager indexes and download caches, the backups
// and locks dpkg, debconf and useradd leave, logs and temporary files,
// per-user tool caches, the files the container runtime bind-mounts, IDs
// generated at install time, regenerated caches (ldconfig, fontconfig,
// man-db, the Java keystore), shell history, and the .gem archives and
// native-extension build logs gem install leaves (in each GEM_HOME:
// /var/lib/gems/*, /usr/local/lib/ruby/gems/*, /usr/local/bundle,
// /root/.gem/ruby/*, /home/*/.gem/ruby/*; the built .so files still count,
// and a .gem elsewhere is compared by the gem normaliser). The pycache rule
// ignores a compiled Python file only where its source is in the image
// unchanged; a .pyc without its .py always counts.
//
// A glob "DIR/**" matches what lies below DIR, never DIR itself: the
// directory's own entry (mode, owner) still counts, so /tmp losing its
// sticky bit is a change.
//
// Derived files that a user may also edit by hand are deliberately NOT
// noise: /etc/ssl/certs/ca-certificates.crt and its hash symlinks (appending
// a certificate is a common Dockerfile step), /etc/ld.so.cache,
// /var/lib/dpkg/status.
//
// Users add globs (doublestar syntax, on absolute paths; a missing leading
// slash is added) with WithIgnore; in images.hcl they are the top-level
// "ignore" list and the per-image "ignore" list. WithoutDefaultIgnores
// switches the built-in rules and the default ignored labels off; the user
// globs stay. The differences left out are counted per rule in
// PlatformResult.Ignored.
//
// # Content normalisers
//
// Some files carry build timestamps inside (a .pyc header, zip entry times, a
// gzip header, a jar manifest's Build-Time, Spring Boot's build-info.properties
// build.time). The normalisers of package normalise compute a digest of
// their meaning instead. For a regular file the first normaliser whose Match
// accepts the path and size reads the content while the raw bytes are teed
// into a sha256; the rest is drained. When the normaliser succeeds its
// digest is the file's content digest (Entry.Normaliser names it) and the
// file's size is not compared; when it fails (ErrNotApplicable) the raw
// digest is used. WithoutNormalisers switches normalisers off by name.
// What each normaliser keeps and drops (pyc, zip with nested archives, gzip,
// shadow, manifest, build-info, gem) is written down in the documentation of
// package normalise:
//
//	pyc         *.pyc, *.pyo: the source mtime and size in the header
//	zip         *.jar, *.war, *.ear, *.zip, *.whl, *.aar: entry times, order,
//	            extra fields, compression; nested archives (BOOT-INF/lib/*.jar)
//	            normalised too, and their manifests and build-info.properties
//	gzip        *.gz, *.tgz: the header (mtime, name) and compression level
//	shadow      /etc/shadow, /etc/shadow-: the last-password-change day
//	manifest    .../META-INF/MANIFEST.MF: the Build-Time, Build-Date,
//	            Build-Timestamp and Bnd-LastModified attributes, line ends,
//	            line folding (Created-By, Main-Class and the rest count)
//	build-info  .../META-INF/build-info.properties: the build.time property,
//	            comments, blank lines (build.version and the rest count)
//	gem         *.gem: tar and gzip times, the gemspec's date,
//	            checksums.yaml.gz (the gemspec, and every file's name, type,
//	            mode and content count)
//
// # The runtime config
//
// Compared: os, architecture, variant, os.version, User, WorkingDir (clean;
// "/app/" is "/app"), Env (as a list: order and duplicates count; a reorder
// of ENV lines in a Dockerfile is a source change and is reported), Entrypoint,
// Cmd, Shell, OnBuild, ExposedPorts (a set; "80" is "80/tcp"), Volumes (a
// set), Labels (per label), StopSignal, Healthcheck.
//
// Not compared: created, history dates, author, comment, docker_version,
// container, hostname, domainname, ArgsEscaped, attach/tty/stdin flags, and
// the labels of DefaultIgnoredLabels (org.opencontainers.image.created,
// org.opencontainers.image.revision, org.label-schema.build-date,
// org.label-schema.vcs-ref, build-date, vcs-ref, io.buildah.version) plus those given with
// WithIgnoredLabels (images.hcl "ignore_labels"). Ignored labels whose values
// differ are listed in PlatformResult.Ignored.Labels.
//
// History: the created_by lines are always compared and listed, but make a
// change only WithHistory.
//
// # The result
//
// Diff returns a *Result; its JSON form (snake_case keys) is stable within
// SchemaVersion: fields may be added, none removed or changed in meaning.
//
//	{"schema_version": 1, "a": REF, "b": REF, "verdict": "same"|"changed",
//	 "packages": [{"ecosystem": "deb", "name": ..., "change":
//	     "upgraded"|"downgraded"|"added"|"removed", "before": ..., "after": ...}],
//	 "platforms": [{
//	   "platform": "linux/amd64", "verdict": ..., "only_in": "a"|"b",
//	   "digest_a": ..., "digest_b": ...,
//	   "source_a"|"source_b": "summary"|"cache"|"layers"|"none",
//	   "warnings": [...],
//	   "shortcut": "manifest-digest"|"diff-ids"|"shared-base",
//	   "added"|"removed"|"modified": [{"path": ..., "a": ENTRY, "b": ENTRY,
//	       "changes": [{"field": "mode", "a": "0755", "b": "0644"}],
//	       "layer_a": N, "layer_b": N, "diff": "--- a/...\n+++ b/...\n..."}],
//	   "config": [{"field": "env", "a": JSON, "b": JSON}],
//	   "history": [{"index": N, "a": ..., "b": ...}], "history_counts": bool,
//	   "ignored": {"paths": N, "rules": {"apt-lists": N}, "labels": [...]}}]}
//
// ENTRY is an Entry: path, type, mode (octal string), uid, gid, size,
// digest, normaliser, link, hardlink, dev_major, dev_minor, xattrs (hex
// values), layer, implicit, ignored_by. layer_a/layer_b are the index of the
// layer that last wrote the path, or removed it with a whiteout (-1: none,
// or an implicit directory): the CI flow uses them to tell a base change
// from an app change. Field names of file changes are type, mode, uid, gid,
// size, content, link, hardlink, device and "xattr.NAME"; of config changes
// os, architecture, variant, os_version, user, working_dir, env, entrypoint,
// cmd, shell, on_build, exposed_ports, volumes, stop_signal, healthcheck and
// "labels.KEY".
//
// source_a and source_b say where each side's layers came from: "summary"
// (its summary in the registry, see Summaries), "cache" (all from the local
// cache), "layers" (at least one layer blob read), "none" (nothing read: a
// shortcut, or the layers were read for the other side). warnings say why a
// summary was not used.
//
// When both images share their bottom layers (the same base), the layers
// above are read first; when they leave the same files on both sides (noise
// aside), the base is never read (shortcut "shared-base"). Noise on one side
// that may reach into the base makes the base read: a hard link, a
// non-directory (it removes what a base directory holds below it, unless a
// "DIR/**" glob covers all of that), or a path whose parent the upper
// layers do not hold as a directory.
//
// # Packages
//
// WithPackages explains a change by its packages (Result.Packages, and
// PlatformResult.Packages per platform): the package databases that package
// packages knows (dpkg, apk, Python, npm, gem, Maven pom.properties in jars,
// Go build information) are captured while the layers stream by for the
// comparison, each bounded in size; a jar's pom.properties come from the
// zip normaliser's one walk of it. The packages of an image are those of
// the databases its merged file system holds as the layer that last wrote
// them did (whiteouts and opaque directories applied, the top-most layer
// wins; noise paths left out). A shortcut lists none: equal layers, or
// layers above a shared base that leave the same files, hold the same
// databases. The packages never change the verdict, the files or the
// fingerprint. Comparer.Packages lists the package changes alone, reading
// the layers only for their databases (no digests).
//
// # Reading
//
// Layers are streamed: decompressed (gzip and zstd told by their magic
// numbers) into archive/tar, each file hashed as it is read; nothing is
// extracted to disk and no file content is held, so memory grows with the
// number of paths, not their size. Layers are read in parallel (WithJobs)
// and merged in order. Blobs of an OCI layout are checked against their
// digest and size; a registry read is checked by go-containerregistry;
// layers of a docker archive or the daemon are checked against their
// diff_id. A Comparer caches each layer's summary by diff_id, so a layer
// shared by several images is read once.
//
// # Summaries
//
// A layer summary is what a layer contributes once read: its entries (path,
// type, mode, owner, size, content digest and the normaliser that made it,
// link, device, xattrs) in tar order, its whiteouts and opaque dirs, and
// WithPackages its package databases. It depends on the layer and on the
// options key alone (Comparer.SummaryKey: SummaryVersion, the enabled
// content normalisers, WithPackages): ignore rules, ignored labels, the
// platform and history are applied when layers are merged. A summary made
// WithPackages serves a Comparer without.
//
// Summarize encodes, per platform image, its options key, platform,
// manifest descriptor (the subject), normalised config and history lines,
// and the summaries of its layers by diff_id in layer order: deterministic
// bytes (the same image and options give the same bytes), zstd-compressed.
// FingerprintSummary computes from those bytes the fingerprint Fingerprint
// computes from the layers. WithSummaries looks up the summary of a
// registry image (by its platform manifest digest) before reading any of
// its layers, and uses it when it decodes, names that manifest, its
// platform and diff_ids, and has an options key the Comparer can use;
// otherwise it is ignored with a warning and the layers are read: a summary
// never makes a run fail. WithLayerCache keeps the summary of every layer
// read, by options key and diff_id, and looks there first; an entry that
// does not decode is ignored. Decoding bounds every size (256 MiB in all,
// counts by the bytes left) and checks every field (paths absolute, clean
// and shorter than PATH_MAX, known types, modes, digests, normalisers of the
// options key), so hostile bytes give an error, never a panic. A summary is
// as trustworthy as the registry that holds the image: who can push the
// image can push its summary.
//
// Unified diffs of modified text files (valid UTF-8 without NUL, at most
// MaxTextDiffSize bytes on both sides, 16 MiB in all per platform) are made
// by a second pass over only the layers that hold those files: a summary
// holds no file content, so those few layers are read even when the
// summary served the rest.
package detect
