#!/usr/bin/env bash
# real-rebuilds.sh: build REAL images twice from the same sources (and a few
# times from changed sources), export them, and check that `imgver diff` calls
# the rebuilds SAME and the changes CHANGED. Where imgver reports package
# changes (the "packages" field of `imgver diff --format json`), the script also
# checks that the base-upgrade and node-lock cases are explained by the one
# package that changed, with both versions; an imgver without that field skips
# these checks and says so.
#
# No Docker engine and no Docker Hub are needed: every base comes from
# debootstrap (mirror read from this machine's apt sources), every package from
# apt (npm packages from the npm registry; Ruby gems built locally), every image
# is built with buildah (chroot isolation, overlay storage).
# See testdata/rebuilds/README.md for the cases and testdata/rebuilds/FINDINGS.md
# for what differs between two builds of the same sources.
#
# Usage (as root): scripts/real-rebuilds.sh [CASE...]
#   CASE is a case name from the summary table (e.g. pyapp-same); a prefix
#   such as "pyapp" selects every case starting with it. Default: all but
#   bench600 (the ~600 MB image of scripts/bench.sh pair600: built only when
#   named, it takes minutes).
#
# Environment:
#   REBUILDS_WORK=/var/tmp/imgver-rebuilds  work dir: debootstrap cache, buildah
#                         storage, OCI layouts, logs (never inside the repo)
#   FRESH_BASE=1          re-run debootstrap even when a cached base exists
#   SKIP_BUILD=1          do not build; diff the images exported by a previous run
#   SKIP_DIFF=1           build and export only
#   IMGVER=path           imgver binary to use (default: built from this repo
#                         into $REBUILDS_WORK/imgver)
#   IMGVER_SRC=dir        Go module to build imgver from (default: this repo)
#   SUITE=bookworm        Debian suite for debootstrap
#   BASE_EXTRA_PKG=less   package added to the base for the base-pkg case
#   CA_BUNDLE=$SSL_CERT_FILE or /etc/ssl/certs/ca-certificates.crt: the CA
#                         bundle the Node builds' npm trusts (passed as a build
#                         secret, never stored in an image)
#   BASE_UPGRADE_PKG=tzdata  package upgraded in the base for the base-upgrade
#                         case: the host's apt candidate (from its updates and
#                         security suites) installed with dpkg -i over base:1
#
# Exit status: 0 when every verdict matches its expectation, 1 when one does
# not, 2 on trouble (a build failed, a tool is missing, ...).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TESTDATA=$REPO/testdata/rebuilds
WORK=${REBUILDS_WORK:-/var/tmp/imgver-rebuilds}
SUITE=${SUITE:-bookworm}
BASE_EXTRA_PKG=${BASE_EXTRA_PKG:-less}
BASE_UPGRADE_PKG=${BASE_UPGRADE_PKG:-tzdata}
FRESH_BASE=${FRESH_BASE:-0}
SKIP_BUILD=${SKIP_BUILD:-0}
SKIP_DIFF=${SKIP_DIFF:-0}
PREFIX=localhost/imgver-rebuilds
CA_BUNDLE=${CA_BUNDLE:-${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}}

OCI=$WORK/oci
ARCHIVES=$WORK/archives
LOGS=$WORK/logs
# A storage of our own: other users of buildah on this machine are untouched
# and a re-run can prune it freely.
BUILDAH=(buildah --root "$WORK/storage" --runroot "$WORK/runroot" --storage-driver overlay)

log() { printf '[%s] %s\n' "$(date -u +%T)" "$*" >&2; }
die() { log "error: $*"; exit 2; }

[[ $(id -u) == 0 ]] || die "must run as root (debootstrap, buildah chroot isolation)"
mkdir -p "$WORK" "$OCI" "$ARCHIVES" "$LOGS"

