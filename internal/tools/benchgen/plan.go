package main

import (
	"archive/tar"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"path"
	"slices"
	"sort"
	"strings"
	"time"
)

// genParams are the knobs of a generated pair.
type genParams struct {
	// files is the number of regular files in the final file system,
	// about (whiteouts remove a few, noise adds a few).
	files int
	// size is the total size of the regular files' contents, about.
	size int64
	// seed makes a different but equally deterministic pair.
	seed uint64
	// changed makes B differ from A by one permission bit of one file.
	changed bool
}

// node is one entry of a layer other than a parent directory: a regular
// file, symlink, whiteout or explicit directory.
type node struct {
	path string // relative to /, no trailing slash: "usr/lib/x.so"
	typ  byte   // tar.TypeReg, tar.TypeSymlink, tar.TypeDir
	mode int64
	uid  int
	gid  int
	size int64
	link string
	seed uint64 // content seed of a regular file
	kind contentKind
	data []byte // the content itself, when set (seed and kind unused)
}

// layerPlan is the content of one layer.
type layerPlan struct {
	name    string // for history and messages
	nodes   []*node
	shuffle bool // write in a shuffled (but deterministic) walk order
}

// imagePlan is the content of one image.
type imagePlan struct {
	created time.Time
	mtime   time.Time // base of entry mtimes
	level   int       // gzip level
	layers  []layerPlan
}

// plan holds both images of a pair.
type plan struct {
	vocab *vocab
	a, b  imagePlan
}

const (
	mib = 1 << 20
	gib = 1 << 30
)

// epoch is the base of all timestamps.
var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// logUniform returns a size between lo and hi, log-uniformly.
func logUniform(rng *rand.Rand, lo, hi float64) float64 {
	return math.Exp(math.Log(lo) + rng.Float64()*(math.Log(hi)-math.Log(lo)))
}

// fill assigns sizes to files so that they add up to budget, with a
// log-uniform spread of ratio spread between the smallest and largest.
func fillSizes(rng *rand.Rand, files []*node, budget int64, spread float64) {
	if len(files) == 0 {
		return
	}
	w := make([]float64, len(files))
	var sum float64
	for i := range w {
		w[i] = logUniform(rng, 1, spread)
		sum += w[i]
	}
	for i, f := range files {
		f.size = int64(w[i] / sum * float64(budget))
	}
}

var (
	baseRoots  = []string{"usr/lib", "usr/share", "usr/include", "usr/lib/python3/dist-packages", "etc", "usr/share/doc"}
	upperRoots = []string{"app/node_modules", "app/lib", "opt/vendor", "usr/local/lib", "app/static"}
	textExts   = []string{".txt", ".py", ".js", ".h", ".conf", ".json", ".md", ".html", ".css", ".rb"}
	binExts    = []string{".so", ".bin", ".a", ".o", ""}
)

// fileName makes a file name from a vocabulary word, the file's number and
// an extension; the number keeps names unique.
func fileName(rng *rand.Rand, v *vocab, i int) (string, contentKind) {
	w := v.words[rng.IntN(len(v.words))]
	if rng.IntN(3) == 0 {
		e := binExts[rng.IntN(len(binExts))]
		return fmt.Sprintf("%s-%d%s", w, i, e), kindBinary
	}
	e := textExts[rng.IntN(len(textExts))]
	return fmt.Sprintf("%s-%d%s", w, i, e), kindText
}

func fileMode(kind contentKind, rng *rand.Rand) int64 {
	if kind == kindBinary && rng.IntN(2) == 0 {
		return 0o755
	}
	return 0o644
}

