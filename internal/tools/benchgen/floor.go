package main

import (
	"bufio"
	"cmp"
	stdgzip "compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"runtime"
	"slices"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	kgzip "github.com/klauspost/compress/gzip"
	"golang.org/x/sync/errgroup"
)

// gunzip opens a gzip stream; the floor is measured with each.
type gunzip func(io.Reader) (io.ReadCloser, error)

var gunzips = map[string]gunzip{
	"klauspost": func(r io.Reader) (io.ReadCloser, error) { return kgzip.NewReader(r) },
	"stdlib":    func(r io.Reader) (io.ReadCloser, error) { return stdgzip.NewReader(r) },
}

// blobJob is one layer blob to decompress and hash.
type blobJob struct {
	lp     layout.Path
	digest v1.Hash
	diffID v1.Hash // from the config: the hash we must get
	size   int64
}

// floorResult is one timed pass over all blobs.
type floorResult struct {
	impl              string
	elapsed           time.Duration
	cpu               time.Duration // user+system of the whole process during the pass
	layers            int
	compressedBytes   int64
	uncompressedBytes int64
	procs             int
}

// floorJobs lists the layer blobs of the images in the layouts at dirs.
func floorJobs(dirs []string) ([]blobJob, error) {
	var jobs []blobJob
	for _, dir := range dirs {
		lp, imgs, err := readLayout(dir)
		if err != nil {
			return nil, err
		}
		for _, li := range imgs {
			m, err := li.img.Manifest()
			if err != nil {
				return nil, fmt.Errorf("reading manifest %s of %q: %w", li.desc.Digest, dir, err)
			}
			cf, err := li.img.ConfigFile()
			if err != nil {
				return nil, fmt.Errorf("reading config of %s of %q: %w", li.desc.Digest, dir, err)
			}
			if len(cf.RootFS.DiffIDs) != len(m.Layers) {
				return nil, fmt.Errorf("image %s of %q: %d layers but %d diff_ids", li.desc.Digest, dir, len(m.Layers), len(cf.RootFS.DiffIDs))
			}
			for i, l := range m.Layers {
				jobs = append(jobs, blobJob{lp: lp, digest: l.Digest, diffID: cf.RootFS.DiffIDs[i], size: l.Size})
			}
		}
	}
	return jobs, nil
}

// layoutImage is one image of an OCI layout.
type layoutImage struct {
	desc v1.Descriptor
	img  v1.Image
}

// readLayout opens the OCI layout at dir and returns its images, in the
// order of its index.
func readLayout(dir string) (layout.Path, []layoutImage, error) {
	lp, err := layout.FromPath(dir)
	if err != nil {
		return "", nil, fmt.Errorf("opening layout %q: %w", dir, err)
	}
	idx, err := lp.ImageIndex()
	if err != nil {
		return "", nil, fmt.Errorf("reading index of %q: %w", dir, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return "", nil, fmt.Errorf("reading index of %q: %w", dir, err)
	}
	var out []layoutImage
	for _, desc := range im.Manifests {
		img, err := idx.Image(desc.Digest)
		if err != nil {
			return "", nil, fmt.Errorf("reading image %s of %q: %w", desc.Digest, dir, err)
		}
		out = append(out, layoutImage{desc: desc, img: img})
	}
	return lp, out, nil
}

// floor decompresses and hashes every job's blob with impl, as many at a
// time as GOMAXPROCS, the largest first (so that one big layer is not left
// for last on an otherwise idle machine). It checks each uncompressed
// digest against the image config.
func floor(ctx context.Context, jobs []blobJob, impl string) (floorResult, error) {
	open, ok := gunzips[impl]
	if !ok {
		return floorResult{}, fmt.Errorf("unknown gzip implementation %q", impl)
	}
	jobs = slices.Clone(jobs)
	slices.SortStableFunc(jobs, func(x, y blobJob) int { return cmp.Compare(y.size, x.size) })

	res := floorResult{impl: impl, layers: len(jobs), procs: runtime.GOMAXPROCS(0)}
	sizes := make([]int64, len(jobs))
	start, cpu0 := time.Now(), selfCPU()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(res.procs)
	for i, j := range jobs {
		g.Go(func() error {
			n, err := hashBlob(gctx, j, open)
			if err != nil {
				return fmt.Errorf("reading layer %s of %q: %w", j.digest, j.lp, err)
			}
			sizes[i] = n
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return res, err
	}
	res.elapsed, res.cpu = time.Since(start), selfCPU()-cpu0
	for i, j := range jobs {
		res.compressedBytes += j.size
		res.uncompressedBytes += sizes[i]
	}
	return res, nil
}

// ctxReader stops a copy when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func hashBlob(ctx context.Context, j blobJob, open gunzip) (int64, error) {
	rc, err := j.lp.Blob(j.digest)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	zr, err := open(bufio.NewReaderSize(rc, 1<<20))
	if err != nil {
		return 0, err
	}
	defer zr.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(h, ctxReader{ctx, zr}, make([]byte, 1<<20))
	if err != nil {
		return n, err
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != j.diffID.String() {
		return n, fmt.Errorf("uncompressed digest %s, config says %s", got, j.diffID)
	}
	return n, nil
}
