package detect

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imgver/imgver/internal/imagebuild"
	"github.com/imgver/imgver/internal/imagetest"
	"github.com/imgver/imgver/internal/regtest"
)

// summarize returns c.Summarize(ref).
func summarize(t testing.TB, c *Comparer, ref string) []PlatformSummary {
	t.Helper()
	sums, err := c.Summarize(t.Context(), ref)
	if err != nil {
		t.Fatalf("Summarize: %v", err)
	}
	return sums
}

// checkSummaries checks, for the image ref that c fingerprinted as fp,
// that its summaries give the same fingerprint and that decoding and
// encoding one again gives the same bytes. The fingerprint helper calls it,
// so every test case that takes a fingerprint checks its summary too.
func checkSummaries(t testing.TB, c *Comparer, ref, fp string) {
	t.Helper()
	sums := summarize(t, c, ref)
	var data [][]byte
	for _, s := range sums {
		is, err := decodeImageSummary(s.Data)
		if err != nil {
			t.Fatalf("decoding the summary of %s: %v", s.Platform, err)
		}
		again, err := encodeImageSummary(is)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, s.Data) {
			t.Errorf("summary of %s: decoding and encoding again changes its bytes", s.Platform)
		}
		data = append(data, s.Data)
	}
	got, err := c.FingerprintSummary(data...)
	if err != nil {
		t.Fatalf("FingerprintSummary: %v", err)
	}
	if got != fp {
		t.Errorf("fingerprint from the summaries %s, from the layers %s", got, fp)
	}
}

// richSpec is an image with every kind of entry and field a layer summary
// holds.
func richSpec(t testing.TB, version string) spec {
	ping := file("bin/ping", "ELF ping")
	ping.xattrs = map[string]string{"security.capability": "\x01\x00\x00\x02", "user.a": ""}
	ping.mode = 0o4755
	return spec{layers: [][]f{
		{
			dir("bin/"), ping, dir("etc/"), file("etc/passwd", "root:x:0:0::/root:/bin/sh\n"),
			{name: "dev/null", typ: tar.TypeChar, mode: 0o666, devmaj: 1, devmin: 3},
			{name: "dev/sda", typ: tar.TypeBlock, mode: 0o660, devmaj: 8, gid: 6},
			{name: "run/fifo", typ: tar.TypeFifo, mode: 0o600, uid: 1 << 32, gid: 1<<31 + 1}, // beyond 32 bits: PAX
			symlink("usr/lib/libx.so", "libx.so.1"), file("usr/lib/libx.so.1", "ELF"),
			{name: "usr/lib/libx.so.hard", typ: tar.TypeLink, link: "usr/lib/libx.so.1"},
			dir("var/lib/dpkg/"), file("var/lib/dpkg/status", imagebuild.DpkgStatus("libssl3="+version, "tzdata=2024a")),
			file("usr/share/doc/changelog.gz", string(gzipBytes(t, []byte("changes "+version), 9))),
			file("opt/app/app.jar", jarWith(t, [2]string{"META-INF/maven/com.example/app/pom.properties", pom("com.example", "app", version)})),
		},
		{f{name: "etc/.wh.passwd"}, dir("srv/"), f{name: "srv/.wh..wh..opq"}, file("srv/a", version), file("tmp/x.log", "noise")},
		{}, // an empty layer
		{},
	}}
}