# ---------------------------------------------------------------- tools
ensure_tools() {
	local missing=() tool pkg
	for tool in buildah:buildah skopeo:skopeo umoci:umoci debootstrap:debootstrap runc:runc jq:jq; do
		pkg=${tool#*:}; tool=${tool%%:*}
		command -v "$tool" >/dev/null 2>&1 || missing+=("$pkg")
	done
	if ((${#missing[@]})); then
		log "installing ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update
		apt-get install -y --no-install-recommends "${missing[@]}"
	fi
	command -v go >/dev/null 2>&1 || [[ -n ${IMGVER:-} ]] || die "go is needed to build imgver (or set IMGVER)"
}

# The Debian mirror this machine already uses, from its apt sources (deb822
# *.sources first, then one-line sources.list). Never hard-coded.
debian_mirror() {
	local f m=""
	for f in /etc/apt/sources.list.d/*.sources; do
		[[ -f $f ]] || continue
		m=$(awk -v suite="$SUITE" '
			function flush() { if (!done && uris != "" && (" " suites " ") ~ (" " suite " ")) { split(uris, u, " "); print u[1]; done = 1; exit } uris = ""; suites = "" }
			/^[ \t]*$/ { flush(); next }
			/^URIs:/   { sub(/^URIs:[ \t]*/, ""); uris = $0 }
			/^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites = $0 }
			END { flush() }' "$f")
		[[ -n $m ]] && break
	done
	if [[ -z $m ]]; then
		for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
			[[ -f $f ]] || continue
			m=$(awk -v suite="$SUITE" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } if ($(i+1) == suite) { print $i; exit } }' "$f")
			[[ -n $m ]] && break
		done
	fi
	[[ -n $m ]] || die "no deb source for suite $SUITE in /etc/apt/sources.list{,.d/*}"
	printf '%s\n' "$m"
}

# ---------------------------------------------------------------- base
# make_base NAME [debootstrap args...]: debootstrap a minbase rootfs into
# $WORK/base/NAME.tar (cached unless FRESH_BASE=1) and import it as the buildah
# image $PREFIX/base:NAME.
make_base() {
	local name=$1; shift
	local tarball=$WORK/base/$name.tar rootfs=$WORK/base/rootfs-$name img=$PREFIX/base:$name
	mkdir -p "$WORK/base"
	if [[ $FRESH_BASE == 1 || ! -s $tarball ]]; then
		log "debootstrap $SUITE -> base:$name $*"
		rm -rf "$rootfs" "$tarball"
		local t0=$SECONDS
		debootstrap --variant=minbase "$@" "$SUITE" "$rootfs" "$(debian_mirror)" >"$LOGS/debootstrap-$name.log" 2>&1 ||
			die "debootstrap failed, see $LOGS/debootstrap-$name.log"
		tar -C "$rootfs" -cf "$tarball.tmp" .
		mv "$tarball.tmp" "$tarball"
		rm -rf "$rootfs"
		"${BUILDAH[@]}" rmi -f "$img" >/dev/null 2>&1 || true
		log "base:$name done in $((SECONDS - t0)) s"
	fi
	import_base "$name"
}

# import_base NAME: $WORK/base/NAME.tar as the buildah image $PREFIX/base:NAME,
# exported as the OCI layout $OCI/base-NAME.
import_base() {
	local name=$1 tarball=$WORK/base/$1.tar img=$PREFIX/base:$1
	if ! "${BUILDAH[@]}" inspect --type image "$img" >/dev/null 2>&1; then
		log "importing base:$name"
		local ctr
		ctr=$("${BUILDAH[@]}" from scratch)
		"${BUILDAH[@]}" add "$ctr" "$tarball" / >/dev/null
		"${BUILDAH[@]}" config --cmd /bin/bash "$ctr"
		"${BUILDAH[@]}" commit --quiet "$ctr" "$img" >/dev/null
		"${BUILDAH[@]}" rm "$ctr" >/dev/null
		rm -rf "$OCI/base-$name"
	fi
	if [[ ! -f $OCI/base-$name/index.json ]]; then
		"${BUILDAH[@]}" push --quiet "$img" "oci:$OCI/base-$name:latest"
	fi
}

