package detect

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/daemon"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/imgver/imgver/internal/clip"
)

// Transports understood in a reference, in skopeo's syntax.
const (
	TransportOCI           = "oci"
	TransportDockerArchive = "docker-archive"
	TransportDockerDaemon  = "docker-daemon"
	TransportDocker        = "docker"
)

// knownTransports are skopeo transports: a reference starting with one of
// them followed by ":" is not a registry reference.
var knownTransports = map[string]bool{
	TransportOCI: true, TransportDockerArchive: true, TransportDockerDaemon: true,
	TransportDocker: true, "oci-archive": true, "dir": true, "containers-storage": true, "sif": true,
}

// Reference is a parsed image reference.
type Reference struct {
	// Transport is one of the Transport constants.
	Transport string
	// Path is the directory (oci) or file (docker-archive), absolute.
	Path string
	// Tag selects an image in an OCI layout or docker archive; Digest one
	// in an OCI layout.
	Tag, Digest string
	// Name is the registry or daemon reference.
	Name name.Reference
	raw  string
}

// String returns the reference as given.
func (r *Reference) String() string { return r.raw }

// ParseError is returned for a reference that cannot be parsed.
type ParseError struct {
	Ref string
	Err error
}

// Error says which reference could not be parsed and why.
func (e *ParseError) Error() string {
	return fmt.Sprintf("parsing image reference %s: %s", clip.Quote(e.Ref), clip.Reason(e.Err, e.Ref))
}

// Unwrap returns the cause.
func (e *ParseError) Unwrap() error { return e.Err }

// NotFoundError is returned when the image a reference names does not
// exist: unknown in the registry (404, MANIFEST_UNKNOWN, NAME_UNKNOWN), no
// such OCI layout or archive, or no such tag in it.
type NotFoundError struct {
	Ref string
	Err error
}

// Error names the missing image and the cause.
func (e *NotFoundError) Error() string {
	return fmt.Sprintf("image %q not found: %v", e.Ref, e.Err)
}

// Unwrap returns the cause (a *transport.Error for a registry).
func (e *NotFoundError) Unwrap() error { return e.Err }

// IsNotFound reports whether err says that an image does not exist.
func IsNotFound(err error) bool {
	var nf *NotFoundError
	return errors.As(err, &nf)
}

// ParseReference parses ref in skopeo's transport syntax: oci:DIR[:TAG],
// oci:DIR@DIGEST, docker-archive:FILE[:TAG], docker-daemon:NAME:TAG,
// docker://REF or a bare registry reference. Relative paths are resolved
// against baseDir (the working directory when empty).
func ParseReference(ref, baseDir string) (*Reference, error) {
	r := &Reference{raw: ref}
	fail := func(err error) (*Reference, error) { return nil, &ParseError{Ref: ref, Err: err} }
	if ref == "" {
		return fail(errors.New("empty reference"))
	}
	transport, rest, ok := strings.Cut(ref, ":")
	if !ok || !knownTransports[transport] || strings.HasPrefix(rest, "//") && transport != TransportDocker {
		transport, rest = TransportDocker, "//"+ref
	}
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return filepath.Clean(p)
		}
		if baseDir == "" {
			if a, err := filepath.Abs(p); err == nil {
				return a
			}
		}
		return filepath.Join(baseDir, p)
	}
	r.Transport = transport
	switch transport {
	case TransportOCI:
		p, sel := rest, ""
		if i := strings.Index(rest, "@"); i >= 0 {
			p, r.Digest = rest[:i], rest[i+1:]
		} else if before, after, ok := strings.Cut(rest, ":"); ok {
			p, sel = before, after
			if strings.HasPrefix(sel, "sha256:") {
				r.Digest = sel
			} else {
				r.Tag = sel
			}
		}
		if r.Digest != "" {
			if _, err := v1.NewHash(r.Digest); err != nil {
				return fail(fmt.Errorf("bad digest %q: %w", r.Digest, err))
			}
		}
		if p == "" {
			return fail(errors.New("oci: needs a directory"))
		}
		r.Path = abs(p)
	case TransportDockerArchive:
		p, tag, _ := strings.Cut(rest, ":")
		if p == "" {
			return fail(errors.New("docker-archive: needs a file"))
		}
		r.Path, r.Tag = abs(p), tag
	case TransportDockerDaemon:
		n, err := name.ParseReference(rest)
		if err != nil {
			return fail(err)
		}
		r.Name = n
	case TransportDocker:
		rest, ok := strings.CutPrefix(rest, "//")
		if !ok {
			return fail(errors.New(`docker: wants "docker://REF"`))
		}
		n, err := name.ParseReference(rest)
		if err != nil {
			return fail(err)
		}
		r.Name = n
	default:
		return fail(fmt.Errorf("transport %q is not supported (use oci:, docker-archive:, docker-daemon: or docker://)", transport))
	}
	return r, nil
}

