package detect

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// SummaryVersion is the version of what a summary holds and how: the layer
// reader (what an entry records), the content normalisers' rules and the
// encoding. Bump it in the same commit as any change to one of them that
// can change a layer summary's bytes for the same layer: a summary or a
// cache entry made by another version is then ignored, never trusted.
const SummaryVersion = 1

// Summaries in a registry: an OCI artifact whose subject is the platform
// image manifest.
const (
	// SummaryArtifactType is the artifactType of a summary's manifest.
	SummaryArtifactType = "application/vnd.imgver.summary.v1"
	// SummaryMediaType is the media type of the one layer of a summary's
	// manifest, which holds PlatformSummary.Data.
	SummaryMediaType types.MediaType = "application/vnd.imgver.summary.v1+zstd"
	// SummaryOptionsAnnotation names, on a summary's manifest, the options
	// key it was made with (PlatformSummary.OptionsKey).
	SummaryOptionsAnnotation = "io.github.imgver.summary.options"
)

// Where the layers of a platform image came from (PlatformResult.SourceA
// and SourceB, Snapshot.Source).
const (
	// SourceSummary: from the image's summary in the registry.
	SourceSummary = "summary"
	// SourceCache: from the local cache (WithLayerCache).
	SourceCache = "cache"
	// SourceLayers: at least one layer blob of the image was read.
	SourceLayers = "layers"
	// SourceNone: nothing was needed (a shortcut, or layers already read
	// for another image).
	SourceNone = "none"
)

// PlatformSummary is the summary of one platform image: what Diff and
// Fingerprint need of its layers, so that they need not read them.
type PlatformSummary struct {
	// Platform is "os/arch[/variant]".
	Platform string
	// Subject is the platform image's manifest (of an index's entry, the
	// platform image, not the index).
	Subject v1.Descriptor
	// OptionsKey says which options shaped the summary (Comparer.SummaryKey):
	// the value of SummaryOptionsAnnotation.
	OptionsKey string
	// MediaType is SummaryMediaType.
	MediaType types.MediaType
	// Data is the encoded summary: deterministic (the same image and
	// options give the same bytes) and compressed.
	Data []byte
}

// SummaryFinder finds the summary of an image in a registry. It represents
// the part of a registry client that Diff uses.
type SummaryFinder interface {
	// FindSummary returns the encoded summary (PlatformSummary.Data)
	// attached to subject, the digest of a platform image manifest; keys
	// are the options keys the Comparer can use, best first, so that a
	// finder holding several summaries of subject returns the first whose
	// SummaryOptionsAnnotation is among them. nil, nil: none. The Comparer
	// checks what it gets: a summary that does not decode, names another
	// subject or has another options key is ignored with a warning, as is
	// an error.
	FindSummary(ctx context.Context, subject name.Digest, keys []string) ([]byte, error)
}

// LayerCache stores encoded layer summaries by key (a Comparer's options
// key and a diff_id), and the bytes Snapshot.ReadFiles read of a file by
// the digest of its content (the image checks' /etc/passwd, /etc/group and
// entrypoint heads, mostly in a base layer many images share). Get returns
// what Put stored, or false. A Comparer checks what Get returns: bytes that
// do not decode, that hold another layer or options key, or a whole file
// that does not hash to its digest, are ignored and the layer is read.
type LayerCache interface {
	Get(key string) ([]byte, bool)
	Put(key string, b []byte)
}

// WithSummaries makes the Comparer look for the summary of a registry
// image (a platform image manifest) through f before it reads any of its
// layers, and use it when it was made with options this Comparer can use
// (see SummaryKey): then no layer blob of that image is read, except the
// few holding the files of a text diff (Diff shows a unified diff of a
// small modified text file, whose bytes a summary does not hold).
func WithSummaries(f SummaryFinder) Option {
	return func(o *options) error {
		o.finder = f
		return nil
	}
}

// WithLayerCache makes the Comparer keep the summary of every layer it
// reads in lc, and look there before it reads a layer.
func WithLayerCache(lc LayerCache) Option {
	return func(o *options) error {
		o.cache = lc
		return nil
	}
}

// SummaryKey returns the options key of c: what shapes a layer summary
// besides the layer itself (SummaryVersion, the enabled content
// normalisers, WithPackages). Ignore rules, ignored labels, the platform
// and history are applied when layers are merged: they are not in it.
func (c *Comparer) SummaryKey() string {
	return c.summaryKey
}