# make_base_upgraded: base:1's rootfs with one package upgraded to the version
# the host's apt would install (its sources include the updates and security
# suites, the debootstrap base only the release). Sets HAVE_UPGRADE=1 when the
# image $PREFIX/base:upg exists; 0 when no newer version is available.
HAVE_UPGRADE=0
make_base_upgraded() {
	local tarball=$WORK/base/upg.tar rootfs=$WORK/base/rootfs-upg img=$PREFIX/base:upg deb old new
	if [[ $FRESH_BASE == 1 || ! -s $tarball || $WORK/base/1.tar -nt $tarball ]]; then
		rm -rf "$rootfs" "$tarball" "$WORK/base/debs" "$WORK/base/upg.none"
		mkdir -p "$rootfs" "$WORK/base/debs"
		tar -C "$rootfs" -xf "$WORK/base/1.tar"
		old=$(chroot "$rootfs" dpkg-query -W -f '${Version}' "$BASE_UPGRADE_PKG" 2>/dev/null) ||
			die "$BASE_UPGRADE_PKG is not installed in base:1"
		(cd "$WORK/base/debs" && apt-get download "$BASE_UPGRADE_PKG" >/dev/null 2>&1) ||
			{ apt-get update >/dev/null && (cd "$WORK/base/debs" && apt-get download "$BASE_UPGRADE_PKG" >/dev/null 2>&1); } ||
			die "apt-get download $BASE_UPGRADE_PKG failed"
		deb=$(ls "$WORK/base/debs"/*.deb)
		new=$(dpkg-deb -f "$deb" Version)
		if ! dpkg --compare-versions "$new" gt "$old"; then
			log "no upgrade of $BASE_UPGRADE_PKG available ($old in base:1, $new from apt): base-upgrade skipped"
			rm -rf "$rootfs" "$OCI/base-upg" "$OCI/pyapp-baseupg"
			touch "$WORK/base/upg.none"
			return
		fi
		log "base:upg = base:1 with $BASE_UPGRADE_PKG $old -> $new"
		printf '%s %s\n' "$old" "$new" >"$WORK/base/upg.versions"
		cp "$deb" "$rootfs/tmp/"
		chroot "$rootfs" env DEBIAN_FRONTEND=noninteractive dpkg -i "/tmp/${deb##*/}" >"$LOGS/base-upg.log" 2>&1 ||
			die "dpkg -i in base:upg failed, see $LOGS/base-upg.log"
		rm -f "$rootfs/tmp/${deb##*/}"
		tar -C "$rootfs" -cf "$tarball.tmp" .
		mv "$tarball.tmp" "$tarball"
		rm -rf "$rootfs"
		"${BUILDAH[@]}" rmi -f "$img" >/dev/null 2>&1 || true
	fi
	import_base upg
	HAVE_UPGRADE=1
}

# ---------------------------------------------------------------- builds
# A fresh copy of a case's build context, as a fresh checkout would give: new
# mtimes, modes 0644/0755.
fresh_context() {
	local case=$1 dst=$WORK/ctx/$2
	rm -rf "$dst"; mkdir -p "$(dirname "$dst")"
	cp -r "$TESTDATA/$case" "$dst"
	printf '%s\n' "$dst"
}

