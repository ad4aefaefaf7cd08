package base

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgver/imgver/internal/config"
	"github.com/imgver/imgver/internal/imagetest"
	"github.com/imgver/imgver/internal/regtest"
	"github.com/imgver/imgver/internal/userfile/userfiletest"
)

// push pushes an image or an index as ref and returns its digest.
func push(t *testing.T, ref string, a regtest.Artifact) string {
	t.Helper()
	return regtest.Push(t, ref, a).String()
}

func writeDockerfile(t *testing.T, src string) *config.Image {
	t.Helper()
	p := filepath.Join(t.TempDir(), "Dockerfile")
	if err := os.WriteFile(p, []byte(src), 0o640); err != nil {
		t.Fatal(err)
	}
	return &config.Image{Name: "app", Dockerfile: p}
}

// verdict is what the registry tests compare.
type verdict struct {
	Line            int
	Status          Status
	Match           Match
	Pinned          string
	Current         string
	CurrentPlatform string
	Created         string
	NotUpdatable    bool
}

func verdicts(rs []Result) []verdict {
	var out []verdict
	for _, r := range rs {
		v := verdict{Line: r.Line, Status: r.Status, Match: r.Match, Pinned: r.Pinned, Current: r.Current, CurrentPlatform: r.CurrentPlatform, NotUpdatable: r.NotUpdatable != ""}
		if r.Created != nil {
			v.Created = r.Created.Format(time.RFC3339)
		}
		out = append(out, v)
	}
	return out
}

// resolveOne resolves the bases of img with a Resolver of its own.
func resolveOne(ctx context.Context, img *config.Image, opts ...Option) ([]Result, error) {
	rv, err := NewResolver(opts...)
	if err != nil {
		return nil, err
	}
	if img.Dockerfile == "" {
		_, err := rv.Dockerfile(img)
		return nil, err
	}
	reps, err := rv.Resolve(ctx, []*config.Image{img})
	if err != nil {
		return nil, err
	}
	return reps[0].Results, nil
}

// updatePlan plans the update of imgs with a Resolver of its own.
func updatePlan(ctx context.Context, imgs []*config.Image) (*Plan, error) {
	rv, err := NewResolver()
	if err != nil {
		return nil, err
	}
	return rv.Update(ctx, imgs)
}