func (c *Comparer) key(pkgs bool) summaryKey {
	k := summaryKey{version: SummaryVersion, packages: pkgs}
	for _, n := range c.normalisers {
		k.normalisers = append(k.normalisers, n.Name())
	}
	return k
}

// acceptedKeys are the options keys of summaries c can use, best first: a
// summary made WithPackages serves a Comparer without.
func (c *Comparer) acceptedKeys() []string {
	if c.o.packages {
		return []string{c.SummaryKey()}
	}
	return []string{c.SummaryKey(), c.key(true).String()}
}

// cacheKey is the LayerCache key of a layer summary made with options key.
func cacheKey(key string, diffID v1.Hash) string {
	return key + " " + diffID.String()
}

// Summarize reads the image ref and returns the summary of each of its
// platform images (sorted by platform; the one WithPlatform chose). Layers
// come from the local cache (WithLayerCache) or are read; a SummaryFinder
// is never asked: a summary is made from the layers.
func (c *Comparer) Summarize(ctx context.Context, ref string) ([]PlatformSummary, error) {
	all, err := c.openImages(ctx, ref, false)
	if err != nil {
		return nil, err
	}
	var out []PlatformSummary
	for _, pi := range all {
		subject, err := pi.descriptor()
		if err != nil {
			return nil, fmt.Errorf("reading the manifest of %q: %w", ref, err)
		}
		s := &imageSummary{
			key:      c.summaryKey,
			platform: pi.platform,
			subject:  subject,
			config:   normaliseConfig(pi.cfg, nil),
			history:  createdBy(pi.cfg),
			diffIDs:  pi.diffIDs,
			layers:   map[v1.Hash]*layerSummary{},
		}
		for i, d := range pi.diffIDs {
			if s.layers[d], err = c.layer(ctx, pi, i); err != nil {
				return nil, err
			}
		}
		data, err := encodeImageSummary(s)
		if err != nil {
			return nil, fmt.Errorf("summarizing %q: %w", ref, err)
		}
		out = append(out, PlatformSummary{Platform: pi.platform, Subject: subject, OptionsKey: s.key, MediaType: SummaryMediaType, Data: data})
	}
	return out, nil
}

// descriptor returns the descriptor of pi's manifest, with its platform.
func (pi *platformImage) descriptor() (v1.Descriptor, error) {
	d := pi.desc
	if d.Digest.Hex == "" {
		var err error
		if d.Digest, err = pi.img.Digest(); err != nil {
			return d, err
		}
		if d.Size, err = pi.img.Size(); err != nil {
			return d, err
		}
		if d.MediaType, err = pi.img.MediaType(); err != nil {
			return d, err
		}
	}
	pl, err := v1.ParsePlatform(pi.platform)
	if err != nil {
		return d, err
	}
	d.Platform = pl
	d.Annotations, d.URLs, d.Data, d.ArtifactType = nil, nil, nil, ""
	return d, nil
}

// FingerprintSummary returns the fingerprint of the image whose platform
// summaries (PlatformSummary.Data) are given: the one Fingerprint returns
// for the image, with c's options, without reading it. The summaries must
// be made with c's content normalisers (WithPackages does not matter).
func (c *Comparer) FingerprintSummary(summaries ...[]byte) (string, error) {
	byPlatform := map[string]*Snapshot{}
	want := c.key(false)
	for _, data := range summaries {
		s, err := decodeImageSummary(data)
		if err != nil {
			return "", err
		}
		if k, _ := parseSummaryKey(s.key); !slices.Equal(k.normalisers, want.normalisers) {
			return "", &SummaryError{Offset: -1, Reason: fmt.Sprintf("made with options %q, not %q", s.key, c.SummaryKey())}
		}
		if p := c.o.platform; p != nil && s.platform != platformKey(p.OS, p.Architecture, p.Variant) {
			continue
		}
		if _, dup := byPlatform[s.platform]; dup {
			return "", fmt.Errorf("two summaries of platform %s", s.platform)
		}
		layers := make([]*layerSummary, len(s.diffIDs))
		for i, d := range s.diffIDs {
			layers[i] = s.layers[d]
		}
		t := c.merge(layers)
		byPlatform[s.platform] = &Snapshot{
			Platform: s.platform,
			Files:    t.entries,
			Config:   splitLabels(s.config, c.o.ignoredLabels),
			History:  s.history,
		}
	}
	if len(byPlatform) == 0 {
		return "", fmt.Errorf("no summary of the platform wanted")
	}
	var snaps []*Snapshot
	for _, p := range slices.Sorted(maps.Keys(byPlatform)) {
		snaps = append(snaps, byPlatform[p])
	}
	return c.fingerprint(snaps), nil
}

