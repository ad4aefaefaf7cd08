package detect

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"
	"golang.org/x/sync/singleflight"

	"github.com/imgver/imgver/internal/detect/normalise"
)

// A Comparer compares images and computes fingerprints. It caches the
// summary of every layer it reads by diff_id, so a layer shared by several
// images is read once. It is safe for concurrent use.
type Comparer struct {
	o           *options
	opts        []Option
	match       *matcher
	normalisers []normalise.Normaliser
	// summaryKey is SummaryKey().
	summaryKey string
	*layerCache
}

// layerCache holds layer summaries by diff_id. A summary depends only on
// the normalisers and WithPackages, so Comparers alike in those share one.
type layerCache struct {
	mu     sync.Mutex
	layers map[v1.Hash]*layerSummary
	// light holds the summaries of layers read only for their packages
	// (Comparer.Packages): no digests.
	light map[v1.Hash]*layerSummary
	// contents holds file contents (or heads) that Snapshot.ReadFiles
	// read, by contentCacheKey: the files the image checks look at
	// (/etc/passwd, an entrypoint's first bytes) are mostly in a base layer
	// that many images share.
	contents map[string][]byte
	sf       singleflight.Group
	// read counts the bytes of layer blobs read (compressed, as stored).
	read atomic.Int64
}

// countingReader adds what it reads to n.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	c.n.Add(int64(k))
	return k, err
}

// New returns a Comparer.
func New(opts ...Option) (*Comparer, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	if o.defaultIgnores {
		for _, l := range DefaultIgnoredLabels {
			if _, set := o.ignoredLabels[l]; !set {
				o.ignoredLabels[l] = true
			}
		}
	}
	ns := o.normalisers
	if ns == nil {
		ns = normalise.Default()
	}
	if o.readLimit == nil {
		o.readLimit = semaphore.NewWeighted(int64(o.jobs))
	}
	c := &Comparer{o: o, opts: opts, match: newMatcher(o), layerCache: &layerCache{layers: map[v1.Hash]*layerSummary{}, light: map[v1.Hash]*layerSummary{}, contents: map[string][]byte{}}}
	known := map[string]bool{}
	var names []string
	for _, n := range ns {
		known[n.Name()] = true
		names = append(names, n.Name())
		if !o.disabledNorm[n.Name()] {
			c.normalisers = append(c.normalisers, n)
		}
	}
	for _, n := range slices.Sorted(maps.Keys(o.disabledNorm)) {
		if !known[n] {
			return nil, fmt.Errorf("unknown normaliser %q (known: %s)", n, strings.Join(names, ", "))
		}
	}
	c.summaryKey = c.key(o.packages).String()
	return c, nil
}

// With returns a Comparer with opts applied after c's own options. It shares
// c's cache of layer summaries when it normalises the same way, so images
// compared with different ignore rules (per-image ignore globs) still read a
// layer they share once.
func (c *Comparer) With(opts ...Option) (*Comparer, error) {
	// c's read limit first, so that d shares it unless opts set another.
	d, err := New(append(append([]Option{WithReadLimit(c.o.readLimit)}, c.opts...), opts...)...)
	if err != nil {
		return nil, err
	}
	if c.o.packages == d.o.packages &&
		slices.EqualFunc(c.normalisers, d.normalisers, func(a, b normalise.Normaliser) bool { return a.Name() == b.Name() }) {
		d.layerCache = c.layerCache
	}
	return d, nil
}

// Rules returns the noise rules in force, the pycache rule included when
// the defaults are on.
func (c *Comparer) Rules() []Rule {
	rules := append([]Rule(nil), c.match.rules...)
	if c.o.defaultIgnores {
		rules = append(rules, pycacheRule)
	}
	return rules
}

// layerJob is one layer to read.
type layerJob struct {
	pi    *platformImage
	index int
}

// span is layers from..to-1 of an image.
type span struct {
	pi       *platformImage
	from, to int
}

func whole(images ...*platformImage) []span {
	out := make([]span, len(images))
	for i, pi := range images {
		out[i] = span{pi, 0, len(pi.diffIDs)}
	}
	return out
}

// readLayers makes sure the summaries of all layers of the images are in
// the cache, reading the missing ones in parallel.
func (c *Comparer) readLayers(ctx context.Context, images ...*platformImage) error {
	return c.readSpans(ctx, whole(images...))
}

