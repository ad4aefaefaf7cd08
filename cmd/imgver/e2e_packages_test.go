package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgver/imgver/internal/imagebuild"
	"github.com/imgver/imgver/internal/packages"
	"github.com/imgver/imgver/internal/regtest"
)

// TestE2EPackages: against the real registry, as the real binary: a base
// image rebuilt upstream under its tag with one Debian security upgrade.
// `imgver detect` explains the rebuilt app image by that package (JSON and
// GitHub step summary), and `imgver base check` the stale base.
func TestE2EPackages(t *testing.T) {
	dir, prefix := svcMonorepo(t, "p")

	// The base, and its rebuild with libssl3 from -security.
	status := func(libssl string) string {
		return imagebuild.DpkgStatus("base-files=12.4+deb12u8", "libssl3="+libssl, "tzdata=2024a-0+deb12u1")
	}
	debian := func(stamp int64, libssl string) v1.Image {
		return mustImage(t)(imagebuild.Build{MTime: time.Unix(stamp, 0)}.Image(nil, imagebuild.Config{Cmd: []string{"/bin/sh"}}, rootfs,
			[]imagebuild.File{
				imagebuild.Dir("/var/lib/dpkg"), imagebuild.Reg("/var/lib/dpkg/status", status(libssl)),
				imagebuild.Dir("/usr/lib"), imagebuild.Reg("/usr/lib/libssl.so.3", "libssl "+libssl+"\n"),
			}))
	}
	baseRef := prefix + "/debian:12-slim"
	oldBase := debian(1_700_000_000, "3.0.15-1~deb12u1")
	regtest.Push(t, baseRef, oldBase)
	oldDigest, err := oldBase.Digest()
	if err != nil {
		t.Fatal(err)
	}
	commitDockerfile(t, dir, "FROM "+baseRef+"@"+oldDigest.String()+"\nCOPY . /app\n")

	// The release, built on the old base; then the base rebuilt upstream,
	// and the app rebuilt on it from the same sources.
	app := func(b v1.Image, stamp int64) v1.Image {
		return mustImage(t)(imagebuild.Build{MTime: time.Unix(stamp, 0)}.Image(b, appConfig, appFiles("svc", 0o755)))
	}
	writeFile(t, filepath.Join(dir, "pins.src"), "svc_VER=\"v1.0.0\"\n")
	regtest.Push(t, prefix+"/svc:v1.0.0", app(oldBase, 1_700_000_100))
	newBase := debian(1_800_000_000, "3.0.16-1~deb12u1")
	regtest.Push(t, baseRef, newBase)
	if err := imagebuild.WriteLayout(filepath.Join(dir, "build", "svc"), app(newBase, 1_800_000_100)); err != nil {
		t.Fatal(err)
	}
	want := []packages.Change{{Ecosystem: packages.Deb, Name: "libssl3", Change: packages.Upgraded, Before: "3.0.15-1~deb12u1", After: "3.0.16-1~deb12u1"}}
	const line = "deb: libssl3 3.0.15-1~deb12u1 -> 3.0.16-1~deb12u1"

	r := runBinary(t, dir, []string{"GITHUB_OUTPUT="}, "detect", "--format", "json")
	if r.code != 0 {
		t.Fatalf("detect: %+v", r)
	}
	var rep struct {
		Images []struct {
			Name     string            `json:"name"`
			Verdict  string            `json:"verdict"`
			Summary  string            `json:"summary"`
			Packages []packages.Change `json:"packages"`
		} `json:"images"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || len(rep.Images) != 1 {
		t.Fatalf("detect JSON: %v\n%s", err, r.stdout)
	}
	im := rep.Images[0]
	if im.Verdict != "changed" || !strings.HasPrefix(im.Summary, line+"; ") {
		t.Errorf("detect: verdict %q, summary %q; want changed, leading with %q", im.Verdict, im.Summary, line)
	}
	if diff := cmp.Diff(want, im.Packages); diff != "" {
		t.Errorf("detect packages (-want +got):\n%s", diff)
	}

	summary := filepath.Join(t.TempDir(), "summary.md")
	r = runBinary(t, dir, []string{"GITHUB_OUTPUT=" + filepath.Join(t.TempDir(), "out"), "GITHUB_STEP_SUMMARY=" + summary}, "detect", "--format", "github")
	if got := readString(t, summary); r.code != 0 || !strings.Contains(got, line) {
		t.Errorf("detect --format github: %+v\nstep summary:\n%s\nwant it to name %q", r, got, line)
	}

	r = runBinary(t, dir, nil, "base", "check", "--format", "json")
	var bases struct {
		Images []struct {
			Bases []struct {
				Status   string            `json:"status"`
				Packages []packages.Change `json:"packages"`
			} `json:"bases"`
		} `json:"images"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &bases); err != nil || r.code != 1 || len(bases.Images) != 1 || len(bases.Images[0].Bases) != 1 {
		t.Fatalf("base check --format json: %v\n%+v", err, r)
	}
	if b := bases.Images[0].Bases[0]; b.Status != "pinned-stale" || cmp.Diff(want, b.Packages) != "" {
		t.Errorf("base check: status %q, packages %v; want pinned-stale, %v", b.Status, b.Packages, want)
	}
	if r := runBinary(t, dir, nil, "base", "check"); r.code != 1 || !strings.Contains(r.stdout, line) {
		t.Errorf("base check: %+v\nwant it to name %q", r, line)
	}
}
