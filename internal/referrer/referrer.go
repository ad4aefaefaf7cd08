package referrer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// MaxSize is the largest blob Fetch reads (64 MiB): an artifact that says
// it is larger is invalid, and nothing of it is read.
const MaxSize = 64 << 20

// emptyJSON is the empty config of an artifact (the OCI image spec's
// "empty descriptor"): the two bytes "{}".
var (
	emptyJSON       = []byte("{}")
	emptyMediaType  = "application/vnd.oci.empty.v1+json"
	emptyDescriptor = v1.Descriptor{MediaType: types.MediaType(emptyMediaType), Size: int64(len(emptyJSON)), Digest: sha256Hash(emptyJSON)}
)

// Artifact is what is attached to a subject: one blob and what it is.
type Artifact struct {
	// ArtifactType says what the artifact is, e.g.
	// "application/vnd.imgver.summary.v1".
	ArtifactType string
	// MediaType is the media type of the blob.
	MediaType types.MediaType
	// Data is the blob.
	Data []byte
	// Annotations are the artifact manifest's annotations; the referrers
	// list repeats them, so an artifact can be chosen without reading it.
	Annotations map[string]string
}

// InvalidError is an artifact that is not what Fetch expects: it names
// another subject, has another type, is not one blob, is too large, or its
// blob is not what its manifest says.
type InvalidError struct {
	Digest v1.Hash
	Reason string
}

func (e *InvalidError) Error() string {
	return fmt.Sprintf("artifact %s: %s", e.Digest, e.Reason)
}

// sha256Hash is the sha256 digest of b.
func sha256Hash(b []byte) v1.Hash {
	s := sha256.Sum256(b)
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(s[:])}
}

// manifest returns the artifact manifest of a attached to subject, and
// its descriptor as a referrers list names it.
func manifest(subject v1.Descriptor, a Artifact) ([]byte, v1.Descriptor, error) {
	if a.ArtifactType == "" || a.MediaType == "" {
		return nil, v1.Descriptor{}, fmt.Errorf("attaching to %s: an artifact needs an artifact type and a media type", subject.Digest)
	}
	sub := v1.Descriptor{MediaType: subject.MediaType, Size: subject.Size, Digest: subject.Digest}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  a.ArtifactType,
		Config:        emptyDescriptor,
		Layers:        []v1.Descriptor{{MediaType: a.MediaType, Size: int64(len(a.Data)), Digest: sha256Hash(a.Data)}},
		Annotations:   a.Annotations,
		Subject:       &sub,
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, v1.Descriptor{}, err
	}
	return b, v1.Descriptor{MediaType: types.OCIManifestSchema1, Size: int64(len(b)), Digest: sha256Hash(b),
		ArtifactType: a.ArtifactType, Annotations: a.Annotations}, nil
}

// rawManifest is a manifest to remote.Put as it is.
type rawManifest struct{ b []byte }