// readSpans is readLayers for parts of images.
func (c *Comparer) readSpans(ctx context.Context, spans []span) error {
	jobs := map[v1.Hash]layerJob{}
	var order []v1.Hash
	c.mu.Lock()
	for _, sp := range spans {
		pi := sp.pi
		for i := sp.from; i < sp.to; i++ {
			d := pi.diffIDs[i]
			if _, cached := c.layers[d]; cached {
				continue
			}
			if _, ok := jobs[d]; !ok {
				jobs[d] = layerJob{pi, i}
				order = append(order, d)
			}
		}
	}
	c.mu.Unlock()
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(c.o.jobs)
	var mu sync.Mutex
	done := 0
	for _, d := range order {
		j := jobs[d]
		g.Go(func() error {
			// Another read failed: do not fetch the layers still queued.
			if err := ctx.Err(); err != nil {
				return err
			}
			if _, err := c.layer(ctx, j.pi, j.index); err != nil {
				return err
			}
			if c.o.progress != nil {
				mu.Lock()
				done++
				c.o.progress(Progress{Ref: j.pi.src.ref.String(), DiffID: d.String(), Done: done, Total: len(order), Bytes: c.read.Load()})
				mu.Unlock()
			}
			return nil
		})
	}
	return g.Wait()
}

// layer returns the summary of layer i of pi (see fetch).
func (c *Comparer) layer(ctx context.Context, pi *platformImage, i int) (*layerSummary, error) {
	return c.summary(ctx, pi, i, false)
}

// summary returns the summary of layer i of pi, fetched once for all
// images that share it; light: one made only for its packages, unless the
// full one is at hand.
func (c *Comparer) summary(ctx context.Context, pi *platformImage, i int, light bool) (*layerSummary, error) {
	d := pi.diffIDs[i]
	m, key := c.layers, d.String()
	c.mu.Lock()
	s, ok := m[d]
	if light && (!ok || !c.o.packages) {
		m, key = c.light, "light:"+key
		s, ok = m[d]
	}
	c.mu.Unlock()
	if ok {
		return s, nil
	}
	led := false
	v, err, _ := c.sf.Do(key, func() (any, error) {
		led = true
		return c.fetch(ctx, pi, i, light, m)
	})
	if err != nil && !led && ctx.Err() == nil {
		// Another image's read of this diff_id failed: its blob may be
		// corrupt or its context cancelled, while ours is fine.
		v, err = c.fetch(ctx, pi, i, light, m)
	}
	if err != nil {
		return nil, err
	}
	return v.(*layerSummary), nil
}

// fetch returns the summary of layer i of pi kept in m (c.layers, or
// c.light for a light one), putting it there first: from the local cache,
// else from pi's summary in the registry, else read from its blob (and put
// in the local cache).
func (c *Comparer) fetch(ctx context.Context, pi *platformImage, i int, light bool, m map[v1.Hash]*layerSummary) (*layerSummary, error) {
	d := pi.diffIDs[i]
	c.mu.Lock()
	s, ok := m[d]
	c.mu.Unlock()
	if ok {
		return s, nil
	}
	if !light {
		if s := c.fromCache(d); s != nil {
			pi.note(fromCache)
			return c.keep(m, d, s), nil
		}
		c.findSummary(ctx, pi)
		c.mu.Lock()
		s, ok := m[d]
		c.mu.Unlock()
		if ok {
			return s, nil
		}
	}
	s, err := c.readLayer(ctx, pi, i, light)
	if err != nil {
		return nil, err
	}
	pi.note(fromBlob)
	if !light && c.o.cache != nil {
		c.o.cache.Put(cacheKey(c.summaryKey, d), encodeLayerRecord(c.summaryKey, d, s))
	}
	return c.keep(m, d, s), nil
}

// keep puts s in m unless m has the layer already, and returns what m has.
func (c *Comparer) keep(m map[v1.Hash]*layerSummary, d v1.Hash, s *layerSummary) *layerSummary {
	c.mu.Lock()
	defer c.mu.Unlock()
	if had, ok := m[d]; ok {
		return had
	}
	m[d] = s
	return s
}

// openLayer returns the uncompressed, verified stream of layer i of pi and
// the name of the blob for messages.
func (c *Comparer) openLayer(pi *platformImage, i int) (io.ReadCloser, string, error) {
	l := pi.layers[i]
	diffID := pi.diffIDs[i]
	if !pi.src.compressed {
		rc, err := l.Uncompressed()
		if err != nil {
			return nil, diffID.String(), err
		}
		counted := &countingReader{r: rc, n: &c.read}
		return &readCloser{Reader: newVerifier(counted, diffID.String(), -1), closers: []io.Closer{rc}}, diffID.String(), nil
	}
	digest, err := l.Digest()
	if err != nil {
		return nil, diffID.String(), err
	}
	blob := digest.String()
	rc, err := l.Compressed()
	if err != nil {
		return nil, blob, err
	}
	var r io.Reader = &countingReader{r: rc, n: &c.read}
	if pi.src.verify {
		size, err := l.Size()
		if err != nil {
			size = -1
		}
		r = newVerifier(r, blob, size)
	}
	zr, err := decompress(r)
	if err != nil {
		rc.Close()
		return nil, blob, err
	}
	return &readCloser{Reader: zr, closers: []io.Closer{zr, rc}}, blob, nil
}