// TestSummaryRoundTrip: a decoded summary holds what reading the layers
// gave, field for field.
func TestSummaryRoundTrip(t *testing.T) {
	t.Parallel()
	ref := writeOCI(t, richSpec(t, "1.0").image(t))
	c := newComparer(t, WithPackages())
	sums := summarize(t, c, ref)
	if len(sums) != 1 {
		t.Fatalf("%d summaries, want 1", len(sums))
	}
	s, err := decodeImageSummary(sums[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	src, err := c.open(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}
	imgs, err := src.images(nil)
	if err != nil {
		t.Fatal(err)
	}
	pi := imgs["linux/amd64"]
	if d := cmp.Diff(pi.diffIDs, s.diffIDs); d != "" {
		t.Errorf("diff_ids (-read +decoded):\n%s", d)
	}
	if len(s.layers) != 3 { // the two empty layers are one
		t.Errorf("%d distinct layers, want 3", len(s.layers))
	}
	for i, d := range pi.diffIDs {
		read, err := c.readLayer(t.Context(), pi, i, false)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(read, s.layers[d], cmp.AllowUnexported(layerSummary{}, Entry{})); d != "" {
			t.Errorf("layer %d (-read +decoded):\n%s", i, d)
		}
	}
	if len(s.layers[pi.diffIDs[0]].packages) != 2 {
		t.Errorf("packages of the first layer: %v", s.layers[pi.diffIDs[0]].packages)
	}
	if want := normaliseConfig(pi.cfg, nil); !cmp.Equal(want, s.config) {
		t.Errorf("config (-want +got):\n%s", cmp.Diff(want, s.config))
	}
	if s.subject.Digest != pi.digest || s.platform != "linux/amd64" || s.key != c.SummaryKey() {
		t.Errorf("subject %s platform %s key %s", s.subject.Digest, s.platform, s.key)
	}
	// The same image summarised again, by another Comparer: the same bytes.
	c2 := newComparer(t, WithPackages())
	again := summarize(t, c2, ref)
	if !bytes.Equal(again[0].Data, sums[0].Data) {
		t.Error("two Summarize runs give different bytes")
	}
	fp := fingerprint(t, ref, WithPackages())
	checkSummaries(t, c, ref, fp)
	t.Logf("summary of the test image: %d bytes", len(sums[0].Data))
}

// TestFingerprintSummaryOptions: the fingerprint from summaries follows
// the Comparer's merge-time options, and refuses summaries made with other
// normalisers.
func TestFingerprintSummaryOptions(t *testing.T) {
	t.Parallel()
	ref := writeOCI(t, richSpec(t, "1.0").image(t))
	made := newComparer(t, WithPackages())
	sums := summarize(t, made, ref)
	for _, opts := range [][]Option{nil, {WithoutDefaultIgnores()}, {WithIgnore("/srv/**")}, {WithHistory()}, {WithIgnoredLabels("team")}} {
		c := newComparer(t, opts...)
		got, err := c.FingerprintSummary(sums[0].Data)
		if err != nil {
			t.Fatal(err)
		}
		if want := fingerprint(t, ref, opts...); got != want {
			t.Errorf("options %d: fingerprint from the summary %s, from the layers %s", len(opts), got, want)
		}
	}
	other := newComparer(t, WithoutNormalisers("gzip"))
	var se *SummaryError
	if _, err := other.FingerprintSummary(sums[0].Data); !errors.As(err, &se) {
		t.Errorf("summary made with other normalisers: %v, want a SummaryError", err)
	}
	arm := newComparer(t, WithPlatform("linux/arm64"))
	if _, err := arm.FingerprintSummary(sums[0].Data); err == nil {
		t.Error("no summary of the platform chosen, but no error")
	}
}

// ignoreSources leaves out of a comparison of results what says where the
// layers came from.
var ignoreSources = cmpopts.IgnoreFields(PlatformResult{}, "SourceA", "SourceB", "Warnings")

// mapFinder serves summaries by subject digest; it ignores the keys, so
// that the Comparer's own checks are tested.
type mapFinder struct {
	mu    sync.Mutex
	m     map[string][]byte
	err   error
	asked []string
}

func (f *mapFinder) FindSummary(_ context.Context, subject name.Digest, keys []string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, subject.String()+" "+strings.Join(keys, " "))
	return f.m[subject.DigestStr()], f.err
}

var _ SummaryFinder = (*mapFinder)(nil)

// mapCache is a LayerCache in memory.
type mapCache struct {
	mu        sync.Mutex
	m         map[string][]byte
	gets, put int
}

func newMapCache() *mapCache { return &mapCache{m: map[string][]byte{}} }

func (c *mapCache) Get(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gets++
	b, ok := c.m[key]
	return b, ok
}

func (c *mapCache) Put(key string, b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.put++
	c.m[key] = b
}

var _ LayerCache = (*mapCache)(nil)

// countingRegistry is an in-process registry that counts the GETs of each
// blob.
type countingRegistry struct {
	host string
	mu   sync.Mutex
	gets map[string]int
}

func startCountingRegistry(t *testing.T) *countingRegistry {
	t.Helper()
	cr := &countingRegistry{gets: map[string]int{}}
	cr.host = regtest.StartBehind(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if i := strings.Index(r.URL.Path, "/blobs/"); i >= 0 && r.Method == http.MethodGet {
				cr.mu.Lock()
				cr.gets[r.URL.Path[i+len("/blobs/"):]]++
				cr.mu.Unlock()
			}
			next.ServeHTTP(w, r)
		})
	})
	return cr
}