func (r rawManifest) RawManifest() ([]byte, error)        { return r.b, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

// MaxPuts bounds how often Attach puts one artifact: once, and again each
// time the subject's referrers list turns out not to name it.
const MaxPuts = 8

// maxWait bounds the growing wait between two puts of Attach (before its
// jitter).
const maxWait = 10 * time.Second

// ErrNotListed is wrapped by Attach when the artifact is stored but the
// subject's referrers list still does not name it after MaxPuts puts.
var ErrNotListed = errors.New("the artifact is still not listed")

// Attach stores a in repo as an artifact whose subject is the manifest
// subject (of repo), and returns the artifact's descriptor. pushed is false
// when the subject already listed the same artifact: nothing was written.
// Otherwise the blobs the registry lacks are uploaded, the artifact
// manifest is put by digest and, on a registry without the referrers API,
// the referrers index of the subject (tag sha256-<hex>) gets it.
//
// Attach returns only once the subject's referrers list names the
// artifact: a concurrent writer of the referrers index may have dropped it
// (see the package doc), so after each put Attach waits about as long as
// the put took, reads the list and, when the artifact is missing, puts it
// again, waiting twice as long each time (up to 10s), jittered. After
// MaxPuts puts the error wraps ErrNotListed: the artifact is in the
// registry, unlisted, and the next Attach puts it again. A done ctx ends
// the waiting with its error.
func Attach(ctx context.Context, repo name.Repository, subject v1.Descriptor, a Artifact, opts ...remote.Option) (desc v1.Descriptor, pushed bool, err error) {
	raw, desc, err := manifest(subject, a)
	if err != nil {
		return v1.Descriptor{}, false, err
	}
	opts = append(slices.Clip(opts), remote.WithContext(ctx))
	sub := repo.Digest(subject.Digest.String())
	listed := func() (bool, error) {
		have, err := List(ctx, sub, a.ArtifactType, opts...)
		return slices.ContainsFunc(have, func(d v1.Descriptor) bool { return d.Digest == desc.Digest }), err
	}
	switch ok, err := listed(); {
	case err != nil:
		return v1.Descriptor{}, false, err
	case ok:
		return desc, false, nil
	}
	p, err := remote.NewPusher(opts...)
	if err != nil {
		return v1.Descriptor{}, false, err
	}
	for try := range MaxPuts {
		began := time.Now()
		// Distribution 2.8 does not write a blob's link atomically: while a
		// concurrent writer uploads the same blob (the empty config every
		// artifact shares), a put may find it unknown. Upload and put again.
		perr := put(ctx, p, repo, raw, a)
		if perr != nil && (!blobUnknown(perr) || try == MaxPuts-1) {
			return v1.Descriptor{}, false, fmt.Errorf("putting the artifact of %s: %w", sub, perr)
		}
		// Another writer that read the referrers index before this put
		// writes it back without the artifact within one read-modify-write
		// of the index, which is shorter than this whole put: wait at least
		// as long before reading the list.
		if err := sleep(ctx, jitter(min(time.Since(began)<<try, maxWait))); err != nil {
			return v1.Descriptor{}, false, fmt.Errorf("waiting to check the referrers of %s: %w", sub, err)
		}
		if perr != nil {
			continue
		}
		switch ok, err := listed(); {
		case err != nil:
			return v1.Descriptor{}, false, err
		case ok:
			return desc, true, nil
		}
	}
	return v1.Descriptor{}, false, fmt.Errorf("checking the referrers of %s after %d puts of artifact %s: %w", sub, MaxPuts, desc.Digest, ErrNotListed)
}

// put uploads the blobs of the artifact a that the registry lacks and puts
// its manifest raw by digest.
func put(ctx context.Context, p *remote.Pusher, repo name.Repository, raw []byte, a Artifact) error {
	for _, l := range []v1.Layer{static.NewLayer(emptyJSON, types.MediaType(emptyMediaType)), static.NewLayer(a.Data, a.MediaType)} {
		if err := p.Upload(ctx, repo, l); err != nil {
			return err
		}
	}
	return p.Put(ctx, repo.Digest(sha256Hash(raw).String()), rawManifest{raw})
}

// blobUnknown tells whether the registry refused a manifest for a blob it
// does not know (or could not read).
func blobUnknown(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && slices.ContainsFunc(te.Errors, func(d transport.Diagnostic) bool {
		return d.Code == transport.ManifestBlobUnknownErrorCode || d.Code == transport.BlobUnknownErrorCode
	})
}

// jitter returns a random duration in [d, 2d), so that writers that keep
// dropping each other's artifacts stop doing it in step.
func jitter(d time.Duration) time.Duration {
	return d + rand.N(max(d, 1))
}

// sleep waits for d, or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// List returns the descriptors of the artifacts of artifactType whose
// subject is the manifest subject, as the registry's referrers API or the
// referrers index (tag sha256-<hex>) lists them: with their annotations.
// None is no error. A registry that lists an artifact under its config's
// media type instead of its artifactType (older implementations of the API,
// go-containerregistry's own registry) lists it under the empty config's
// media type: those are listed too, and Fetch checks their type.
func List(ctx context.Context, subject name.Digest, artifactType string, opts ...remote.Option) ([]v1.Descriptor, error) {
	idx, err := remote.Referrers(subject, append(slices.Clip(opts), remote.WithContext(ctx))...)
	if err != nil {
		return nil, fmt.Errorf("listing the referrers of %s: %w", subject, err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("listing the referrers of %s: %w", subject, err)
	}
	var out []v1.Descriptor
	for _, d := range m.Manifests {
		switch d.ArtifactType {
		case emptyMediaType:
			d.ArtifactType = artifactType
			fallthrough
		case artifactType:
			out = append(out, d)
		}
	}
	return out, nil
}

// Fetch reads the artifact desc (from List) of the manifest subject. An
// artifact that is not one blob of desc's artifact type referring to
// subject, or whose blob is larger than MaxSize or not what its manifest
// says, is an *InvalidError.
func Fetch(ctx context.Context, subject name.Digest, desc v1.Descriptor, opts ...remote.Option) (*Artifact, error) {
	opts = append(slices.Clip(opts), remote.WithContext(ctx))
	ref := subject.Context().Digest(desc.Digest.String())
	got, err := remote.Get(ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("fetching artifact %s: %w", ref, err)
	}
	var m v1.Manifest
	if err := json.Unmarshal(got.Manifest, &m); err != nil {
		return nil, &InvalidError{desc.Digest, "not a manifest: " + err.Error()}
	}
	switch {
	case m.Subject == nil || m.Subject.Digest.String() != subject.DigestStr():
		return nil, &InvalidError{desc.Digest, "it does not name " + subject.DigestStr() + " as its subject"}
	case desc.ArtifactType != "" && m.ArtifactType != desc.ArtifactType:
		return nil, &InvalidError{desc.Digest, fmt.Sprintf("its type is %q, not %q", m.ArtifactType, desc.ArtifactType)}
	case len(m.Layers) != 1:
		return nil, &InvalidError{desc.Digest, fmt.Sprintf("it has %d blobs, not one", len(m.Layers))}
	case m.Layers[0].Size < 0 || m.Layers[0].Size > MaxSize:
		return nil, &InvalidError{desc.Digest, fmt.Sprintf("its blob of %d bytes is not between 0 and %d", m.Layers[0].Size, MaxSize)}
	}
	l := m.Layers[0]
	b, err := fetchBlob(ref.Context().Digest(l.Digest.String()), l.Size, opts)
	if err != nil {
		return nil, fmt.Errorf("fetching the blob of artifact %s: %w", ref, err)
	}
	if int64(len(b)) != l.Size || sha256Hash(b) != l.Digest {
		return nil, &InvalidError{desc.Digest, fmt.Sprintf("its blob is not the %d bytes of %s its manifest names", l.Size, l.Digest)}
	}
	return &Artifact{ArtifactType: m.ArtifactType, MediaType: l.MediaType, Data: b, Annotations: m.Annotations}, nil
}

// fetchBlob reads at most size+1 bytes of the blob ref: enough to tell a
// blob of the wrong size without reading an unbounded one.
func fetchBlob(ref name.Digest, size int64, opts []remote.Option) ([]byte, error) {
	l, err := remote.Layer(ref, opts...)
	if err != nil {
		return nil, err
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, io.LimitReader(rc, size+1)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