// source is an opened reference: one image or an index.
type source struct {
	ref   *Reference
	index v1.ImageIndex
	img   v1.Image
	// digest is the top-level manifest digest, when known cheaply.
	digest v1.Hash
	// compressed says layers are read through Compressed() (OCI layout,
	// registry); otherwise through Uncompressed() (archive, daemon).
	compressed bool
	// verify says blobs must be checked against their digest here (a
	// registry read is checked by ggcr).
	verify bool
	// noFinder: never ask the SummaryFinder (Summarize).
	noFinder bool
}

// platformImage is one image of a source.
type platformImage struct {
	src      *source
	platform string
	img      v1.Image
	digest   v1.Hash // zero when not known cheaply
	cfg      *v1.ConfigFile
	diffIDs  []v1.Hash
	layers   []v1.Layer
	// desc is the manifest's descriptor in its index (zero for an image
	// read alone).
	desc v1.Descriptor
	// origins is the set (1<<origin) of where the layers asked for on
	// behalf of this image came from; summaryOnce guards the one look for
	// its summary; warnings says why a summary was not used.
	origins     atomic.Uint32
	summaryOnce sync.Once
	mu          sync.Mutex
	warnings    []string
}

func (c *Comparer) open(ctx context.Context, ref string) (*source, error) {
	r, err := ParseReference(ref, c.o.baseDir)
	if err != nil {
		return nil, err
	}
	s := &source{ref: r}
	switch r.Transport {
	case TransportOCI:
		if err := s.openLayout(); err != nil {
			return nil, err
		}
	case TransportDockerArchive:
		var tag *name.Tag
		if r.Tag != "" {
			t, err := name.NewTag(r.Tag)
			if err != nil {
				return nil, &ParseError{Ref: ref, Err: err}
			}
			tag = &t
		}
		if _, err := os.Stat(r.Path); errors.Is(err, fs.ErrNotExist) {
			return nil, &NotFoundError{Ref: ref, Err: err}
		}
		img, err := tarball.ImageFromPath(r.Path, tag)
		if err != nil {
			return nil, fmt.Errorf("reading %q: %w", ref, err)
		}
		s.img = img
	case TransportDockerDaemon:
		img, err := daemon.Image(r.Name, daemon.WithContext(ctx))
		if err != nil {
			return nil, fmt.Errorf("reading %q: %w", ref, err)
		}
		s.img = img
	case TransportDocker:
		opts := append([]remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}, c.o.remoteOpts...)
		desc, err := remote.Get(r.Name, opts...)
		if err != nil {
			if isRegistryNotFound(err) {
				return nil, &NotFoundError{Ref: ref, Err: err}
			}
			return nil, fmt.Errorf("reading %q: %w", ref, err)
		}
		s.compressed = true
		s.digest = desc.Digest
		if desc.MediaType.IsIndex() {
			s.index, err = desc.ImageIndex()
		} else {
			s.img, err = desc.Image()
		}
		if err != nil {
			return nil, fmt.Errorf("reading %q: %w", ref, err)
		}
	}
	return s, nil
}

func isRegistryNotFound(err error) bool {
	var te *transport.Error
	if !errors.As(err, &te) {
		return false
	}
	if te.StatusCode == 404 {
		return true
	}
	for _, d := range te.Errors {
		if d.Code == transport.ManifestUnknownErrorCode || d.Code == transport.NameUnknownErrorCode {
			return true
		}
	}
	return false
}