# build IMAGE CONTEXT [bud args...]: build with buildah (every step re-run)
# and export the image as the OCI layout $OCI/IMAGE.
build() {
	local image=$1 ctx=$2; shift 2
	local name=$PREFIX/$image t0=$SECONDS
	log "build $image"
	"${BUILDAH[@]}" rmi -f "$name" >/dev/null 2>&1 || true
	if ! "${BUILDAH[@]}" bud --isolation chroot --layers --no-cache --pull=never \
		-t "$name" -f "$ctx/Dockerfile" "$@" "$ctx" >"$LOGS/build-$image.log" 2>&1; then
		tail -20 "$LOGS/build-$image.log" >&2
		die "build of $image failed, see $LOGS/build-$image.log"
	fi
	rm -rf "${OCI:?}/$image"
	"${BUILDAH[@]}" push --quiet "$name" "oci:$OCI/$image:latest"
	BUILD_SECONDS[$image]=$((SECONDS - t0))
	log "built $image in ${BUILD_SECONDS[$image]} s"
	# Two builds of a pair must not share a second: mtimes have to differ.
	sleep 1.1
}

declare -A BUILD_SECONDS=()

# must_differ CASE CTX FILE: a variant's edit really changed FILE.
must_differ() {
	cmp -s "$TESTDATA/$1/$3" "$2/$3" && die "variant of $1: $3 unchanged (edit did not apply)"
	return 0
}

# build_pair CASE NAME [bud args...]: two builds of the same sources, NAME-a
# and NAME-b.
build_pair() {
	local case=$1 name=$2; shift 2
	build "$name-a" "$(fresh_context "$case" "$name-a")" "$@"
	build "$name-b" "$(fresh_context "$case" "$name-b")" "$@"
}

# build_edited CASE IMAGE FILE SED-SCRIPT: IMAGE from the sources of CASE with
# FILE edited by the sed script (which must change it).
build_edited() {
	local case=$1 image=$2 file=$3 script=$4 c
	c=$(fresh_context "$case" "$image")
	sed -i "$script" "$c/$file"
	must_differ "$case" "$c" "$file"
	build "$image" "$c"
}

# zstd_copy IMAGE: $OCI/IMAGE again as $OCI/IMAGE-zstd, its layers
# recompressed with zstd.
zstd_copy() {
	rm -rf "${OCI:?}/$1-zstd"
	skopeo copy --quiet --dest-compress-format zstd "oci:$OCI/$1:latest" "oci:$OCI/$1-zstd:latest"
}

