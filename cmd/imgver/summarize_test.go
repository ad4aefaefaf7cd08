package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgver/imgver/internal/detect"
	"github.com/imgver/imgver/internal/flow"
	"github.com/imgver/imgver/internal/imagetest"
	"github.com/imgver/imgver/internal/referrer"
	"github.com/imgver/imgver/internal/regtest"
)

// TestSummarizeCommand: imgver summarize attaches the summary of a registry
// image (exit 0), finds it there on a rerun, and refuses what is not a
// registry image, a missing one and an unknown format (exit 2).
func TestSummarizeCommand(t *testing.T) {
	t.Parallel()
	host := regtest.Start(t)
	ref := host + "/acme/svc:v1.0.0"
	d := regtest.Push(t, ref, imagetest.Random(t, 1, time.Unix(1_700_000_000, 0)))
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr string
	}{
		{"attach", []string{ref}, 0, []string{"IMAGE", "PLATFORM", "SUBJECT", ref, shortDigest(d.String()), "attached\n"}, ""},
		{"again", []string{ref}, 0, []string{ref, "exists\n"}, ""},
		{"json", []string{"--format", "json", ref}, 0, []string{`"ref": "` + ref + `"`, `"subject": "` + d.String() + `"`, `"status": "exists"`}, ""},
		{"layout", []string{"oci:build/svc"}, 2, nil, "oci:build/svc is not a registry image"},
		{"missing", []string{host + "/acme/none:v1"}, 2, nil, host + "/acme/none:v1"},
		{"format", []string{"--format", "yaml", ref}, 2, nil, "yaml"},
		{"no args", nil, 2, nil, "requires at least 1 arg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := imgver(t, append([]string{"summarize"}, tc.args...)...)
			if res.code != tc.code {
				t.Fatalf("exit %d, want %d\n%s%s", res.code, tc.code, res.stdout, res.stderr)
			}
			for _, s := range tc.stdout {
				if !strings.Contains(res.stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, res.stdout)
				}
			}
			if !strings.Contains(res.stderr, tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, res.stderr)
			}
		})
	}
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
		d, ok := regtest.Digest(t, im.Ref)
		if !ok || s.Subject != d.String() {
			t.Errorf("summary of %s names %s, want %v (found %v)", im.Ref, s.Subject, d, ok)
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
