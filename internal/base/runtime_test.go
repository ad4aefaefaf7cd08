package base

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgver/imgver/internal/config"
	"github.com/imgver/imgver/internal/imagetest"
	"github.com/imgver/imgver/internal/regtest"
	"github.com/imgver/imgver/internal/userfile/userfiletest"
)

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

// TestWriteThroughSymlink: a Dockerfile that is a symlink (shared by
// images) stays a symlink; its target gets the new content and keeps its mode.
func TestWriteThroughSymlink(t *testing.T) {
	t.Parallel()
	reg := regtest.Start(t)
	ref := reg + "/lib/s:1.0.0"
	d := push(t, ref, imagetest.Random(t, 80, time.Unix(0, 0)))
	dir := t.TempDir()
	target := filepath.Join(dir, "Dockerfile.shared")
	if err := os.WriteFile(target, []byte("FROM "+ref+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "Dockerfile")
	if err := os.Symlink("Dockerfile.shared", link); err != nil {
		t.Fatal(err)
	}
	update(t, &config.Image{Name: "app", Dockerfile: link})
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("Dockerfile is no longer a symlink: %v %v", fi.Mode(), err)
	}
	if got, want := userfiletest.Read(t, target), "FROM "+ref+"@"+d+"\n"; got != want {
		t.Errorf("target = %q, want %q", got, want)
	}
	if fi, err := os.Stat(target); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("target mode %v %v, want 0600", fi.Mode(), err)
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
