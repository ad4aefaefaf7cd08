package detect

import (
	"context"
	"fmt"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Artifact is an opened image reference as it is stored: one image or an
// index, to be pushed by manifest and blobs.
type Artifact struct {
	// Ref is the reference as given.
	Ref string
	// Image is the image; nil when the reference names an index.
	Image v1.Image
	// Index is the index; nil when the reference names one image.
	Index v1.ImageIndex
	// Digest is the manifest digest a push of Taggable gives.
	Digest v1.Hash
	// Reencoded is set when the manifest is made by go-containerregistry
	// (docker-archive, docker-daemon): layers are compressed on the way out
	// and the digest is not the source's image ID.
	Reencoded bool
}

// Taggable is what a push writes: the image or the index.
func (a *Artifact) Taggable() remote.Taggable {
	if a.Index != nil {
		return a.Index
	}
	return a.Image
}

// Open opens ref (skopeo syntax, as Diff reads it) without reading a layer:
// an OCI layout's or registry's manifest is kept byte for byte, so pushing
// it gives the same digest.
func (c *Comparer) Open(ctx context.Context, ref string) (*Artifact, error) {
	s, err := c.open(ctx, ref)
	if err != nil {
		return nil, err
	}
	a := &Artifact{Ref: ref, Image: s.img, Index: s.index, Digest: s.digest}
	if a.Digest == (v1.Hash{}) {
		// An archive or daemon image: the manifest ggcr makes for it.
		a.Reencoded = true
		if a.Digest, err = s.img.Digest(); err != nil {
			return nil, fmt.Errorf("computing the digest of %q: %w", ref, err)
		}
	}
	return a, nil
}