// layerGets counts the GETs of the layer blobs of img, each blob once.
func (cr *countingRegistry) layerGets(t *testing.T, img v1.Image) int {
	t.Helper()
	ds := imagetest.LayerDigests(t, img)
	cr.mu.Lock()
	defer cr.mu.Unlock()
	n := 0
	seen := map[v1.Hash]bool{}
	for _, d := range ds {
		if !seen[d] {
			seen[d] = true
			n += cr.gets[d.String()]
		}
	}
	return n
}

// summaryOf returns the encoded summary of the single-platform image ref,
// made by a Comparer with opts.
func summaryOf(t *testing.T, ref string, opts ...Option) []byte {
	t.Helper()
	return summarize(t, newComparer(t, opts...), ref)[0].Data
}

// reencoded returns the image summary data with its decoded bytes changed
// by fn.
func reencoded(t *testing.T, data []byte, fn func([]byte) []byte) []byte {
	t.Helper()
	b, err := uncompress(data)
	if err != nil {
		t.Fatal(err)
	}
	return compress(fn(b))
}

// TestDiffWithSummaries: a baseline in a registry with a usable summary is
// compared without reading any of its layer blobs, with the verdict of a
// full read; a summary that cannot be used is ignored with a warning, the
// layers are read and the verdict is the same.
func TestDiffWithSummaries(t *testing.T) {
	t.Parallel()
	cr := startCountingRegistry(t)
	baseImg := richSpec(t, "1.0").image(t)
	base := cr.host + "/app:v1"
	baseDigest := regtest.Push(t, base, baseImg)
	other := cr.host + "/other:v1"
	regtest.Push(t, other, richSpec(t, "9.9").image(t))
	cand := writeOCI(t, richSpec(t, "2.0").image(t))

	good := summaryOf(t, base, WithPackages())
	goodNoPkgs := summaryOf(t, base)
	noGzip := summaryOf(t, base, WithPackages(), WithoutNormalisers("gzip"))
	otherVersion := reencoded(t, good, func(b []byte) []byte {
		b[len(summaryMagic)] = SummaryVersion + 1
		return b
	})
	truncated := good[:len(good)/2]
	flipped := reencoded(t, good, func(b []byte) []byte {
		// A path of the first layer made relative: decodes no more.
		i := bytes.Index(b, []byte("/bin/ping"))
		b[i] = 'x'
		return b
	})
	wrongSubject := summaryOf(t, other, WithPackages())

	want := diff(t, base, cand, WithPackages())
	if !want.Changed() || len(want.Packages) == 0 {
		t.Fatalf("the test images should differ in files and packages: %v", summarise(want))
	}
	tests := []struct {
		name       string
		summary    []byte
		finderErr  error
		opts       []Option
		wantSource string
		warning    string
	}{
		{name: "good", summary: good, opts: []Option{WithPackages()}, wantSource: SourceSummary},
		{name: "made with packages, used without", summary: good, wantSource: SourceSummary},
		{name: "made without packages, wanted with", summary: goodNoPkgs, opts: []Option{WithPackages()}, wantSource: SourceLayers, warning: "made with options"},
		{name: "other normalisers", summary: noGzip, opts: []Option{WithPackages()}, wantSource: SourceLayers, warning: "made with options"},
		{name: "other SummaryVersion", summary: otherVersion, opts: []Option{WithPackages()}, wantSource: SourceLayers, warning: "summary version"},
		{name: "truncated", summary: truncated, opts: []Option{WithPackages()}, wantSource: SourceLayers, warning: "decompressing"},
		{name: "bad path", summary: flipped, opts: []Option{WithPackages()}, wantSource: SourceLayers, warning: "bad path"},
		{name: "garbage", summary: []byte("not zstd at all"), opts: []Option{WithPackages()}, wantSource: SourceLayers, warning: "bad summary"},
		{name: "another subject", summary: wrongSubject, opts: []Option{WithPackages()}, wantSource: SourceLayers, warning: "names another image"},
		{name: "finder error", summary: good, finderErr: errors.New("registry down"), opts: []Option{WithPackages()}, wantSource: SourceLayers, warning: "registry down"},
		{name: "none", opts: []Option{WithPackages()}, wantSource: SourceLayers},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Not parallel: blob GETs are counted per registry.
			finder := &mapFinder{m: map[string][]byte{baseDigest.String(): tc.summary}, err: tc.finderErr}
			before := cr.layerGets(t, baseImg)
			c := newComparer(t, append([]Option{WithSummaries(finder)}, tc.opts...)...)
			res := diffWith(t, c, base, cand)
			gets := cr.layerGets(t, baseImg) - before
			pr := res.Platforms[0]
			if pr.SourceA != tc.wantSource || pr.SourceB != SourceLayers {
				t.Errorf("sources %q %q, want %q %q", pr.SourceA, pr.SourceB, tc.wantSource, SourceLayers)
			}
			// The changed files' text diffs need the content of
			// layers 0 and 1 of the baseline: a summary has none.
			// Reading its three distinct layers takes three GETs more.
			wantGets := map[string]int{SourceSummary: 2, SourceLayers: 5}[tc.wantSource]
			if gets != wantGets {
				t.Errorf("%d GETs of the baseline's layer blobs, want %d", gets, wantGets)
			}
			if tc.warning == "" && len(pr.Warnings) > 0 || tc.warning != "" && (len(pr.Warnings) != 1 || !strings.Contains(pr.Warnings[0], tc.warning)) {
				t.Errorf("warnings %q, want one with %q", pr.Warnings, tc.warning)
			}
			wantRes := want
			if !c.o.packages {
				wantRes = diff(t, base, cand)
			}
			if d := cmp.Diff(wantRes, res, ignoreSources, cmp.AllowUnexported(Entry{})); d != "" {
				t.Errorf("result (-full read +with summary):\n%s", d)
			}
			if len(finder.asked) != 1 || !strings.HasPrefix(finder.asked[0], cr.host+"/app@"+baseDigest.String()) {
				t.Errorf("finder asked %q", finder.asked)
			}
		})
	}
}

