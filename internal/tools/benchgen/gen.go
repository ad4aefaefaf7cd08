package main

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"golang.org/x/sync/errgroup"

	"github.com/imgver/imgver/internal/imagebuild"
)

// genStats describes what gen wrote.
type genStats struct {
	name              string // "a" or "b"
	manifest          v1.Hash
	layers            int
	files             int   // regular file entries, over all layers
	entries           int   // all tar entries
	uncompressedBytes int64 // sum of the layer tars
	compressedBytes   int64 // sum of the layer blobs
}

// layerResult is one written layer blob.
type layerResult struct {
	layer             v1.Layer // the blob, its digests checked by ggcr
	digest, diffID    v1.Hash
	compressedBytes   int64
	uncompressedBytes int64
	files, entries    int
}

// gen writes the pair to dir/a and dir/b. It builds both in dir/.gen and
// renames them into place at the end, so an interrupted run leaves no
// half-written image where a cached one is expected.
func gen(ctx context.Context, dir string, p genParams) ([]genStats, error) {
	pl, err := newPlan(p)
	if err != nil {
		return nil, err
	}
	work := filepath.Join(dir, ".gen")
	if err := os.RemoveAll(work); err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)

	images := []struct {
		name string
		plan *imagePlan
	}{{"a", &pl.a}, {"b", &pl.b}}

	// Write every layer blob of both images, in parallel, straight into
	// the layouts' blob directories: layout.AppendImage then finds them
	// there and does not copy them.
	paths := make([]layout.Path, len(images))
	results := make([][]layerResult, len(images))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, im := range images {
		lp, err := layout.Write(filepath.Join(work, im.name), empty.Index)
		if err != nil {
			return nil, fmt.Errorf("creating layout %q: %w", im.name, err)
		}
		paths[i] = lp
		results[i] = make([]layerResult, len(im.plan.layers))
		for j := range im.plan.layers {
			g.Go(func() error {
				r, err := writeLayer(gctx, lp, pl.vocab, im.plan, j, p.seed)
				if err != nil {
					return fmt.Errorf("writing layer %s of %q: %w", im.plan.layers[j].name, im.name, err)
				}
				results[i][j] = r
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}

	var stats []genStats
	for i, im := range images {
		sp := imageSpec{name: im.name, ref: "latest", created: im.plan.created, hist: history(im.plan), cmd: serverCmd}
		st, err := assemble(paths[i], sp, results[i])
		if err != nil {
			return nil, fmt.Errorf("writing image %q: %w", im.name, err)
		}
		stats = append(stats, st)
	}
	for _, im := range images {
		final := filepath.Join(dir, im.name)
		if err := os.RemoveAll(final); err != nil {
			return nil, err
		}
		if err := os.Rename(filepath.Join(work, im.name), final); err != nil {
			return nil, err
		}
	}
	return stats, nil
}

// history is the history of ip's layers, one entry a layer, a minute apart.
func history(ip *imagePlan) []v1.History {
	hs := make([]v1.History, len(ip.layers))
	for j, l := range ip.layers {
		hs[j] = v1.History{
			Created:   v1.Time{Time: ip.created.Add(time.Duration(j) * time.Minute)},
			CreatedBy: "benchgen: " + l.name,
		}
	}
	return hs
}

// imageSpec is what an image has besides its layers.
type imageSpec struct {
	name    string // for stats and messages
	ref     string // its ref name in the layout
	created time.Time
	hist    []v1.History // one entry a layer
	cmd     []string
}

// serverCmd is the Cmd of gen's images.
var serverCmd = []string{"/app/lib/server"}

// assemble builds the image from its written layers and adds it to the
// layout.
func assemble(lp layout.Path, sp imageSpec, rs []layerResult) (genStats, error) {
	st := genStats{name: sp.name, layers: len(rs)}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	var adds []mutate.Addendum
	for j, r := range rs {
		adds = append(adds, mutate.Addendum{Layer: r.layer, History: sp.hist[j]})
		st.files += r.files
		st.entries += r.entries
		st.uncompressedBytes += r.uncompressedBytes
		st.compressedBytes += r.compressedBytes
	}
	img, err := mutate.Append(img, adds...)
	if err != nil {
		return st, err
	}
	img, err = imagebuild.Configure(img, sp.created, imagebuild.Config{
		Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		Cmd: sp.cmd,
	})
	if err != nil {
		return st, err
	}
	if err := lp.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": sp.ref,
	})); err != nil {
		return st, err
	}
	if st.manifest, err = img.Digest(); err != nil {
		return st, err
	}
	return st, nil
}

