package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgver/imgver/internal/detect"
	"github.com/imgver/imgver/internal/flow"
	"github.com/imgver/imgver/internal/referrer"
)

// layerDigests returns the digests of the layers of img.
func layerDigests(t *testing.T, img v1.Image) []v1.Hash {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	var out []v1.Hash
	for _, l := range m.Layers {
		out = append(out, l.Digest)
	}
	return out
}

// registryImage returns the image ref of a registry.
func registryImage(t *testing.T, ref string) v1.Image {
	t.Helper()
	img, err := crane.Pull(ref, crane.WithContext(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// ownLayers returns the layers of img that none of others has: the blobs
// only a read of img fetches.
func ownLayers(t *testing.T, img v1.Image, others ...v1.Image) []v1.Hash {
	t.Helper()
	var theirs []v1.Hash
	for _, o := range others {
		theirs = append(theirs, layerDigests(t, o)...)
	}
	var out []v1.Hash
	for _, d := range layerDigests(t, img) {
		if !slices.Contains(theirs, d) {
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		t.Fatal("the image has no layer of its own")
	}
	return out
}

// runDetectJSON runs imgver detect --format json and decodes its report.
func runDetectJSON(t *testing.T, dir string, args ...string) (*flow.DetectReport, result) {
	t.Helper()
	rep, res := binaryJSON[flow.DetectReport](t, dir, append([]string{"detect"}, args...)...)
	if rep == nil {
		t.Fatalf("detect %v: exit %d\n%s%s", args, res.code, res.stdout, res.stderr)
	}
	return rep, res
}

// verdicts maps image name to "verdict cause".
func verdicts(rep *flow.DetectReport) map[string]string {
	out := map[string]string{}
	for _, di := range rep.Images {
		out[di.Name] = string(di.Verdict) + " " + string(di.Cause)
	}
	return out
}

// sources maps image name to its baseline_source.
func sources(rep *flow.DetectReport) map[string]string {
	out := map[string]string{}
	for _, di := range rep.Images {
		out[di.Name] = di.BaselineSource
	}
	return out
}

// summaryKey is the options key of the summaries detect uses.
func summaryKey(t *testing.T) string {
	t.Helper()
	c, err := detect.New(detect.WithPackages())
	if err != nil {
		t.Fatal(err)
	}
	return c.SummaryKey()
}

// referrersTag returns the index the referrers tag schema keeps for the
// manifest d of repo (sha256-<hex>): what a registry without the referrers
// API, such as distribution 2.8, lists the summaries of d by.
func referrersTag(t *testing.T, repo, digest string) *v1.IndexManifest {
	t.Helper()
	b, err := crane.Manifest(repo+":"+strings.Replace(digest, ":", "-", 1), crane.WithContext(t.Context()))
	if err != nil {
		t.Fatalf("the referrers tag of %s@%s: %v", repo, digest, err)
	}
	m, err := v1.ParseIndexManifest(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestE2EDetectSummaries: detect judges a baseline from its summary
// (imgver summarize attached it) without fetching any layer blob of its
// own, gives the verdicts it gives when it reads the layers (--no-summary,
// which fetches them), and ignores a summary that does not decode with a
// warning, reading the layers instead.
func TestE2EDetectSummaries(t *testing.T) {
	t.Parallel()
	r, cnt := countedE2ERepo(t)
	names := []string{"gateway", "worker", "console", "reports"}
	// The layers of each baseline that no other image of the run has (the
	// noise layer of the releases is the same in three of them).
	var cands, baselines []v1.Image
	for _, n := range names {
		cand, _ := layoutImage(t, filepath.Join(r.dir, "build", n))
		cands = append(cands, cand)
		baselines = append(baselines, registryImage(t, r.ref(n, "v1.0.0")))
	}
	own := map[string][]v1.Hash{}
	for i, n := range names {
		others := slices.Concat(cands, baselines[:i], baselines[i+1:])
		own[n] = ownLayers(t, baselines[i], others...)
	}
	wantVerdicts := map[string]string{"gateway": "same ", "worker": "changed app", "console": "changed config", "reports": "changed base"}

	cnt.reset()
	rep, _ := runDetectJSON(t, r.dir, "--commit", r.sha, "--no-summary")
	if diff := cmp.Diff(wantVerdicts, verdicts(rep)); diff != "" {
		t.Errorf("detect --no-summary (-want +got):\n%s", diff)
	}
	for _, n := range names {
		got := cnt.gets(own[n])
		t.Logf("--no-summary: %d GETs of the %d layers of %s's baseline of its own", got, len(own[n]), n)
		if got == 0 {
			t.Errorf("--no-summary: no layer of %s's baseline was fetched", n)
		}
	}
	if diff := cmp.Diff(map[string]string{"gateway": "layers", "worker": "layers", "console": "layers", "reports": "layers"}, sources(rep)); diff != "" {
		t.Errorf("detect --no-summary: baseline_source (-want +got):\n%s", diff)
	}

	// Backfill the releases, except gateway's: its summary is garbage,
	// attached with the right type and options key by someone who can push.
	args := []string{"summarize"}
	for _, n := range names[1:] {
		args = append(args, r.ref(n, "v1.0.0"))
	}
	srep, res := binaryJSON[flow.SummarizeReport](t, r.dir, args...)
	if srep == nil {
		t.Fatalf("summarize: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	for _, im := range srep.Images {
		if len(im.Summaries) != 1 || im.Summaries[0].Status != "attached" || im.Summaries[0].Bytes == 0 {
			t.Errorf("summarize %s: %+v", im.Ref, im.Summaries)
			continue
		}
		s := im.Summaries[0]
		t.Logf("summary of %s: %d bytes (artifact %s)", im.Ref, s.Bytes, s.Digest)
		d, err := headDigest(t, im.Ref)
		if err != nil || s.Subject != d.String() {
			t.Errorf("summary of %s names %s, want %v (%v)", im.Ref, s.Subject, d, err)
		}
		repo, _, _ := strings.Cut(im.Ref, ":v1.0.0")
		if m := referrersTag(t, repo, d.String()); len(m.Manifests) != 1 || m.Manifests[0].Digest.String() != s.Digest ||
			m.Manifests[0].ArtifactType != detect.SummaryArtifactType || m.Manifests[0].Annotations[detect.SummaryOptionsAnnotation] != summaryKey(t) {
			t.Errorf("the referrers tag of %s lists %+v, want the summary %s", im.Ref, m.Manifests, s.Digest)
		}
	}
	// Again: the same bytes are there already.
	res = runBinary(t, r.dir, nil, "summarize", r.ref("worker", "v1.0.0"))
	if res.code != 0 || !strings.Contains(res.stdout, " exists\n") {
		t.Errorf("summarize again: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	gwDesc, err := crane.Head(r.ref("gateway", "v1.0.0"), crane.WithContext(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	gw, err := name.NewRepository(r.prefix + "/gateway")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := referrer.Attach(t.Context(), gw, *gwDesc, referrer.Artifact{
		ArtifactType: detect.SummaryArtifactType, MediaType: detect.SummaryMediaType, Data: []byte("not a summary"),
		Annotations: map[string]string{detect.SummaryOptionsAnnotation: summaryKey(t)},
	}); err != nil {
		t.Fatal(err)
	}

	cnt.reset()
	rep, res = runDetectJSON(t, r.dir, "--commit", r.sha)
	if diff := cmp.Diff(wantVerdicts, verdicts(rep)); diff != "" {
		t.Errorf("detect with summaries (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"gateway": "layers", "worker": "summary", "console": "summary", "reports": "summary"}, sources(rep)); diff != "" {
		t.Errorf("detect with summaries: baseline_source (-want +got):\n%s", diff)
	}
	for _, n := range names[1:] {
		got := cnt.gets(own[n])
		t.Logf("with its summary: %d GETs of the %d layers of %s's baseline of its own", got, len(own[n]), n)
		// reports' change is a small text file (/opt/jre/rt.jar), whose
		// unified diff needs its bytes: the one layer that holds it.
		limit := 0
		if n == "reports" {
			limit = 1
		}
		if got > limit {
			t.Errorf("with its summary, %d layer blobs of %s's baseline were fetched, want at most %d", got, n, limit)
		}
	}
	if cnt.gets(own["gateway"]) == 0 {
		t.Error("gateway's garbage summary was used: no layer of its baseline was fetched")
	}
	if !strings.Contains(res.stderr, "warning: image gateway: ignoring the summary of") {
		t.Errorf("no warning about gateway's summary:\n%s", res.stderr)
	}
	for _, di := range rep.Images {
		if (di.Name == "gateway") != slices.ContainsFunc(di.Warnings, func(w flow.Warning) bool { return strings.Contains(w.Error(), "summary") }) {
			t.Errorf("%s: warnings %v", di.Name, di.Warnings)
		}
	}

	// The text says what was read with --verbose.
	res = runBinary(t, r.dir, nil, "detect", "--commit", r.sha, "--verbose", "--no-check", "--no-base")
	if res.code != 0 || !strings.Contains(res.stdout, "Baselines read from (summary, cache, layers, none): gateway layers, worker summary, console summary, reports summary.\n") {
		t.Errorf("detect --verbose: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
}

// TestE2EPublishSummaries: publish attaches the summary of each image it
// pushes (listed by the referrers tag sha256-<hex> of distribution 2.8), a
// rerun attaches nothing, release --retag keeps them (the release tag names
// the same manifest), and diff reads the release from its summary.
func TestE2EPublishSummaries(t *testing.T) {
	t.Parallel()
	r, cnt := countedE2ERepo(t)
	if res := runBinary(t, r.dir, nil, "detect", "--write", "--commit", r.sha); res.code != 0 {
		t.Fatalf("detect --write: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	rep, res := publishJSON(t, r.dir, "--commit", r.sha)
	if rep == nil {
		t.Fatalf("publish: exit %d\n%s", res.code, res.stderr)
	}
	if len(rep.Images) != 3 {
		t.Fatalf("published %d images, want 3", len(rep.Images))
	}
	attached := map[string]string{}
	for _, pi := range rep.Images {
		if len(pi.Summaries) != 1 || pi.Summaries[0].Status != "attached" || pi.Summaries[0].Subject != pi.Digest || len(pi.Warnings) != 0 {
			t.Errorf("%s: summaries %+v, warnings %v", pi.Name, pi.Summaries, pi.Warnings)
			continue
		}
		s := pi.Summaries[0]
		attached[pi.Name] = s.Digest
		t.Logf("publish attached to %s a summary of %d bytes", pi.Name, s.Bytes)
		m := referrersTag(t, pi.Repository, pi.Digest)
		if len(m.Manifests) != 1 || m.Manifests[0].Digest.String() != s.Digest || m.Manifests[0].ArtifactType != detect.SummaryArtifactType {
			t.Errorf("the referrers tag of %s lists %+v, want the summary %s", pi.Name, m.Manifests, s.Digest)
		}
	}

	// A rerun finds them and attaches nothing.
	cnt.reset()
	rep, res = publishJSON(t, r.dir, "--commit", r.sha)
	if rep == nil {
		t.Fatalf("publish again: exit %d\n%s", res.code, res.stderr)
	}
	for _, pi := range rep.Images {
		if pi.Status != "exists" || len(pi.Summaries) != 0 || len(pi.Warnings) != 0 {
			t.Errorf("publish again: %s %s, summaries %+v, warnings %v", pi.Name, pi.Status, pi.Summaries, pi.Warnings)
		}
	}
	for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
		if n := cnt.requests[m].Load(); n != 0 {
			t.Errorf("the rerun sent %d %s requests", n, m)
		}
	}

	if res := runBinary(t, r.dir, nil, "release", "v1.1.0", "--retag", "--commit", r.sha); res.code != 0 {
		t.Fatalf("release --retag: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	for _, pi := range rep.Images {
		rel := r.ref(pi.Name, "v1.1.0")
		d, err := headDigest(t, rel)
		if err != nil || d.String() != pi.Digest {
			t.Fatalf("%s = %v (%v), want %s", rel, d, err, pi.Digest)
		}
		sub, err := name.NewDigest(pi.Repository + "@" + pi.Digest)
		if err != nil {
			t.Fatal(err)
		}
		descs, err := referrer.List(t.Context(), sub, detect.SummaryArtifactType)
		if err != nil || len(descs) != 1 || descs[0].Digest.String() != attached[pi.Name] {
			t.Errorf("summaries of %s: %+v (%v), want %s", rel, descs, err, attached[pi.Name])
		}
	}

	// diff reads the release v1.1.0 from its summary: none of its own
	// layers (those v1.0.0 does not share) is fetched.
	own := ownLayers(t, registryImage(t, r.ref("worker", "v1.1.0")), registryImage(t, r.ref("worker", "v1.0.0")))
	cnt.reset()
	res = runBinary(t, r.dir, nil, "diff", "--format", "json", r.ref("worker", "v1.1.0"), r.ref("worker", "v1.0.0"))
	if res.code != 1 {
		t.Fatalf("diff v1.1.0 v1.0.0: exit %d, want 1\n%s%s", res.code, res.stdout, res.stderr)
	}
	var dres detect.Result
	if err := json.Unmarshal([]byte(res.stdout), &dres); err != nil || len(dres.Platforms) != 1 {
		t.Fatalf("diff --format json: %v\n%s", err, res.stdout)
	}
	if p := dres.Platforms[0]; p.SourceA != detect.SourceSummary || p.SourceB != detect.SourceLayers {
		t.Errorf("diff: source_a %q, source_b %q, want summary, layers", p.SourceA, p.SourceB)
	}
	if n := cnt.gets(own); n != 0 {
		t.Errorf("diff fetched %d layer blobs of worker:v1.1.0 of its own, want 0", n)
	}
}
