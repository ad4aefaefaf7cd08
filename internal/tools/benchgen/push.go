package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// pushed is one image push wrote.
type pushed struct {
	ref    name.Tag
	digest v1.Hash
}

// push pushes every image of the OCI layout dir to prefix/<its ref name>:tag,
// or, with as set, the layout's one image to prefix/as:tag. A layer already
// pushed to another repository is mounted from there, not uploaded again,
// and a blob the registry has is not sent at all: pushing again is cheap.
// The registry is spoken to over plain http (it is a local one).
func push(ctx context.Context, dir, prefix, tag, as string) ([]pushed, error) {
	_, imgs, err := readLayout(dir)
	if err != nil {
		return nil, err
	}
	if as != "" && len(imgs) != 1 {
		return nil, fmt.Errorf("--as %q: layout %q has %d images, want 1", as, dir, len(imgs))
	}
	mounts := map[v1.Hash]name.Reference{}
	var out []pushed
	for _, li := range imgs {
		repo := as
		if repo == "" {
			repo = li.desc.Annotations["org.opencontainers.image.ref.name"]
		}
		if repo == "" {
			return nil, fmt.Errorf("layout %q: image %s has no ref name (org.opencontainers.image.ref.name): use --as", dir, li.desc.Digest)
		}
		ref, err := name.NewTag(prefix+"/"+repo+":"+tag, name.Insecure)
		if err != nil {
			return nil, fmt.Errorf("naming image %s of %q: %w", li.desc.Digest, filepath.Base(dir), err)
		}
		img, err := mountable(li.img, mounts)
		if err != nil {
			return nil, fmt.Errorf("reading image %s of %q: %w", repo, dir, err)
		}
		if err := remote.Write(ref, img, remote.WithContext(ctx)); err != nil {
			return nil, fmt.Errorf("pushing %s: %w", ref, err)
		}
		ls, err := img.Layers()
		if err != nil {
			return nil, err
		}
		for _, l := range ls {
			d, err := l.Digest()
			if err != nil {
				return nil, err
			}
			if _, ok := mounts[d]; !ok {
				mounts[d] = ref.Context().Digest(d.String())
			}
		}
		d, err := img.Digest()
		if err != nil {
			return nil, err
		}
		out = append(out, pushed{ref: ref, digest: d})
	}
	return out, nil
}

// mountable returns img with each layer already pushed (in mounts) marked
// as mountable from where it was pushed. The image's digest is unchanged.
func mountable(img v1.Image, mounts map[v1.Hash]name.Reference) (v1.Image, error) {
	ls, err := img.Layers()
	if err != nil {
		return nil, err
	}
	marked := false
	for i, l := range ls {
		d, err := l.Digest()
		if err != nil {
			return nil, err
		}
		if from, ok := mounts[d]; ok {
			ls[i] = &remote.MountableLayer{Layer: l, Reference: from}
			marked = true
		}
	}
	if !marked {
		return img, nil
	}
	return &layersOf{Image: img, layers: ls}, nil
}

// layersOf is img with its layers swapped for the same blobs wrapped
// otherwise (remote.Write pushes what Layers returns): manifest, config and
// digest stay.
type layersOf struct {
	v1.Image
	layers []v1.Layer
}

func (l *layersOf) Layers() ([]v1.Layer, error) { return l.layers, nil }

func (l *layersOf) LayerByDigest(h v1.Hash) (v1.Layer, error) {
	for _, x := range l.layers {
		if d, err := x.Digest(); err == nil && d == h {
			return x, nil
		}
	}
	return l.Image.LayerByDigest(h)
}