// countWriter counts the bytes written through it.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// writeLayer writes layer j of ip as a gzip blob into lp and returns its
// digests. The tar stream is written once and hashed on the way.
func writeLayer(ctx context.Context, lp layout.Path, v *vocab, ip *imagePlan, j int, seed uint64) (layerResult, error) {
	var r layerResult
	lay := ip.layers[j]
	blobDir := filepath.Join(string(lp), "blobs", "sha256")
	if err := os.MkdirAll(blobDir, 0o755); err != nil {
		return r, err
	}
	f, err := os.CreateTemp(blobDir, "layer-*.tmp")
	if err != nil {
		return r, err
	}
	defer func() {
		f.Close()
		os.Remove(f.Name())
	}()

	compHash := sha256.New()
	comp := &countWriter{w: io.MultiWriter(f, compHash)}
	bw := bufio.NewWriterSize(comp, 1<<20)
	zw, err := gzip.NewWriterLevel(bw, ip.level)
	if err != nil {
		return r, err
	}
	tarHash := sha256.New()
	unc := &countWriter{w: io.MultiWriter(zw, tarHash)}
	tw := tar.NewWriter(unc)

	var rng *rand.Rand
	if lay.shuffle {
		rng = rand.New(rand.NewPCG(seed, 0x73687566))
	}
	cw := newContentWriter(v)
	for i, e := range walkOrder(lay.nodes, rng) {
		if i%256 == 0 && ctx.Err() != nil {
			return r, ctx.Err()
		}
		hdr := &tar.Header{
			Name:    e.path,
			ModTime: ip.mtime.Add(time.Duration(hashPath(e.path)%86400) * time.Second),
			Mode:    0o755,
			Uname:   "root",
			Gname:   "root",
		}
		n := e.node
		switch {
		case n == nil || n.typ == tar.TypeDir:
			hdr.Typeflag = tar.TypeDir
			hdr.Name += "/"
		case n.typ == tar.TypeSymlink:
			hdr.Typeflag = tar.TypeSymlink
			hdr.Linkname = n.link
			hdr.Mode = n.mode
		default:
			hdr.Typeflag = tar.TypeReg
			hdr.Mode = n.mode
			hdr.Size = n.size
		}
		if n != nil {
			hdr.Uid, hdr.Gid = n.uid, n.gid
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return r, err
		}
		r.entries++
		if hdr.Typeflag == tar.TypeReg {
			r.files++
			if n.data != nil {
				_, err = tw.Write(n.data)
			} else {
				err = cw.write(tw, n.size, n.seed, n.kind)
			}
			if err != nil {
				return r, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return r, err
	}
	if err := zw.Close(); err != nil {
		return r, err
	}
	if err := bw.Flush(); err != nil {
		return r, err
	}
	if err := f.Close(); err != nil {
		return r, err
	}
	r.digest = v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(compHash.Sum(nil))}
	r.diffID = v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(tarHash.Sum(nil))}
	r.compressedBytes = comp.n
	r.uncompressedBytes = unc.n
	blob := filepath.Join(blobDir, r.digest.Hex)
	if err := os.Rename(f.Name(), blob); err != nil {
		return r, err
	}
	// ggcr computes the digests again from the blob (once: the layer is
	// shared by every image that has it): a check of ours.
	r.layer, err = tarball.LayerFromOpener(func() (io.ReadCloser, error) { return os.Open(blob) },
		tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return r, err
	}
	if d, _ := r.layer.Digest(); d != r.digest {
		return r, fmt.Errorf("digest %s, ggcr says %s", r.digest, d)
	}
	if d, _ := r.layer.DiffID(); d != r.diffID {
		return r, fmt.Errorf("diff_id %s, ggcr says %s", r.diffID, d)
	}
	return r, nil
}