func check(t *testing.T, img *config.Image, opts ...Option) []Result {
	t.Helper()
	rs, err := resolveOne(t.Context(), img, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func update(t *testing.T, img *config.Image) *Plan {
	t.Helper()
	p, err := updatePlan(t.Context(), []*config.Image{img})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Write(); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestResolveUpdateCycle: update pins, check says current, a rebuild under the
// same tag makes the pin stale, update fixes it.
func TestResolveUpdateCycle(t *testing.T) {
	t.Parallel()
	reg := regtest.Start(t)
	ref := reg + "/lib/app:1.2.3"
	t1 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	d1 := push(t, ref, imagetest.Random(t, 1, t1))

	src := "# build\r\nFROM " + ref + " AS build\r\nRUN make\r\nFROM build\r\nFROM scratch\r\n"
	img := writeDockerfile(t, src)

	if diff := cmp.Diff([]verdict{{Line: 2, Status: StatusUnpinned, Current: d1}}, verdicts(check(t, img))); diff != "" {
		t.Errorf("before update (-want +got):\n%s", diff)
	}
	p := update(t, img)
	if len(p.Files) != 1 {
		t.Fatalf("update changed %d files, want 1", len(p.Files))
	}
	pinned := strings.Replace(src, ref, ref+"@"+d1, 1)
	if diff := cmp.Diff(pinned, userfiletest.Read(t, img.Dockerfile)); diff != "" {
		t.Errorf("Dockerfile after update (-want +got):\n%s", diff)
	}
	if fi, err := os.Stat(img.Dockerfile); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("mode after update = %v, %v; want 0640 kept", fi.Mode().Perm(), err)
	}
	if diff := cmp.Diff([]verdict{{Line: 2, Status: StatusPinnedCurrent, Match: MatchManifest, Pinned: d1, Current: d1}}, verdicts(check(t, img))); diff != "" {
		t.Errorf("after update (-want +got):\n%s", diff)
	}

	// Upstream rebuilds under the same tag.
	t2 := t1.Add(48 * time.Hour)
	d2 := push(t, ref, imagetest.Random(t, 2, t2))
	want := []verdict{{Line: 2, Status: StatusPinnedStale, Pinned: d1, Current: d2, Created: "2026-01-04T03:04:05Z"}}
	if diff := cmp.Diff(want, verdicts(check(t, img))); diff != "" {
		t.Errorf("after rebuild (-want +got):\n%s", diff)
	}
	update(t, img)
	if diff := cmp.Diff(strings.Replace(src, ref, ref+"@"+d2, 1), userfiletest.Read(t, img.Dockerfile)); diff != "" {
		t.Errorf("Dockerfile after second update (-want +got):\n%s", diff)
	}
	if got := verdicts(check(t, img))[0].Status; got != StatusPinnedCurrent {
		t.Errorf("after second update: %s, want pinned-current", got)
	}
	// Nothing left to do: update plans no change.
	if p := update(t, img); len(p.Files) != 0 {
		t.Errorf("third update changed %d files, want none", len(p.Files))
	}
}

// TestResolveMultiPlatform: an index that only gains an architecture is not a
// rebuild for linux/amd64, whether the pin is the platform's manifest or
// the old index; a rebuilt amd64 image is.
func TestResolveMultiPlatform(t *testing.T) {
	t.Parallel()
	reg := regtest.Start(t)
	ref := reg + "/lib/multi:20.11.1"
	amd, arm := imagetest.Random(t, 10, time.Unix(0, 0)), imagetest.Random(t, 11, time.Unix(0, 0))
	amdD, armD := imagetest.Digest(t, amd).String(), imagetest.Digest(t, arm).String()
	idx1 := push(t, ref, imagetest.Index(t, map[string]v1.Image{"linux/amd64": amd, "linux/arm64": arm}))

	img := writeDockerfile(t, "FROM "+ref+"@"+amdD+"\n"+
		"FROM "+ref+"@"+idx1+"\n"+
		"FROM --platform=linux/arm64 "+ref+"@"+armD+"\n"+
		"FROM --platform=$BUILDPLATFORM "+ref+"\n")
	want := []verdict{
		{Line: 1, Status: StatusPinnedCurrent, Match: MatchPlatform, Pinned: amdD, Current: idx1, CurrentPlatform: amdD},
		{Line: 2, Status: StatusPinnedCurrent, Match: MatchIndex, Pinned: idx1, Current: idx1, CurrentPlatform: amdD},
		{Line: 3, Status: StatusPinnedCurrent, Match: MatchPlatform, Pinned: armD, Current: idx1, CurrentPlatform: armD},
		{Line: 4, Status: StatusUnpinned, Current: idx1, CurrentPlatform: amdD},
	}
	if diff := cmp.Diff(want, verdicts(check(t, img))); diff != "" {
		t.Errorf("first index (-want +got):\n%s", diff)
	}
	// WithPlatform changes the platform of FROMs without --platform and
	// what $BUILDPLATFORM stands for.
	rs := check(t, img, WithPlatform("linux/arm64"))
	if rs[0].Status != StatusPinnedStale || rs[3].CurrentPlatform != armD || rs[3].Platform != "linux/arm64" {
		t.Errorf("WithPlatform(linux/arm64): %+v", verdicts(rs))
	}

	// The index gains s390x; amd64 and arm64 are the same images.
	s390 := imagetest.Random(t, 12, time.Unix(0, 0))
	idx2 := push(t, ref, imagetest.Index(t, map[string]v1.Image{"linux/amd64": amd, "linux/arm64": arm, "linux/s390x": s390}))
	want = []verdict{
		{Line: 1, Status: StatusPinnedCurrent, Match: MatchPlatform, Pinned: amdD, Current: idx2, CurrentPlatform: amdD},
		{Line: 2, Status: StatusPinnedCurrent, Match: MatchIndexMoved, Pinned: idx1, Current: idx2, CurrentPlatform: amdD},
		{Line: 3, Status: StatusPinnedCurrent, Match: MatchPlatform, Pinned: armD, Current: idx2, CurrentPlatform: armD},
		{Line: 4, Status: StatusUnpinned, Current: idx2, CurrentPlatform: amdD},
	}
	if diff := cmp.Diff(want, verdicts(check(t, img))); diff != "" {
		t.Errorf("index with a new architecture (-want +got):\n%s", diff)
	}

	// update refreshes the index-moved pin to the current index and
	// leaves the current platform pins alone (this plan is not written).
	p, err := updatePlan(t.Context(), []*config.Image{img})
	if err != nil || len(p.Files) != 1 {
		t.Fatalf("Update: %v, %d files", err, len(p.Files))
	}
	wantSrc := "FROM " + ref + "@" + amdD + "\n" +
		"FROM " + ref + "@" + idx2 + "\n" +
		"FROM --platform=linux/arm64 " + ref + "@" + armD + "\n" +
		"FROM --platform=$BUILDPLATFORM " + ref + "@" + idx2 + "\n"
	if diff := cmp.Diff(wantSrc, string(p.Files[0].New)); diff != "" {
		t.Errorf("planned Dockerfile (-want +got):\n%s", diff)
	}

	// amd64 is rebuilt: stale for amd64 pins, not for the arm64 one.
	amd2 := imagetest.Random(t, 13, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	amd2D := imagetest.Digest(t, amd2).String()
	idx3 := push(t, ref, imagetest.Index(t, map[string]v1.Image{"linux/amd64": amd2, "linux/arm64": arm, "linux/s390x": s390}))
	want = []verdict{
		{Line: 1, Status: StatusPinnedStale, Pinned: amdD, Current: idx3, CurrentPlatform: amd2D, Created: "2026-03-01T00:00:00Z"},
		{Line: 2, Status: StatusPinnedStale, Pinned: idx1, Current: idx3, CurrentPlatform: amd2D, Created: "2026-03-01T00:00:00Z"},
		{Line: 3, Status: StatusPinnedCurrent, Match: MatchPlatform, Pinned: armD, Current: idx3, CurrentPlatform: armD},
		{Line: 4, Status: StatusUnpinned, Current: idx3, CurrentPlatform: amd2D},
	}
	if diff := cmp.Diff(want, verdicts(check(t, img))); diff != "" {
		t.Errorf("index with a rebuilt amd64 (-want +got):\n%s", diff)
	}

	// update pins the index digest (as Renovate does) and leaves the
	// current platform pin alone.
	update(t, img)
	wantSrc = "FROM " + ref + "@" + idx3 + "\n" +
		"FROM " + ref + "@" + idx3 + "\n" +
		"FROM --platform=linux/arm64 " + ref + "@" + armD + "\n" +
		"FROM --platform=$BUILDPLATFORM " + ref + "@" + idx3 + "\n"
	if diff := cmp.Diff(wantSrc, userfiletest.Read(t, img.Dockerfile)); diff != "" {
		t.Errorf("Dockerfile after update (-want +got):\n%s", diff)
	}
}

func TestResolveNoPlatformInIndex(t *testing.T) {
	t.Parallel()
	reg := regtest.Start(t)
	ref := reg + "/lib/armonly:1.0.0"
	push(t, ref, imagetest.Index(t, map[string]v1.Image{"linux/arm64": imagetest.Random(t, 20, time.Unix(0, 0))}))
	rs := check(t, writeDockerfile(t, "FROM "+ref+"\n"))
	if rs[0].Status != StatusError || !strings.Contains(rs[0].Error, "no image for linux/amd64") {
		t.Errorf("got %s %q, want an error naming the platform", rs[0].Status, rs[0].Error)
	}
}

func TestResolveWithoutRegistry(t *testing.T) {
	t.Parallel()
	const dig = "sha256:0000000000000000000000000000000000000000000000000000000000000001"
	img := writeDockerfile(t, "ARG V\n"+
		"FROM alpine@"+dig+"\n"+
		"FROM python:${V}-slim\n"+
		"FROM --platform=nope alpine:3.20.3\n"+
		"FROM Not_A_Ref:1\n")
	// Any registry call fails the test.
	rs := check(t, img, WithPuller(failPuller{t}))
	want := []verdict{
		{Line: 2, Status: StatusDigestOnly, Pinned: dig},
		{Line: 3, Status: StatusError, NotUpdatable: true},
		{Line: 4, Status: StatusError},
		{Line: 5, Status: StatusError},
	}
	if diff := cmp.Diff(want, verdicts(rs)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for i, s := range []string{"", "ARG V has no default", "--platform=nope", "parsing reference"} {
		if !strings.Contains(rs[i].Error, s) {
			t.Errorf("result %d: error %q does not say %q", i, rs[i].Error, s)
		}
	}

	if _, err := resolveOne(t.Context(), &config.Image{Name: "x"}); !errors.Is(err, ErrNoDockerfile) {
		t.Errorf("Resolve without dockerfile: %v, want ErrNoDockerfile", err)
	}
	if _, err := resolveOne(t.Context(), img, WithPlatform("amd64")); err == nil {
		t.Error("WithPlatform(amd64): no error")
	}
}

// TestResolvePlatformVariant: platforms are matched as containerd normalises
// them: linux/arm means linux/arm/v7, and linux/arm64/v8 is linux/arm64.
func TestResolvePlatformVariant(t *testing.T) {
	t.Parallel()
	reg := regtest.Start(t)
	ref := reg + "/lib/arm:1.2.3"
	v5, v7, a64 := imagetest.Random(t, 70, time.Unix(0, 0)), imagetest.Random(t, 71, time.Unix(0, 0)), imagetest.Random(t, 72, time.Unix(0, 0))
	push(t, ref, imagetest.Index(t, map[string]v1.Image{"linux/arm/v5": v5, "linux/arm/v7": v7, "linux/arm64": a64}))
	img := writeDockerfile(t, "FROM "+ref+"\n")
	for _, tc := range []struct {
		platform string
		want     v1.Image
	}{
		{"linux/arm", v7},
		{"linux/arm/v7", v7},
		{"linux/arm/v5", v5},
		{"linux/arm64", a64},
		{"linux/arm64/v8", a64},
	} {
		rs := check(t, img, WithPlatform(tc.platform))
		if rs[0].Status != StatusUnpinned || rs[0].CurrentPlatform != imagetest.Digest(t, tc.want).String() {
			t.Errorf("WithPlatform(%s): %s %s %s, want the image %s", tc.platform, rs[0].Status, rs[0].Error, rs[0].CurrentPlatform, imagetest.Digest(t, tc.want).String())
		}
	}
}

// TestResolveAutomaticPlatformArgs: BuildKit's automatic platform ARGs are
// seen by FROM's image name and by the global ARG defaults, not only by
// --platform.
func TestResolveAutomaticPlatformArgs(t *testing.T) {
	t.Parallel()
	reg := regtest.Start(t)
	amd := push(t, reg+"/lib/x-amd64:1.0.0", imagetest.Random(t, 90, time.Unix(0, 0)))
	arm := push(t, reg+"/lib/x-arm64:1.0.0", imagetest.Random(t, 91, time.Unix(0, 0)))
	img := writeDockerfile(t, "ARG ARCH=${TARGETARCH}\nARG P=$BUILDPLATFORM\n"+
		"FROM "+reg+"/lib/x-${TARGETARCH}:1.0.0\n"+
		"FROM "+reg+"/lib/x-${ARCH}:1.0.0\n"+
		"FROM --platform=$P "+reg+"/lib/x-amd64:1.0.0\n")
	for _, tc := range []struct{ platform, want string }{{"linux/amd64", amd}, {"linux/arm64", arm}} {
		rs := check(t, img, WithPlatform(tc.platform))
		for i, r := range rs[:2] {
			if r.Status != StatusUnpinned || r.Current != tc.want || r.Resolved != reg+"/lib/x-"+tc.platform[6:]+":1.0.0" {
				t.Errorf("%s: FROM %d: %s %q %s %s", tc.platform, i, r.Status, r.Error, r.Resolved, r.Current)
			}
		}
		if r := rs[2]; r.Status != StatusUnpinned || r.Platform != tc.platform {
			t.Errorf("%s: --platform=$P: %s %q %s", tc.platform, r.Status, r.Error, r.Platform)
		}
	}
}

// TestResolveIndexToSingleManifest: a tag that was an index and is now the
// very same platform image as a single manifest did not change for the
// platform: the old index pin is index-moved, not stale.
func TestResolveIndexToSingleManifest(t *testing.T) {
	t.Parallel()
	reg := regtest.Start(t)
	ref := reg + "/lib/flip:2.0.0"
	amd, arm := imagetest.Random(t, 100, time.Unix(0, 0)), imagetest.Random(t, 101, time.Unix(0, 0))
	idx := push(t, ref, imagetest.Index(t, map[string]v1.Image{"linux/amd64": amd, "linux/arm64": arm}))
	single := push(t, ref, amd)
	rs := check(t, writeDockerfile(t, "FROM "+ref+"@"+idx+"\n"))
	if rs[0].Status != StatusPinnedCurrent || rs[0].Match != MatchIndexMoved || rs[0].Current != single {
		t.Errorf("got %+v", verdicts(rs))
	}
}

// TestResolveStageByPlatformArg: FROM build-${TARGETARCH} names a stage once
// the automatic ARG is substituted, as BuildKit decides; it is not pulled.
func TestResolveStageByPlatformArg(t *testing.T) {
	t.Parallel()
	reg := regtest.Start(t)
	ref := reg + "/lib/b:1.0.0"
	push(t, ref, imagetest.Random(t, 110, time.Unix(0, 0)))
	img := writeDockerfile(t, "FROM "+ref+" AS build-amd64\nFROM "+ref+" AS Build-arm64\nFROM build-${TARGETARCH} AS final\n")
	for _, pl := range []string{"linux/amd64", "linux/arm64"} {
		rs := check(t, img, WithPlatform(pl))
		if len(rs) != 2 || rs[0].Status != StatusUnpinned || rs[1].Status != StatusUnpinned {
			t.Errorf("%s: %+v", pl, rs)
		}
	}
}
