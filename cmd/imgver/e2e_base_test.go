package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imgver/imgver/internal/imagebuild"
	"github.com/imgver/imgver/internal/regtest"
)

// TestE2EBaseRebuiltUpstream: against the real registry, as the real binary:
// a base image published under a tag, the Dockerfile pinned to it by
// `imgver base update`, the tag rebuilt upstream, `imgver base check`
// reporting pinned-stale with both digests, `imgver detect` flagging the
// image, and `imgver base update --unpin` pinning the new digest and
// unpinning the image.
func TestE2EBaseRebuiltUpstream(t *testing.T) {
	dir, prefix := svcMonorepo(t, "b")
	dockerfile := "# syntax=docker/dockerfile:1\r\nFROM " + prefix + "/python:3.13.8-slim AS run\r\nCOPY . /app\r\n"
	commitDockerfile(t, dir, dockerfile)

	build := func(stamp int64, ca string) string {
		img := mustImage(t)(imagebuild.Build{MTime: time.Unix(stamp, 0)}.Image(nil, imagebuild.Config{Cmd: []string{"/bin/sh"}}, rootfs,
			[]imagebuild.File{imagebuild.Dir("/etc/ssl"), imagebuild.Reg("/etc/ssl/ca.pem", ca)}))
		regtest.Push(t, prefix+"/python:3.13.8-slim", img)
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return d.String()
	}
	old := build(1_700_000_000, "CA 1\n")
	base := func(args ...string) result { return runBinary(t, dir, nil, append([]string{"base"}, args...)...) }

	if r := base("check"); r.code != 1 || !strings.Contains(r.stdout, "unpinned") {
		t.Fatalf("check before pinning: %+v", r)
	}
	if r := base("update"); r.code != 0 {
		t.Fatalf("update: %+v", r)
	}
	pinned := strings.Replace(dockerfile, "3.13.8-slim AS", "3.13.8-slim@"+old+" AS", 1)
	if got := readString(t, filepath.Join(dir, "svc", "Dockerfile")); got != pinned {
		t.Fatalf("Dockerfile after update:\n%q\nwant:\n%q", got, pinned)
	}
	if r := base("check"); r.code != 0 || !strings.Contains(r.stdout, "pinned-current") {
		t.Fatalf("check after update: %+v", r)
	}

	// Upstream rebuilds the tag: same name, new bits.
	rebuilt := build(1_800_000_000, "CA 2\n")
	r := base("check", "--format", "json")
	if r.code != 1 || !strings.Contains(r.stdout, `"status": "pinned-stale"`) || !strings.Contains(r.stdout, old) || !strings.Contains(r.stdout, rebuilt) {
		t.Fatalf("check after the upstream rebuild: %+v", r)
	}

	// detect sees it too (the image is pinned; its candidate is the old build).
	writeFile(t, filepath.Join(dir, "pins.src"), "svc_VER=\"v1.0.0\"\n")
	app := mustImage(t)(imagebuild.Build{MTime: time.Unix(1_700_000_000, 0)}.Image(nil, imagebuild.Config{Cmd: []string{"/bin/sh"}}, rootfs))
	regtest.Push(t, prefix+"/svc:v1.0.0", app)
	if err := imagebuild.WriteLayout(filepath.Join(dir, "build", "svc"), app); err != nil {
		t.Fatal(err)
	}
	r = runBinary(t, dir, []string{"GITHUB_OUTPUT="}, "detect", "--format", "json")
	if r.code != 0 || !strings.Contains(r.stdout, `"base_stale": [
    "svc"
  ]`) {
		t.Fatalf("detect: %+v", r)
	}

	if r := base("update", "--unpin"); r.code != 0 || !strings.Contains(r.stderr, "svc: pinned v1.0.0 -> unpinned (stale base)") {
		t.Fatalf("update --unpin: %+v", r)
	}
	if got, want := readString(t, filepath.Join(dir, "svc", "Dockerfile")), strings.Replace(dockerfile, "3.13.8-slim AS", "3.13.8-slim@"+rebuilt+" AS", 1); got != want {
		t.Errorf("Dockerfile after update --unpin:\n%q\nwant:\n%q", got, want)
	}
	if got := readString(t, filepath.Join(dir, "pins.src")); got != "" {
		t.Errorf("pin file after update --unpin: %q", got)
	}
	if r := base("check"); r.code != 0 {
		t.Errorf("check at the end: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "svc", "Dockerfile")); err != nil {
		t.Fatal(err)
	}
}
