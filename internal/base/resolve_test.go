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

// TestUpdateUnresolvable: one reference that cannot be resolved fails the
// update, and no Dockerfile is planned for writing.
func TestUpdateUnresolvable(t *testing.T) {
	t.Parallel()
	reg := regtest.Start(t)
	good := reg + "/lib/good:1.0.0"
	push(t, good, imagetest.Random(t, 30, time.Unix(0, 0)))
	a := writeDockerfile(t, "FROM "+good+"\n")
	a.Name = "a"
	b := writeDockerfile(t, "FROM "+good+"\nRUN x\nFROM "+reg+"/lib/missing:1.0.0 AS m\n")
	b.Name = "b"

	p, err := updatePlan(t.Context(), []*config.Image{a, b})
	var ue *UnresolvedError
	if !errors.As(err, &ue) {
		t.Fatalf("Update error = %v, want *UnresolvedError", err)
	}
	if len(p.Files) != 0 {
		t.Errorf("plan has %d files, want none", len(p.Files))
	}
	msg := err.Error()
	for _, s := range []string{b.Dockerfile + ":3", `image "b"`, reg + "/lib/missing:1.0.0"} {
		if !strings.Contains(msg, s) {
			t.Errorf("error %q does not name %q", msg, s)
		}
	}
	if len(ue.Results) != 1 || ue.Results[0].Line != 3 {
		t.Errorf("unresolved results: %+v", verdicts(ue.Results))
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

// TestUpdateARG: an unpinned reference built from an ARG is reported as not
// updatable and the file is left as it is.
func TestUpdateARG(t *testing.T) {
	t.Parallel()
	reg := regtest.Start(t)
	push(t, reg+"/lib/py:3.13-slim", imagetest.Random(t, 40, time.Unix(0, 0)))
	// W has no default, but ${W:-3.13} does.
	src := "ARG V=3.13\nARG W\nFROM " + reg + "/lib/py:${V}-slim\nFROM " + reg + "/lib/py:${W:-3.13}-slim\n"
	img := writeDockerfile(t, src)
	p := update(t, img)
	if len(p.Files) != 0 {
		t.Errorf("update planned %d files, want none", len(p.Files))
	}
	for _, r := range p.Reports[0].Results {
		if r.Status != StatusUnpinned || !strings.Contains(r.NotUpdatable, "ARG") || r.Resolved != reg+"/lib/py:3.13-slim" {
			t.Errorf("result = %+v", r)
		}
	}
	if got := userfiletest.Read(t, img.Dockerfile); got != src {
		t.Errorf("Dockerfile changed:\n%s", got)
	}
}

func TestParseReference(t *testing.T) {
	const dig = "sha256:0000000000000000000000000000000000000000000000000000000000000001"
	type ref struct {
		Repo, Tag   string // RepositoryStr and TagStr
		HasTag      bool
		ImplicitTag bool
		Digest      string
		Named       string
	}
	tests := []struct {
		in   string
		want ref
	}{
		{"python:3.13-slim", ref{"library/python", "3.13-slim", true, false, "", "python:3.13-slim"}},
		{"python", ref{"library/python", "latest", true, true, "", "python:latest"}},
		{"localhost:5000/a/b:1.2.3", ref{"a/b", "1.2.3", true, false, "", "localhost:5000/a/b:1.2.3"}},
		{"localhost:5000/a/b", ref{"a/b", "latest", true, true, "", "localhost:5000/a/b:latest"}},
		{"python:3.13@" + dig, ref{"library/python", "3.13", true, false, dig, "python:3.13"}},
		{"localhost:5000/a/b@" + dig, ref{"a/b", "", false, false, dig, ""}},
	}
	for _, tc := range tests {
		r, err := parseReference(tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		got := ref{Repo: r.repo.RepositoryStr(), HasTag: r.hasTag, ImplicitTag: r.implicitTag, Digest: r.digest, Named: r.named}
		if r.hasTag {
			got.Tag = r.tag.TagStr()
			if r.tag.Context() != r.repo {
				t.Errorf("%s: tag repository %v, repository %v", tc.in, r.tag.Context(), r.repo)
			}
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.in, diff)
		}
	}
	for _, bad := range []string{"Python:3", "a@sha256:12", "a:b:c", "a@b@c", "python:-slim", "/python:3", "a//b:1", "a-:1", "localhost:5000/-a@sha256:0000000000000000000000000000000000000000000000000000000000000001"} {
		if _, err := parseReference(bad); err == nil {
			t.Errorf("parseReference(%q): no error", bad)
		}
	}
}

func TestMutableTag(t *testing.T) {
	for tag, mutable := range map[string]bool{
		"latest": true, "20": true, "2.7": true, "3.13-slim": true, "bookworm-slim": true, "21-jdk": true,
		"3.13.1": false, "3.13.1-slim": false, "v1.2.3": false, "20.11.1-alpine3.19": false,
	} {
		if got := mutableTag(tag) != ""; got != mutable {
			t.Errorf("mutableTag(%q) = %q, want mutable %v", tag, mutableTag(tag), mutable)
		}
	}
}

// TestWriteAllOrNothing: when writing the second Dockerfile fails, the first
// is put back; a file changed since Update read it is not overwritten.
func TestWriteAllOrNothing(t *testing.T) {
	reg := regtest.Start(t)
	ref := reg + "/lib/w:1.0.0"
	push(t, ref, imagetest.Random(t, 50, time.Unix(0, 0)))
	a := writeDockerfile(t, "FROM "+ref+"\n")
	b := writeDockerfile(t, "FROM "+ref+" AS b\n")
	b.Name = "b"
	srcA, srcB := userfiletest.Read(t, a.Dockerfile), userfiletest.Read(t, b.Dockerfile)

	p, err := updatePlan(t.Context(), []*config.Image{a, b})
	if err != nil || len(p.Files) != 2 {
		t.Fatalf("Update: %v, %d files", err, len(p.Files))
	}
	orig := writeFile
	t.Cleanup(func() { writeFile = orig })
	boom := errors.New("disk full")
	writeFile = func(path string, data []byte) error {
		if path == b.Dockerfile {
			return boom
		}
		return orig(path, data)
	}
	if err := p.Write(); !errors.Is(err, boom) {
		t.Fatalf("Write: %v, want %v", err, boom)
	}
	if got := userfiletest.Read(t, a.Dockerfile); got != srcA {
		t.Errorf("first Dockerfile not restored:\n%s", got)
	}
	if got := userfiletest.Read(t, b.Dockerfile); got != srcB {
		t.Errorf("second Dockerfile changed:\n%s", got)
	}

	writeFile = orig
	if err := os.WriteFile(b.Dockerfile, []byte("FROM x:1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := p.Write(); !errors.Is(err, ErrModified) {
		t.Errorf("Write after an edit: %v, want ErrModified", err)
	}
	if got := userfiletest.Read(t, a.Dockerfile); got != srcA {
		t.Errorf("first Dockerfile written although the second was modified:\n%s", got)
	}
}