// newPlan lays out the pair. Everything follows from p and nothing else.
func newPlan(p genParams) (*plan, error) {
	if p.files < 20 {
		return nil, fmt.Errorf("--files %d is too small: need at least 20", p.files)
	}
	if p.size < int64(p.files)*64 {
		return nil, fmt.Errorf("--size %d is too small for %d files: need at least 64 bytes a file", p.size, p.files)
	}
	rng := rand.New(rand.NewPCG(p.seed, 0x706c616e))
	v := newVocab(p.seed)
	scale := float64(p.size) / gib
	seedOf := func() uint64 { return rng.Uint64() }

	nBase := p.files * 6 / 10
	nUpper := p.files - nBase

	// Base layer: many small files in package directories, like a distro.
	var base []*node
	nPkg := max(1, nBase/100)
	pkgDirs := make([]string, nPkg)
	for i := range pkgDirs {
		pkgDirs[i] = path.Join(baseRoots[i%len(baseRoots)], fmt.Sprintf("%s%d", v.words[rng.IntN(len(v.words))], i))
	}
	// The first few go to the directory that an upper layer replaces
	// wholesale (an opaque whiteout), like a COPY over a removed conf.d.
	const opaqueDir = "etc/nginx/conf.d"
	nOpaque := max(3, nBase/1000)
	for i := range nBase {
		dir := pkgDirs[rng.IntN(nPkg)]
		if sub := rng.IntN(4); sub > 0 {
			dir = path.Join(dir, fmt.Sprintf("d%d", sub))
		}
		if i < nOpaque {
			dir = opaqueDir
		}
		name, kind := fileName(rng, v, i)
		base = append(base, &node{path: path.Join(dir, name), typ: tar.TypeReg, mode: fileMode(kind, rng), seed: seedOf(), kind: kind})
	}
	// Upper layers: the big files, a hundred medium ones and the rest small.
	var big, medium, small []*node
	var bigBytes int64
	for bigBytes < int64(0.35*float64(p.size)) && len(big) < max(1, nUpper/4) {
		sz := int64((10 + 40*rng.Float64()) * mib * scale)
		name := fmt.Sprintf("%s-%d.bin", v.words[rng.IntN(len(v.words))], len(big))
		dir := []string{"opt/models", "app/lib", "usr/local/bin"}[len(big)%3]
		kind := kindData
		if dir != "opt/models" {
			kind = kindBinary
		}
		big = append(big, &node{path: path.Join(dir, name), typ: tar.TypeReg, mode: 0o755, size: sz, seed: seedOf(), kind: kind})
		bigBytes += sz
	}
	nMedium := max(1, nUpper/200)
	var mediumBytes int64
	for i := range nMedium {
		sz := int64(logUniform(rng, 256*1024, 8*mib) * scale)
		name, kind := fileName(rng, v, nBase+i)
		dir := path.Join(upperRoots[rng.IntN(len(upperRoots))], "m")
		medium = append(medium, &node{path: path.Join(dir, name), typ: tar.TypeReg, mode: fileMode(kind, rng), size: sz, seed: seedOf(), kind: kind})
		mediumBytes += sz
	}
	nSmall := nUpper - len(big) - nMedium
	nUpperDirs := max(1, nSmall/60)
	upperDirs := make([]string, nUpperDirs)
	for i := range upperDirs {
		upperDirs[i] = path.Join(upperRoots[i%len(upperRoots)], fmt.Sprintf("%s%d", v.words[rng.IntN(len(v.words))], i))
	}
	for i := range nSmall {
		name, kind := fileName(rng, v, nBase+nMedium+i)
		dir := upperDirs[rng.IntN(nUpperDirs)]
		small = append(small, &node{path: path.Join(dir, name), typ: tar.TypeReg, mode: fileMode(kind, rng), seed: seedOf(), kind: kind})
	}
	baseBudget := int64(0.22 * float64(p.size))
	fillSizes(rng, base, baseBudget, 2000)
	smallBudget := max(int64(nSmall)*64, p.size-baseBudget-bigBytes-mediumBytes)
	fillSizes(rng, small, smallBudget, 5000)

	// A few symlinks into the base, like /usr/bin/python3 -> python3.11.
	var links []*node
	for i := range max(1, nBase/100) {
		t := base[rng.IntN(len(base))]
		links = append(links, &node{path: fmt.Sprintf("usr/bin/link-%d", i), typ: tar.TypeSymlink, mode: 0o777, link: "/" + t.path})
	}
	base = append(base, links...)

	// Upper layers also change the base: overwrite some files (an upgraded
	// package), delete some (whiteouts), and replace one directory
	// wholesale (an opaque whiteout). The opaque directory holds none of
	// the overwritten or deleted files, so the order in which a layer
	// applies them does not matter.
	inOpaque := func(n *node) bool { return strings.HasPrefix(n.path, opaqueDir+"/") }
	var candidates []*node
	for _, n := range base {
		if n.typ == tar.TypeReg && !inOpaque(n) && !isLinkTarget(links, n) {
			candidates = append(candidates, n)
		}
	}
	rng.Shuffle(len(candidates), func(i, j int) { candidates[i], candidates[j] = candidates[j], candidates[i] })
	nOver := max(1, nBase/200)
	nDel := max(1, nBase/500)
	if nOver+nDel > len(candidates) {
		return nil, fmt.Errorf("--files %d leaves too few base files to overwrite and delete", p.files)
	}
	var overwrites, deletes []*node
	for _, t := range candidates[:nOver] {
		n := *t
		n.seed = seedOf()
		n.size = t.size + int64(rng.IntN(256))
		overwrites = append(overwrites, &n)
	}
	for _, t := range candidates[nOver : nOver+nDel] {
		deletes = append(deletes, &node{path: path.Join(path.Dir(t.path), ".wh."+path.Base(t.path)), typ: tar.TypeReg, mode: 0o644})
	}
	opaque := []*node{
		{path: opaqueDir, typ: tar.TypeDir, mode: 0o755},
		{path: path.Join(opaqueDir, ".wh..wh..opq"), typ: tar.TypeReg, mode: 0o644},
		{path: path.Join(opaqueDir, "replaced.conf"), typ: tar.TypeReg, mode: 0o644, size: 1234, seed: seedOf(), kind: kindText},
	}

	// Noise a rebuild always changes: logs and temp files.
	noise := func(salt uint64) []*node {
		r := rand.New(rand.NewPCG(p.seed, salt))
		tmp := fmt.Sprintf("tmp/build-%08x", r.Uint32())
		return []*node{
			{path: "var/log/apt/history.log", typ: tar.TypeReg, mode: 0o644, size: 4000 + int64(r.IntN(2000)), seed: r.Uint64(), kind: kindText},
			{path: "var/log/dpkg.log", typ: tar.TypeReg, mode: 0o644, size: 20000 + int64(r.IntN(5000)), seed: r.Uint64(), kind: kindText},
			{path: tmp + "/cc" + fmt.Sprintf("%06x", r.Uint32()&0xffffff) + ".o", typ: tar.TypeReg, mode: 0o644, size: 50000 + int64(r.IntN(50000)), seed: r.Uint64(), kind: kindBinary},
			{path: tmp + "/stamp", typ: tar.TypeReg, mode: 0o644, size: 40, seed: r.Uint64(), kind: kindText},
		}
	}

	// Image A: base, deps, assets, app.
	half := len(small) / 2
	pl := &plan{vocab: v}
	pl.a = imagePlan{
		created: epoch.Add(10 * time.Hour),
		mtime:   epoch,
		level:   6,
		layers: []layerPlan{
			{name: "base", nodes: base},
			{name: "deps", nodes: cat(small[:half], medium, overwrites)},
			{name: "assets", nodes: big},
			{name: "app", nodes: cat(small[half:], deletes, opaque, noise(1))},
		},
	}

	// Image B: the same files, rebuilt: new mtimes, another gzip level, the
	// base in another order, and the upper files split into two layers by
	// a hash of their path instead of three by kind.
	var up1, up2 []*node
	for _, n := range cat(small, medium, big) {
		if hashPath(n.path)%2 == 0 {
			up1 = append(up1, n)
		} else {
			up2 = append(up2, n)
		}
	}
	if p.changed {
		// One permission bit of one file, deep in the upper layers.
		c := *up2[len(up2)/2]
		c.mode |= 0o020
		up2[len(up2)/2] = &c
	}
	pl.b = imagePlan{
		created: epoch.Add(7*24*time.Hour + 11*time.Hour),
		mtime:   epoch.Add(7 * 24 * time.Hour),
		level:   1,
		layers: []layerPlan{
			{name: "base", nodes: base, shuffle: true},
			{name: "upper-1", nodes: cat(up1, deletes)},
			{name: "upper-2", nodes: cat(up2, overwrites, opaque, noise(2))},
		},
	}
	return pl, nil
}