build_all() {
	local c

	# (a) Python app with compileall.
	if want pyapp; then
		build_pair pyapp pyapp
		# One byte of a source file ("hello" -> "hellp"), so its .pyc too.
		build_edited pyapp pyapp-byte app/util/helpers.py 's/hello from/hellp from/'
		# The same sources on the second debootstrap of the base: a full rebuild.
		build pyapp-rebased "$(fresh_context pyapp pyapp-rebased)" --build-arg BASE=$PREFIX/base:2
		# The same sources on a base with one more package.
		build pyapp-basepkg "$(fresh_context pyapp pyapp-basepkg)" --build-arg BASE=$PREFIX/base:pkg
		# ... and on a base with one package upgraded.
		if ((HAVE_UPGRADE)); then
			build pyapp-baseupg "$(fresh_context pyapp pyapp-baseupg)" --build-arg BASE=$PREFIX/base:upg
		fi
	fi

	# (b) apt-get update + install, lists kept.
	if want aptlists; then
		build_pair aptlists aptlists
		# One ENV value changed.
		build_edited aptlists aptlists-env Dockerfile 's/^ENV APP_ENV=prod$/ENV APP_ENV=stag/'
		# Cross-format: B as docker-archive, and as OCI with zstd layers.
		rm -f "$ARCHIVES/aptlists-b.tar"
		skopeo copy --quiet "oci:$OCI/aptlists-b:latest" "docker-archive:$ARCHIVES/aptlists-b.tar:$PREFIX/aptlists-b:latest"
		zstd_copy aptlists-b
	fi

	# (c) Java: javac + jar, fat jar with a nested jar.
	if want java; then
		build_pair java java
		# One byte of the library's source.
		build_edited java java-byte src/lib/com/example/lib/Greeter.java 's/hello, /hellp, /'
	fi

	# (d) useradd, logs, /tmp.
	if want users; then
		build_pair users users
		# Permission bits only: the entrypoint loses its x bits (0755 -> 0644).
		c=$(fresh_context users users-mode); chmod 0644 "$c/entrypoint.sh"
		build users-mode "$c"
		# The same sources "built a day earlier": /etc/shadow's lastchg (days
		# since the epoch) is one less.
		build users-nextday "$(fresh_context users users-nextday)" --build-arg SOURCE_DATE_EPOCH=$(($(date +%s) - 86400))
		zstd_copy users-b
	fi

	# (e) Ruby: a gem with a C extension, gem build + gem install --local,
	# bundle install --local.
	if want ruby; then
		build_pair rubyapp ruby
		# The C source changed: one string constant of the extension.
		build_edited rubyapp ruby-csrc fastsum/ext/fastsum/fastsum.c 's/"hello from C"/"hellp from C"/'
	fi

	# (f) Node: npm ci from the lock file, npm's cache and logs left behind.
	if want node; then
		local ca=(--secret "id=cabundle,src=$CA_BUNDLE")
		build_pair nodeapp node "${ca[@]}"
		# One dependency's locked version changed: ms 2.1.3 -> 2.1.2 (package.json's
		# "^2.1.1" allows both, so npm ci takes either lock file).
		c=$(fresh_context nodeapp node-lock); cp "$c/package-lock.ms-2.1.2.json" "$c/package-lock.json"
		must_differ nodeapp "$c" package-lock.json
		build node-lock "$c" "${ca[@]}"
	fi

	# (g) A Spring Boot-style fat jar built with javac, jar and zip.
	if want boot; then
		build_pair bootjar boot
		# One class of the application changed (BOOT-INF/classes).
		build_edited bootjar boot-class src/com/example/demo/GreetingService.java 's/new Greeter("hello")/new Greeter("hellp")/'
	fi

	# (h) The ~600 MB JDK + Python image of scripts/bench.sh pair600, built
	# twice (only when asked for by name: it takes minutes).
	if want bench600; then
		build_pair bench600 bench600
	fi
}

# ---------------------------------------------------------------- cases
# name|expected|reference A|reference B
CASES=(
	"base-same|SAME|oci:$OCI/base-1|oci:$OCI/base-2"
	"base-pkg|CHANGED|oci:$OCI/base-1|oci:$OCI/base-pkg"
	"base-upgrade|CHANGED|oci:$OCI/base-2|oci:$OCI/base-upg"
	"pyapp-same|SAME|oci:$OCI/pyapp-a|oci:$OCI/pyapp-b"
	"pyapp-rebased|SAME|oci:$OCI/pyapp-a|oci:$OCI/pyapp-rebased"
	"pyapp-byte|CHANGED|oci:$OCI/pyapp-a|oci:$OCI/pyapp-byte"
	"pyapp-basepkg|CHANGED|oci:$OCI/pyapp-a|oci:$OCI/pyapp-basepkg"
	"pyapp-baseupg|CHANGED|oci:$OCI/pyapp-a|oci:$OCI/pyapp-baseupg"
	"aptlists-same|SAME|oci:$OCI/aptlists-a|oci:$OCI/aptlists-b"
	"aptlists-docker-archive|SAME|oci:$OCI/aptlists-a|docker-archive:$ARCHIVES/aptlists-b.tar"
	"aptlists-zstd|SAME|oci:$OCI/aptlists-a|oci:$OCI/aptlists-b-zstd"
	"aptlists-env|CHANGED|oci:$OCI/aptlists-a|oci:$OCI/aptlists-env"
	"java-same|SAME|oci:$OCI/java-a|oci:$OCI/java-b"
	"java-byte|CHANGED|oci:$OCI/java-a|oci:$OCI/java-byte"
	"users-same|SAME|oci:$OCI/users-a|oci:$OCI/users-b"
	"users-zstd|SAME|oci:$OCI/users-a|oci:$OCI/users-b-zstd"
	"users-nextday|SAME|oci:$OCI/users-nextday|oci:$OCI/users-a"
	"users-mode|CHANGED|oci:$OCI/users-a|oci:$OCI/users-mode"
	"ruby-same|SAME|oci:$OCI/ruby-a|oci:$OCI/ruby-b"
	"ruby-csrc|CHANGED|oci:$OCI/ruby-a|oci:$OCI/ruby-csrc"
	"node-same|SAME|oci:$OCI/node-a|oci:$OCI/node-b"
	"node-lock|CHANGED|oci:$OCI/node-a|oci:$OCI/node-lock"
	"boot-same|SAME|oci:$OCI/boot-a|oci:$OCI/boot-b"
	"boot-class|CHANGED|oci:$OCI/boot-a|oci:$OCI/boot-class"
	"bench600-same|SAME|oci:$OCI/bench600-a|oci:$OCI/bench600-b"
)