// origin says where a layer summary asked for on behalf of an image came
// from.
type origin uint8

const (
	fromBlob origin = iota
	fromCache
	fromSummary
)

func (pi *platformImage) note(o origin) { pi.origins.Or(1 << o) }

// source says where the layers asked for on behalf of pi came from: any
// blob read makes it SourceLayers.
func (pi *platformImage) source() string {
	o := pi.origins.Load()
	switch {
	case o&(1<<fromBlob) != 0:
		return SourceLayers
	case o&(1<<fromSummary) != 0:
		return SourceSummary
	case o&(1<<fromCache) != 0:
		return SourceCache
	}
	return SourceNone
}

func (pi *platformImage) warn(msg string) {
	pi.mu.Lock()
	defer pi.mu.Unlock()
	pi.warnings = append(pi.warnings, msg)
}

func (pi *platformImage) takeWarnings() []string {
	pi.mu.Lock()
	defer pi.mu.Unlock()
	return slices.Clone(pi.warnings)
}

// fromCache returns the summary of layer d from the local cache, or nil.
// An entry made WithPackages serves a Comparer without.
func (c *Comparer) fromCache(d v1.Hash) *layerSummary {
	if c.o.cache == nil {
		return nil
	}
	for _, key := range c.acceptedKeys() {
		b, ok := c.o.cache.Get(cacheKey(key, d))
		if !ok {
			continue
		}
		if k, id, s, err := decodeLayerRecord(b); err == nil && k == key && id == d {
			return c.fit(s)
		}
	}
	return nil
}

// fit returns s as c would have read it: without packages unless
// WithPackages.
func (c *Comparer) fit(s *layerSummary) *layerSummary {
	if c.o.packages || s.packages == nil {
		return s
	}
	t := *s
	t.packages = nil
	return &t
}

// findSummary looks once for the summary of pi, a registry image, through
// the SummaryFinder, and when c can use it puts its layer summaries into
// the in-memory cache (and the local cache). A summary c cannot use is
// ignored with a warning on pi.
func (c *Comparer) findSummary(ctx context.Context, pi *platformImage) {
	if c.o.finder == nil || pi.src.noFinder || pi.src.ref.Transport != TransportDocker || pi.digest.Hex == "" {
		return
	}
	pi.summaryOnce.Do(func() {
		subject := pi.src.ref.Name.Context().Digest(pi.digest.String())
		data, err := c.o.finder.FindSummary(ctx, subject, c.acceptedKeys())
		if err == nil && data == nil {
			return
		}
		var s *imageSummary
		if err == nil {
			s, err = c.checkSummary(data, pi)
		}
		if err != nil {
			if ctx.Err() == nil {
				pi.warn(fmt.Sprintf("ignoring the summary of %s: %v", subject, err))
			}
			return
		}
		pi.note(fromSummary)
		for d, l := range s.layers {
			l = c.keep(c.layers, d, c.fit(l))
			if c.o.cache != nil {
				c.o.cache.Put(cacheKey(c.summaryKey, d), encodeLayerRecord(c.summaryKey, d, l))
			}
		}
	})
}

// checkSummary decodes data and checks that it is the summary of pi made
// with options c can use.
func (c *Comparer) checkSummary(data []byte, pi *platformImage) (*imageSummary, error) {
	s, err := decodeImageSummary(data)
	if err != nil {
		return nil, err
	}
	switch {
	case !slices.Contains(c.acceptedKeys(), s.key):
		return nil, fmt.Errorf("made with options %q, not %q", s.key, c.summaryKey)
	case s.subject.Digest != pi.digest:
		return nil, fmt.Errorf("names another image, %s", s.subject.Digest)
	case s.platform != pi.platform || !slices.Equal(s.diffIDs, pi.diffIDs):
		return nil, fmt.Errorf("its platform or layers are not the image's")
	}
	return s, nil
}