func (s *source) openLayout() error {
	r := s.ref
	if fi, err := os.Stat(filepath.Join(r.Path, "index.json")); err != nil || fi.IsDir() {
		if err == nil {
			err = errors.New("index.json is a directory")
		}
		if errors.Is(err, fs.ErrNotExist) {
			return &NotFoundError{Ref: r.raw, Err: errors.New("no OCI layout (index.json) there")}
		}
		return fmt.Errorf("reading %q: %w", r.raw, err)
	}
	lp, err := layout.FromPath(r.Path)
	if err != nil {
		return fmt.Errorf("reading %q: %w", r.raw, err)
	}
	idx, err := lp.ImageIndex()
	if err != nil {
		return fmt.Errorf("reading %q: %w", r.raw, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return fmt.Errorf("reading %q: %w", r.raw, err)
	}
	var found []v1.Descriptor
	for _, d := range im.Manifests {
		switch {
		case r.Digest != "":
			if d.Digest.String() == r.Digest {
				found = append(found, d)
			}
		case r.Tag != "":
			rn := d.Annotations["org.opencontainers.image.ref.name"]
			if rn == r.Tag || strings.HasSuffix(rn, ":"+r.Tag) {
				found = append(found, d)
			}
		default:
			found = append(found, d)
		}
	}
	switch {
	case len(found) == 0 && (r.Tag != "" || r.Digest != ""):
		return &NotFoundError{Ref: r.raw, Err: errors.New("no such image in the OCI layout")}
	case len(found) == 0:
		return fmt.Errorf("reading %q: the OCI layout holds no image", r.raw)
	case len(found) > 1:
		return fmt.Errorf("reading %q: the OCI layout holds %d images; name one with :TAG or @DIGEST", r.raw, len(found))
	}
	d := found[0]
	s.compressed, s.verify, s.digest = true, true, d.Digest
	if d.MediaType.IsIndex() {
		s.index, err = idx.ImageIndex(d.Digest)
	} else {
		s.img, err = idx.Image(d.Digest)
	}
	if err != nil {
		return fmt.Errorf("reading %q: %w", r.raw, err)
	}
	return nil
}

// isAttestation reports whether d is a build attestation, not an image.
func isAttestation(d v1.Descriptor) bool {
	if d.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
		return true
	}
	return d.Platform != nil && d.Platform.OS == "unknown" && d.Platform.Architecture == "unknown"
}

// images returns the source's images by platform key; want, when set,
// keeps only that platform.
func (s *source) images(want *v1.Platform) (map[string]*platformImage, error) {
	out := map[string]*platformImage{}
	if s.img != nil {
		pi, err := s.load(s.img, s.digest)
		if err != nil {
			return nil, err
		}
		if want != nil && pi.cfg.OS != "" && pi.platform != platformKey(want.OS, want.Architecture, want.Variant) {
			return nil, fmt.Errorf("reading %q: image is for %s, not %s", s.ref, pi.platform, platformKey(want.OS, want.Architecture, want.Variant))
		}
		out[pi.platform] = pi
		return out, nil
	}
	if err := s.walkIndex(s.index, want, out); err != nil {
		return nil, err
	}
	if want != nil && len(out) == 0 {
		return nil, fmt.Errorf("reading %q: no image for %s", s.ref, platformKey(want.OS, want.Architecture, want.Variant))
	}
	return out, nil
}

func (s *source) walkIndex(idx v1.ImageIndex, want *v1.Platform, out map[string]*platformImage) error {
	im, err := idx.IndexManifest()
	if err != nil {
		return fmt.Errorf("reading index of %q: %w", s.ref, err)
	}
	for _, d := range im.Manifests {
		if isAttestation(d) {
			continue
		}
		if d.MediaType.IsIndex() {
			child, err := idx.ImageIndex(d.Digest)
			if err != nil {
				return fmt.Errorf("reading index %s of %q: %w", d.Digest, s.ref, err)
			}
			if err := s.walkIndex(child, want, out); err != nil {
				return err
			}
			continue
		}
		if !d.MediaType.IsImage() && d.MediaType != "" {
			continue
		}
		if want != nil && d.Platform != nil && platformKey(d.Platform.OS, d.Platform.Architecture, d.Platform.Variant) != platformKey(want.OS, want.Architecture, want.Variant) {
			continue
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			return fmt.Errorf("reading manifest %s of %q: %w", d.Digest, s.ref, err)
		}
		pi, err := s.load(img, d.Digest)
		if err != nil {
			return err
		}
		pi.desc = d
		if d.Platform != nil {
			pi.platform = platformKey(d.Platform.OS, d.Platform.Architecture, d.Platform.Variant)
		}
		if want != nil && pi.platform != platformKey(want.OS, want.Architecture, want.Variant) {
			continue
		}
		if _, dup := out[pi.platform]; dup {
			return fmt.Errorf("reading %q: two images for platform %s", s.ref, pi.platform)
		}
		out[pi.platform] = pi
	}
	return nil
}

func (s *source) load(img v1.Image, digest v1.Hash) (*platformImage, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading config of %q: %w", s.ref, err)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("reading layers of %q: %w", s.ref, err)
	}
	if len(layers) != len(cf.RootFS.DiffIDs) {
		return nil, fmt.Errorf("reading %q: %d layers but %d diff_ids in the config", s.ref, len(layers), len(cf.RootFS.DiffIDs))
	}
	return &platformImage{
		src:      s,
		platform: platformKey(cf.OS, cf.Architecture, cf.Variant),
		img:      img,
		digest:   digest,
		cfg:      cf,
		diffIDs:  cf.RootFS.DiffIDs,
		layers:   layers,
	}, nil
}

// sortedPlatforms returns the keys of m in order.
func sortedPlatforms(m map[string]*platformImage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
