package main

import (
	"archive/tar"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"golang.org/x/sync/errgroup"
)

// monoParams are the knobs of a generated monorepo.
type monoParams struct {
	// images is the number of images.
	images int
	// base is the shared base image: image A of a pair made with these
	// parameters (its four layers, noise included).
	base genParams
	// app is each image's own layers: image i has those of the pair made
	// with app and the seed app.seed+i, A's in the baseline and B's (the
	// rebuild) in the candidate.
	app genParams
}

// monoImageName is the name of image i of a monorepo: its ref name in both
// layouts and its name in images.hcl.
func monoImageName(i int) string { return fmt.Sprintf("svc-%02d", i) }

// runScript is the Cmd of a monorepo's images: a #! script of the image's
// own layers run by the base's /bin/sh, so that imgver's checks pass.
const runScript = "/app/run.sh"

// runNode is the file runScript.
func runNode() *node {
	data := []byte("#!/bin/sh\nexec /app/lib/server \"$@\"\n")
	return &node{path: runScript[1:], typ: tar.TypeReg, mode: 0o755, size: int64(len(data)), data: data}
}

// shellNode is the base's /bin/sh: the start of an x86-64 ELF executable
// (magic, 64-bit, little-endian, ET_EXEC, EM_X86_64), enough for a check.
func shellNode() *node {
	data := make([]byte, 4096)
	copy(data, "\x7fELF\x02\x01\x01")
	binary.LittleEndian.PutUint16(data[16:], 2)  // e_type ET_EXEC
	binary.LittleEndian.PutUint16(data[18:], 62) // e_machine EM_X86_64
	return &node{path: "bin/sh", typ: tar.TypeReg, mode: 0o755, size: int64(len(data)), data: data}
}

// layerJob is one layer to write: layer j of plan ip, into lp.
type layerJob struct {
	lp   layout.Path
	v    *vocab
	ip   *imagePlan
	j    int
	seed uint64
	out  *layerResult
}

// genMonorepo writes dir/baseline and dir/candidate, two OCI layouts of
// p.images images each (ref names svc-00, svc-01, ...). Every image is the
// shared base's layers (the same blobs in both layouts) under layers of its
// own; the candidate of an image is a rebuild of its baseline (see gen: new
// mtimes, gzip level, order, layer split and noise), so nothing but the base
// is byte-identical and a tool must compare to call them the same. Like gen,
// it builds in dir/.gen and renames into place at the end.
func genMonorepo(ctx context.Context, dir string, p monoParams) ([]genStats, error) {
	if p.images < 1 {
		return nil, fmt.Errorf("--images %d: want at least 1", p.images)
	}
	basePl, err := newPlan(p.base)
	if err != nil {
		return nil, fmt.Errorf("planning the base: %w", err)
	}
	basePl.a.layers[0].nodes = append(basePl.a.layers[0].nodes, shellNode())
	apps := make([]*plan, p.images)
	for i := range apps {
		ap := p.app
		ap.seed += uint64(i)
		if apps[i], err = newPlan(ap); err != nil {
			return nil, fmt.Errorf("planning image %s: %w", monoImageName(i), err)
		}
		// In the last layer of both sides: the same file in both.
		for _, ip := range []*imagePlan{&apps[i].a, &apps[i].b} {
			last := &ip.layers[len(ip.layers)-1]
			last.nodes = append(last.nodes, runNode())
		}
	}
	work := filepath.Join(dir, ".gen")
	if err := os.RemoveAll(work); err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	sides := []string{"baseline", "candidate"}
	lps := make([]layout.Path, len(sides))
	for s, name := range sides {
		if lps[s], err = layout.Write(filepath.Join(work, name), empty.Index); err != nil {
			return nil, fmt.Errorf("creating layout %q: %w", name, err)
		}
	}

	// Every layer blob: the base's once, each image's own on both sides.
	base := &basePl.a
	baseRes := make([]layerResult, len(base.layers))
	appRes := make([][2][]layerResult, p.images)
	var jobs []layerJob
	for j := range base.layers {
		jobs = append(jobs, layerJob{lps[0], basePl.vocab, base, j, p.base.seed, &baseRes[j]})
	}
	for i, ap := range apps {
		for s, ip := range []*imagePlan{&ap.a, &ap.b} {
			appRes[i][s] = make([]layerResult, len(ip.layers))
			for j := range ip.layers {
				jobs = append(jobs, layerJob{lps[s], ap.vocab, ip, j, p.app.seed + uint64(i), &appRes[i][s][j]})
			}
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for _, jb := range jobs {
		g.Go(func() error {
			r, err := writeLayer(gctx, jb.lp, jb.v, jb.ip, jb.j, jb.seed)
			if err != nil {
				return fmt.Errorf("writing layer %s: %w", jb.ip.layers[jb.j].name, err)
			}
			*jb.out = r
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, r := range baseRes {
		if err := shareBlob(lps[0], lps[1], r.digest); err != nil {
			return nil, err
		}
	}

	var stats []genStats
	baseHist := history(base)
	for i, ap := range apps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for s, ip := range []*imagePlan{&ap.a, &ap.b} {
			name := monoImageName(i)
			rs := append(append([]layerResult(nil), baseRes...), appRes[i][s]...)
			hist := append(append([]v1.History(nil), baseHist...), history(ip)...)
			sp := imageSpec{name: sides[s] + "/" + name, ref: name, created: ip.created, hist: hist, cmd: []string{runScript}}
			st, err := assemble(lps[s], sp, rs)
			if err != nil {
				return nil, fmt.Errorf("writing image %s of %q: %w", name, sides[s], err)
			}
			stats = append(stats, st)
		}
	}
	for _, name := range sides {
		final := filepath.Join(dir, name)
		if err := os.RemoveAll(final); err != nil {
			return nil, err
		}
		if err := os.Rename(filepath.Join(work, name), final); err != nil {
			return nil, err
		}
	}
	return stats, nil
}

// shareBlob puts blob d of layout from into layout to: a hard link, or a
// copy where links cannot be made.
func shareBlob(from, to layout.Path, d v1.Hash) error {
	src := filepath.Join(string(from), "blobs", d.Algorithm, d.Hex)
	dstDir := filepath.Join(string(to), "blobs", d.Algorithm)
	if err := os.MkdirAll(dstDir, 0o755); err != nil {
		return err
	}
	dst := filepath.Join(dstDir, d.Hex)
	if err := os.Link(src, dst); err == nil || os.IsExist(err) {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