type readCloser struct {
	io.Reader
	closers []io.Closer
}

func (r *readCloser) Close() error {
	var first error
	for _, c := range r.closers {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// ctxReader stops reading when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// startRead waits for a slot of the read limit (WithReadLimit); done frees it.
func (c *Comparer) startRead(ctx context.Context) (done func(), err error) {
	if err := c.o.readLimit.Acquire(ctx, 1); err != nil {
		return nil, err
	}
	return func() { c.o.readLimit.Release(1) }, nil
}

// withLayer hands the uncompressed, verified stream of layer i of pi to
// read, holding a slot of the read limit (WithReadLimit) meanwhile.
func (c *Comparer) withLayer(ctx context.Context, pi *platformImage, i int, read func(r io.Reader) error) error {
	done, err := c.startRead(ctx)
	if err != nil {
		return err
	}
	defer done()
	rc, blob, err := c.openLayer(pi, i)
	if err == nil {
		err = read(&ctxReader{ctx: ctx, r: rc})
		rc.Close()
	}
	if err != nil {
		return fmt.Errorf("reading layer %s of %q: %w", blob, pi.src.ref, err)
	}
	return nil
}

// readLayer reads layer i of pi into a summary; light: only its packages.
func (c *Comparer) readLayer(ctx context.Context, pi *platformImage, i int, light bool) (*layerSummary, error) {
	var s *layerSummary
	err := c.withLayer(ctx, pi, i, func(r io.Reader) error {
		lr := newLayerReader(c.normalisers, c.o.packages || light)
		lr.light = light
		var err error
		if s, err = lr.read(r); err != nil {
			return err
		}
		// Read to the end so that the digest is checked.
		_, err = io.Copy(io.Discard, r)
		return err
	})
	return s, err
}

// fsTree is the merged file system of an image.
type fsTree struct {
	entries []*Entry
	byPath  map[string]*Entry
	// deleted maps paths removed by an upper layer to that layer's index.
	deleted map[string]int
}

// tree merges the cached layers of pi.
func (c *Comparer) tree(ctx context.Context, pi *platformImage) (*fsTree, error) {
	return c.treeOf(ctx, pi, false)
}

// treeOf merges the layers of pi, light ones (see summary) if light.
func (c *Comparer) treeOf(ctx context.Context, pi *platformImage, light bool) (*fsTree, error) {
	layers := make([]*layerSummary, len(pi.diffIDs))
	for i := range pi.diffIDs {
		s, err := c.summary(ctx, pi, i, light)
		if err != nil {
			return nil, err
		}
		layers[i] = s
	}
	return c.merge(layers), nil
}

// merge applies the layers in order and marks the noise.
func (c *Comparer) merge(layers []*layerSummary) *fsTree {
	t := newTree()
	for i, s := range layers {
		t.apply(i, s)
	}
	entries := t.finish()
	idx := make(map[string]*Entry, len(entries))
	for _, e := range entries {
		e.IgnoredBy = c.match.match(e.Path)
		idx[e.Path] = e
	}
	if c.o.defaultIgnores {
		for _, e := range entries {
			if e.IgnoredBy != "" || e.Type != TypeFile {
				continue
			}
			if src := pycacheSource(e.Path); src != "" {
				if se, ok := idx[src]; ok && se.IgnoredBy == "" {
					e.IgnoredBy = PycacheRule
				}
			}
		}
	}
	ignoreImplicitNoiseDirs(entries)
	return &fsTree{entries: entries, byPath: idx, deleted: t.deleted}
}

// ignoreImplicitNoiseDirs marks an implicit directory (one no layer has an
// entry for) as noise when everything below it is noise: it exists only to
// hold the noise. entries is sorted, so a directory's descendants follow it;
// going backwards marks inner directories first.
func ignoreImplicitNoiseDirs(entries []*Entry) {
	for i := len(entries) - 1; i >= 0; i-- {
		d := entries[i]
		if !d.Implicit || d.Path == "/" || d.IgnoredBy != "" {
			continue
		}
		prefix := d.Path + "/"
		rule := ""
		for _, e := range entries[i+1:] {
			if !strings.HasPrefix(e.Path, prefix) {
				break
			}
			if e.IgnoredBy == "" {
				rule = ""
				break
			}
			if rule == "" {
				rule = e.IgnoredBy
			}
		}
		d.IgnoredBy = rule
	}
}