# expected_packages CASE: the package changes CASE must be explained by, one
# "ecosystem name change before after" line each (ecosystem "deb" also matches
# "dpkg"), or nothing when the case has no package expectation. Only these
# packages may be reported.
expected_packages() {
	case $1 in
	base-upgrade) [[ -s $WORK/base/upg.versions ]] && printf 'deb %s upgraded %s\n' "$BASE_UPGRADE_PKG" "$(cat "$WORK/base/upg.versions")" ;;
	node-lock) printf 'npm ms downgraded 2.1.3 2.1.2\n' ;;
	esac
	return 0
}

# check_packages CASE A B: when CASE has a package expectation, run
# `imgver diff --format json` and check its package report. Prints "ok",
# "skipped: ..." or "MISMATCH: ..."; returns 1 on a mismatch.
check_packages() {
	local name=$1 a=$2 b=$3 want json got
	want=$(expected_packages "$name")
	[[ -n $want ]] || return 0
	json=$LOGS/diff-$name.json
	(cd "$WORK" && "$IMGVER" diff --format json "$a" "$b") >"$json" 2>"$LOGS/diff-$name.json.err" || true
	if ! jq -e 'has("packages")' "$json" >/dev/null 2>&1; then
		echo "skipped: this imgver reports no packages"
		return 0
	fi
	# Every reported change, as "ecosystem name change before after", deb
	# for dpkg.
	got=$(jq -r '.packages[] | [(if .ecosystem == "dpkg" then "deb" else .ecosystem end), .name, .change, (.before // ""), (.after // "")] | join(" ")' "$json" | sort)
	if [[ $got == "$(sort <<<"$want")" ]]; then
		echo "ok: $(tr '\n' ';' <<<"$got" | sed 's/;$//')"
		return 0
	fi
	echo "MISMATCH: want [$(tr '\n' ';' <<<"$want")] got [$(tr '\n' ';' <<<"$got")], see $json"
	return 1
}