func isLinkTarget(links []*node, n *node) bool {
	for _, l := range links {
		if l.link == "/"+n.path {
			return true
		}
	}
	return false
}

func cat(parts ...[]*node) []*node {
	var out []*node
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func hashPath(p string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(p))
	return h.Sum64()
}

// tarEntry is one entry of a layer in write order: a node, or a parent
// directory (node nil).
type tarEntry struct {
	path string
	node *node
}

// walkOrder returns the entries of nodes, parent directories included, in
// the order of a depth-first walk, parents before children (as tar and
// docker write them). Children are sorted by name, or shuffled with rng
// when it is not nil, as a readdir order would.
func walkOrder(nodes []*node, rng *rand.Rand) []tarEntry {
	type dir struct {
		node     *node
		children map[string]bool // name -> is dir
		files    map[string]*node
	}
	dirs := map[string]*dir{"": {children: map[string]bool{}, files: map[string]*node{}}}
	var ensure func(p string) *dir
	ensure = func(p string) *dir {
		if d, ok := dirs[p]; ok {
			return d
		}
		parent, name := path.Split(p)
		parent = strings.TrimSuffix(parent, "/")
		ensure(parent).children[name] = true
		d := &dir{children: map[string]bool{}, files: map[string]*node{}}
		dirs[p] = d
		return d
	}
	for _, n := range nodes {
		if n.typ == tar.TypeDir {
			ensure(n.path).node = n
			continue
		}
		parent, name := path.Split(n.path)
		parent = strings.TrimSuffix(parent, "/")
		d := ensure(parent)
		d.children[name] = false
		d.files[name] = n
	}
	var out []tarEntry
	var walk func(p string)
	walk = func(p string) {
		d := dirs[p]
		names := make([]string, 0, len(d.children))
		for name := range d.children {
			names = append(names, name)
		}
		sort.Strings(names)
		if rng != nil {
			rng.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
		} else {
			// An opaque marker goes first in its directory.
			slices.SortStableFunc(names, func(x, y string) int {
				return boolCmp(x != ".wh..wh..opq", y != ".wh..wh..opq")
			})
		}
		for _, name := range names {
			cp := path.Join(p, name)
			if d.children[name] {
				out = append(out, tarEntry{path: cp, node: dirs[cp].node})
				walk(cp)
			} else {
				out = append(out, tarEntry{path: cp, node: d.files[name]})
			}
		}
	}
	walk("")
	return out
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	default:
		return 1
	}
}
