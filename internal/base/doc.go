// Package base tracks the digests of the base images named in the FROM
// instructions of each image's Dockerfile, to catch an upstream image rebuilt
// under the same tag, and pins them in place.
//
// # Reading a Dockerfile
//
// A Dockerfile is parsed with BuildKit's own parser, so that comments, line
// continuations (with the escape token of a "# escape=" directive), CRLF line
// endings, a byte order mark and lowercase instructions are read exactly as a
// build reads them. Every FROM of every stage is kept, in order:
//
//   - The global ARGs (those before the first FROM) are substituted, with
//     their defaults, by BuildKit's shell lexer: FROM python:${V}-slim with
//     ARG V=3.13 checks python:3.13-slim. An ARG without a default is
//     empty, as in a build without --build-arg; when that leaves no valid
//     reference, the error says which ARG has no default. ARGs inside a stage are not seen by FROM,
//     as in a build. Build arguments given on a command line are not known
//     here: only the defaults count.
//   - FROM name, where name is the AS name of an earlier stage (compared
//     without case, as BuildKit does), is a stage, not an image. FROM
//     scratch is the empty image. Neither is checked.
//   - --platform selects the image of a multi-platform index. It may use the
//     global ARGs and BuildKit's automatic platform ARGs; $BUILDPLATFORM and
//     $TARGETPLATFORM (and their OS, ARCH and VARIANT parts) both stand for
//     the platform given by WithPlatform (default linux/amd64), as on a
//     builder of that platform building for itself. A FROM without
//     --platform is pulled for that platform too. As in BuildKit, the
//     automatic ARGs are also seen by the image name (FROM x-${TARGETARCH})
//     and by the defaults of global ARGs; Dockerfile.Froms, parsed without a
//     platform, shows them as unset. FROM build-${TARGETARCH} that names an
//     earlier stage once they are substituted is a stage, not checked.
//
// # Checking a reference
//
// Each external reference is resolved in its registry with ggcr (plain http
// for localhost and 127.0.0.1, as ggcr's name package decides; credentials
// from authn.DefaultKeychain). The tag's current digest is that of an image
// index for a multi-platform tag, or of a single manifest. For an index, the
// digest of the platform's manifest inside it is resolved too, matched as
// containerd matches platforms: linux/arm means linux/arm/v7, linux/arm64/v8
// is linux/arm64, an exact match wins over one that only leaves the variant
// open. Then:
//
//   - pinned-current: the FROM holds a digest (tag@sha256:...) and the tag
//     points to it now. Result.Match says which digest the pin is: the
//     index ("index"), the single manifest ("manifest"), or the platform's
//     manifest inside the current index ("platform"). A pin of the
//     platform's manifest stays current when the index changes only for
//     other platforms: an index that gains an architecture is not a
//     rebuild. A pin of an earlier index is looked up too: when that index's
//     manifest for the platform is the current one (in the current index,
//     or the tag's single manifest now), the match is
//     "index-moved" (current for this platform; update refreshes the pin).
//   - pinned-stale: the FROM holds a digest, but the tag now points to a
//     different image for the platform: upstream rebuilt or moved it. Both
//     digests are reported, with the creation time in the new image's
//     config when the registry serves it.
//   - unpinned: the FROM names a tag without a digest. What a build gets
//     can change under it at any time.
//   - digest-only: FROM name@sha256:... without a tag. There is no tag to
//     compare with, so staleness cannot be checked.
//   - error: the reference cannot be parsed or resolved (no such tag, no
//     image for the platform in the index, an ARG without a default, a
//     registry error). The message names the image, Dockerfile:line and
//     the reference.
//
// A reference without a tag is checked as the implied "latest". Beside its
// status, a reference gets a mutable-tag warning when its tag is "latest" or
// a shared tag with fewer than three version components in its leading
// version: 20, 2.7, 3.13-slim (two) and bookworm-slim (none) move to each new
// patch release, while 3.13.1-slim names one.
//
// # Updating
//
// Update rewrites the reference of every unpinned, stale or index-moved FROM
// to name:tag@sha256:<digest> where the digest is what the tag points to
// now: for a multi-platform tag, the digest of the index, as Renovate pins
// it, so that the pin is valid for every platform and "docker pull
// name:tag@digest" works on each. The tag stays as the human-readable part
// (an implied tag is written as :latest). A pin that is current, including a
// pin of a platform's manifest, is left as it is.
//
// Only the bytes of the reference change: comments, spacing, continuations,
// line endings and every other line stay byte-identical. A reference that is
// not written literally on one line cannot be pinned in place: one built
// from ARGs (pin it by changing the ARG), a quoted or escaped one, or one
// split over a line continuation. Such a FROM is reported with its reason
// and left alone.
//
// Every reference is resolved before anything is written, and a reference
// that cannot be resolved fails the whole update with an *UnresolvedError,
// so that no Dockerfile changes. Files are written atomically (a temporary
// file renamed over the old one, its mode kept; a symlinked Dockerfile stays
// a symlink and its target is rewritten).
//
// # One Resolver per run
//
// A Resolver parses each Dockerfile once and asks the registry about each
// tag (and digest) once, whoever asks: Resolve (imgver base check), Update
// (imgver base update), and, in the CI flow (internal/flow), Stale (a base
// rebuilt upstream: a result with StatusPinnedStale), FinalBase (the image
// the final stage is built from, following stage aliases) and DiffIDs (that
// base's layers for a platform, from its config), which tell a change of
// the base from a change of the image's own layers.
package base