SELECTED=("$@")
# Groups built only when named: they are there for scripts/bench.sh.
ON_REQUEST=bench600
# want PREFIX: is any selected case (or, with none selected, any case but the
# ON_REQUEST ones) in the group PREFIX?
want() {
	((${#SELECTED[@]} == 0)) && [[ $1 != "$ON_REQUEST"* ]] && return 0
	local s
	for s in "${SELECTED[@]}"; do
		[[ $s == "$1"* || $1 == "$s"* ]] && return 0
	done
	return 1
}
selected_case() {
	((${#SELECTED[@]} == 0)) && [[ $1 != "$ON_REQUEST"* ]] && return 0
	local s
	for s in "${SELECTED[@]}"; do
		[[ $1 == "$s"* ]] && return 0
	done
	return 1
}

build_imgver() {
	if [[ -n ${IMGVER:-} ]]; then
		[[ -x $IMGVER ]] || die "IMGVER=$IMGVER is not executable"
		return
	fi
	IMGVER=$WORK/imgver
	log "building imgver from ${IMGVER_SRC:-$REPO}"
	go -C "${IMGVER_SRC:-$REPO}" build -o "$IMGVER" ./cmd/imgver || die "go build failed"
}

# An imgver without a diff command prints its root help for "imgver diff A B"
# and exits 0, which would read as SAME: make sure diff exists.
check_imgver() {
	"$IMGVER" diff --help 2>/dev/null | grep -q '^  imgver diff ' ||
		die "$IMGVER has no 'diff' command (set IMGVER=path, or IMGVER_SRC=dir of a tree that has it, e.g. the detect worktree)"
}

run_diffs() {
	local line name expected a b verdict rc t0 secs failed=0 out pkgs
	local rows=()
	# Every verdict from the layers of this run: no layer summary a run of
	# another imgver cached (its rules may differ), none in the user's cache.
	IMGVER_CACHE_DIR=$(mktemp -d)
	export IMGVER_CACHE_DIR
	trap 'rm -rf "$IMGVER_CACHE_DIR"' EXIT
	for line in "${CASES[@]}"; do
		IFS='|' read -r name expected a b <<<"$line"
		selected_case "$name" || continue
		if [[ $name == *upg* && -e $WORK/base/upg.none ]]; then
			rows+=("$(printf '%-24s %-8s %-10s %7s  %s' "$name" "$expected" skipped - "no newer $BASE_UPGRADE_PKG than the base's")")
			continue
		fi
		out=$LOGS/diff-$name.txt
		t0=$(date +%s.%N)
		set +e
		# From $WORK: no images.hcl of the caller's tree applies its ignores.
		(cd "$WORK" && "$IMGVER" diff "$a" "$b") >"$out" 2>&1
		rc=$?
		set -e
		secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
		# The exit status decides; the first line of the report must agree.
		case $rc:$(head -1 "$out") in
		0:SAME*) verdict=SAME ;;
		1:CHANGED*) verdict=CHANGED ;;
		*) verdict="ERROR($rc)" ;;
		esac
		[[ $verdict == "$expected" ]] || failed=1
		rows+=("$(printf '%-24s %-8s %-10s %7s  %s' "$name" "$expected" "$verdict" "$secs" \
			"$([[ $verdict == "$expected" ]] && echo ok || echo "MISMATCH see $out")")")
		if [[ -n $(expected_packages "$name") ]]; then
			t0=$(date +%s.%N)
			pkgs=$(check_packages "$name" "$a" "$b") || failed=1
			secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
			rows+=("$(printf '%-24s %-8s %-10s %7s  %s' "  packages" - - "$secs" "$pkgs")")
		fi
	done
	printf '\n%-24s %-8s %-10s %7s\n' case expected verdict seconds
	printf '%s\n' "${rows[@]}"
	if ((${#BUILD_SECONDS[@]})); then
		printf '\nbuild seconds:'
		local k
		for k in $(printf '%s\n' "${!BUILD_SECONDS[@]}" | sort); do printf ' %s=%s' "$k" "${BUILD_SECONDS[$k]}"; done
		printf '\n'
	fi
	return $failed
}

main() {
	ensure_tools
	if [[ $SKIP_DIFF != 1 ]]; then
		build_imgver
		check_imgver
	fi
	if [[ $SKIP_BUILD != 1 ]]; then
		make_base 1
		# Only the base and pyapp cases use the other bases.
		if want base || want pyapp; then
			make_base 2
			make_base pkg --include="$BASE_EXTRA_PKG"
			make_base_upgraded
		fi
		build_all
		# Intermediate layers of earlier runs.
		"${BUILDAH[@]}" rmi --prune >/dev/null 2>&1 || true
	fi
	[[ $SKIP_DIFF == 1 ]] && { log "SKIP_DIFF=1: images are in $OCI"; exit 0; }
	if run_diffs; then
		log "all verdicts as expected"
	else
		log "some verdicts differ from the expectation"
		exit 1
	fi
}

main