// TestSummaryNoBlobRead: with a good summary and a candidate whose changed
// files are not text, no blob of the baseline is read at all.
func TestSummaryNoBlobRead(t *testing.T) {
	t.Parallel()
	cr := startCountingRegistry(t)
	a := base()
	b := base().addLayer(file("srv/bin", "\x00binary"))
	img := a.image(t)
	ref := cr.host + "/app:v1"
	digest := regtest.Push(t, ref, img)
	finder := &mapFinder{m: map[string][]byte{digest.String(): summaryOf(t, ref)}}
	want := fingerprint(t, ref)
	before := cr.layerGets(t, img)
	c := newComparer(t, WithSummaries(finder))
	snaps, err := c.Snapshot(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if snaps[0].Source != SourceSummary {
		t.Errorf("snapshot source %q", snaps[0].Source)
	}
	// The layers are at hand now: a second look reads nothing.
	snaps, err = c.Snapshot(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if snaps[0].Source != SourceNone {
		t.Errorf("second snapshot source %q", snaps[0].Source)
	}
	fp, err := c.Fingerprint(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}
	if fp != want {
		t.Error("the fingerprint with a summary differs")
	}
	res := diffWith(t, c, ref, writeOCI(t, b.image(t)))
	if got := cr.layerGets(t, img) - before; got != 0 {
		t.Errorf("%d GETs of the baseline's layer blobs, want 0", got)
	}
	if d := cmp.Diff([]string{"added /srv", "added /srv/bin"}, summarise(res)); d != "" {
		t.Errorf("differences (-want +got):\n%s", d)
	}
}

// TestLayerCache: a second Comparer with the same local cache reads no
// blob; a corrupt entry is ignored and the layer read again; an entry made
// WithPackages serves a Comparer without.
func TestLayerCache(t *testing.T) {
	t.Parallel()
	cr := startCountingRegistry(t)
	imgA, imgB := richSpec(t, "1.0").image(t), richSpec(t, "2.0").image(t)
	a, b := cr.host+"/app:v1", cr.host+"/app:v2"
	regtest.Push(t, a, imgA)
	regtest.Push(t, b, imgB)
	gets := func() int { return cr.layerGets(t, imgA) + cr.layerGets(t, imgB) }
	run := func(cache LayerCache, opts ...Option) *Result {
		t.Helper()
		return diffWith(t, newComparer(t, append([]Option{WithLayerCache(cache)}, opts...)...), a, b)
	}
	opt := cmp.Options{ignoreSources, cmp.AllowUnexported(Entry{})}

	cache := newMapCache()
	before := gets()
	cold := run(cache, WithPackages())
	if cold.Platforms[0].SourceA != SourceLayers || cache.put == 0 {
		t.Fatalf("cold run: source %q, %d puts", cold.Platforms[0].SourceA, cache.put)
	}
	readCold := gets() - before

	// Warm: only the text diffs read blobs (two files, one layer a side).
	before = gets()
	warm := run(cache, WithPackages())
	if warm.Platforms[0].SourceA != SourceCache || warm.Platforms[0].SourceB != SourceCache {
		t.Errorf("warm run: sources %q %q", warm.Platforms[0].SourceA, warm.Platforms[0].SourceB)
	}
	if d := cmp.Diff(cold, warm, opt); d != "" {
		t.Errorf("warm result (-cold +warm):\n%s", d)
	}
	if got := gets() - before; got >= readCold {
		t.Errorf("warm run read %d layer blobs, the cold one %d", got, readCold)
	}
	warmNoPkgs := run(cache)
	if warmNoPkgs.Platforms[0].SourceA != SourceCache {
		t.Errorf("entries made with packages do not serve a Comparer without: source %q", warmNoPkgs.Platforms[0].SourceA)
	}
	if d := cmp.Diff(diff(t, a, b), warmNoPkgs, opt); d != "" {
		t.Errorf("warm result without packages (-full +warm):\n%s", d)
	}

	// Corrupt every entry: each is ignored, the layers are read again.
	for k, v := range cache.m {
		cache.m[k] = v[:len(v)-3]
	}
	bad := run(cache, WithPackages())
	if bad.Platforms[0].SourceA != SourceLayers {
		t.Errorf("corrupt cache: source %q", bad.Platforms[0].SourceA)
	}
	if d := cmp.Diff(cold, bad, opt); d != "" {
		t.Errorf("result with a corrupt cache (-cold +corrupt):\n%s", d)
	}
	// An entry of another layer under this key is not used either.
	var keys []string
	for k := range cache.m {
		keys = append(keys, k)
	}
	for i, k := range keys {
		cache.m[k] = cache.m[keys[(i+1)%len(keys)]]
	}
	swapped := run(cache, WithPackages())
	if swapped.Platforms[0].SourceA != SourceLayers {
		t.Errorf("swapped entries: source %q", swapped.Platforms[0].SourceA)
	}
	if d := cmp.Diff(cold, swapped, opt); d != "" {
		t.Errorf("result with swapped entries (-cold +swapped):\n%s", d)
	}
}

// TestSummarySourceNone: a shortcut reads nothing.
func TestSummarySourceNone(t *testing.T) {
	t.Parallel()
	img := base().image(t)
	a := writeOCI(t, img)
	b := writeOCI(t, mutate.Annotations(img, map[string]string{"x": "y"}).(v1.Image))
	if pr := diff(t, a, b).Platforms[0]; pr.SourceA != SourceNone || pr.SourceB != SourceNone {
		t.Errorf("sources %q %q, want none", pr.SourceA, pr.SourceB)
	}
	// The layers above a shared base are read, the base is not.
	upper := func(mtime time.Time) string {
		s := base().addLayer(f{name: "x", content: "1", mode: 0o644, mtime: mtime})
		return writeOCI(t, s.image(t))
	}
	c := newComparer(t)
	res := diffWith(t, c, upper(epoch), upper(epoch.Add(time.Hour)))
	if pr := res.Platforms[0]; pr.Shortcut != "shared-base" || pr.SourceA != SourceLayers || pr.SourceB != SourceLayers {
		t.Errorf("shortcut %q sources %q %q, want shared-base layers layers", pr.Shortcut, pr.SourceA, pr.SourceB)
	}
	// The same comparison again: every layer it needs is at hand.
	res = diffWith(t, c, upper(epoch), upper(epoch.Add(time.Hour)))
	if pr := res.Platforms[0]; pr.SourceA != SourceNone || pr.SourceB != SourceNone {
		t.Errorf("again: sources %q %q, want none", pr.SourceA, pr.SourceB)
	}
}

// TestRemoteSummarize: Summarize of a registry image names its manifest as
// the subject, and is not made from a summary.
func TestRemoteSummarize(t *testing.T) {
	t.Parallel()
	cr := startCountingRegistry(t)
	img := base().image(t)
	ref := cr.host + "/app:v1"
	want := regtest.Push(t, ref, img)
	finder := &mapFinder{m: map[string][]byte{}}
	c := newComparer(t, WithSummaries(finder), WithRemoteOptions(remote.WithContext(t.Context())))
	sums := summarize(t, c, ref)
	s := sums[0]
	if s.Subject.Digest != want || s.Subject.Platform == nil || s.Subject.Platform.Architecture != "amd64" || s.Subject.Size == 0 || !s.Subject.MediaType.IsImage() {
		t.Errorf("subject %+v, want digest %s", s.Subject, want)
	}
	if len(finder.asked) != 0 {
		t.Errorf("Summarize asked the finder: %q", finder.asked)
	}
	if s.OptionsKey != c.SummaryKey() || s.MediaType != SummaryMediaType {
		t.Errorf("key %q media type %q", s.OptionsKey, s.MediaType)
	}
}
