// Package packages reads the installed-package databases of an image's file
// system and tells which packages two images differ in.
//
// # Where packages are read from
//
// A file is a package database by its path (Kind), except Go binaries, told
// by their content, and jars, whose META-INF/maven/**/pom.properties the zip
// normaliser of package detect/normalise hands over as it walks the archive
// and the archives nested in it (a Spring Boot BOOT-INF/lib/*.jar):
//
//	deb     /var/lib/dpkg/status (packages whose status is installed, or
//	        half-way through being configured); distroless
//	        /var/lib/dpkg/status.d/NAME (one stanza a file; *.md5sums skipped)
//	apk     /lib/apk/db/installed (P: and V: of each stanza)
//	python  **/*.dist-info/METADATA, **/*.egg-info/PKG-INFO and a
//	        **/*.egg-info file (Name: and Version:; names normalised as
//	        PEP 503 says: lower case, runs of -_. made one -)
//	npm     **/node_modules/NAME/package.json and
//	        **/node_modules/@SCOPE/NAME/package.json (name and version; the
//	        hidden lockfile node_modules/.package-lock.json describes the
//	        same tree, so it is not read)
//	gem     **/specifications/*.gemspec and **/specifications/default/*.gemspec
//	        (the name and version assignments RubyGems writes)
//	maven   pom.properties inside jars (groupId:artifactId and version)
//	go      executable ELF files built by Go 1.18 or later: the main module,
//	        every dependency (a replaced one at its replacement's version)
//	        and the Go toolchain as "stdlib"
//
// rpm is not read: the only pure-Go rpmdb reader at hand
// (github.com/knqyf263/go-rpmdb as the Go module proxy serves it, 2021)
// reads only BerkeleyDB databases, not the sqlite (RHEL 9, Fedora) or ndb
// (SUSE) ones, and wants a file on disk.
//
// A database file larger than its bound (64 MiB for dpkg and apk, 1 MiB for
// the others) or one that does not parse holds no packages. The same name
// may be installed at several versions (npm's nested node_modules, several
// Go binaries): a package is its set of versions.
//
// # Changes
//
// Diff compares two package lists ecosystem by ecosystem, name by name. A
// name on one side only is added or removed; a name whose versions differ is
// upgraded or downgraded, by the highest version on each side that the other
// lacks, compared by the ecosystem's own rules: Debian's (epochs, revisions,
// ~), apk's, PEP 440, RubyGems', npm's semver, Maven's, and Go's semver.
// A version the ecosystem's rules cannot parse is compared as a string.
// Before and After list the versions only that side has, lowest first,
// joined with ", ".
package packages
