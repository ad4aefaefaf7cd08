package flow

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/imgver/imgver/internal/config"
	"github.com/imgver/imgver/internal/config/configtest"
	"github.com/imgver/imgver/internal/imagetest"
	"github.com/imgver/imgver/internal/regtest"
)

const publishTestSHA = "0123456789abcdef0123"

// TestPublishSources: every kind of candidate is pushed under the short SHA;
// an OCI layout (image or index) and a registry image keep their digest, a
// docker-archive is re-encoded and says so; a second run finds them all.
func TestPublishSources(t *testing.T) {
	t.Parallel()
	host := regtest.Start(t)
	cfg := publishConfig(t, host, map[string]string{
		"layout":   "oci:build/layout",
		"index":    "oci:build/index",
		"archive":  "docker-archive:build/archive.tar",
		"registry": "docker://" + host + "/build/registry:candidate",
	}, "")
	dir := cfg.Dir

	img := func(seed int64) v1.Image { return imagetest.Random(t, seed, time.Unix(0, 0)) }
	// oci:build/layout, one image.
	li := img(1)
	imagetest.WriteLayout(t, filepath.Join(dir, "build", "layout"), li)
	// oci:build/index, an index of two images of no platform.
	idx, err := random.Index(128, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	imagetest.WriteIndexLayout(t, filepath.Join(dir, "build", "index"), idx)
	// docker-archive:build/archive.tar
	ai := img(3)
	tag, _ := name.NewTag("example/archive:1")
	if err := tarball.WriteToFile(filepath.Join(dir, "build", "archive.tar"), tag, ai); err != nil {
		t.Fatal(err)
	}
	// A registry image in the same registry: its blobs are mounted.
	ri := img(4)
	regtest.Push(t, host+"/build/registry:candidate", ri)
	want := map[string]string{}
	for n, d := range map[string]interface{ Digest() (v1.Hash, error) }{"layout": li, "index": idx, "registry": ri} {
		want[n] = "pushed " + imagetest.Digest(t, d).String()
	}
	var progress counter
	rep, err := Publish(t.Context(), cfg, PublishOptions{Commit: publishTestSHA, NoCheck: true, Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	if int(progress.total.Load()) != len(rep.Images) || int(progress.done.Load()) != len(rep.Images) || progress.bytes.Load() == 0 {
		t.Errorf("progress: %d of %d images done, %d bytes in place; want %d of %d and some bytes", progress.done.Load(), progress.total.Load(), progress.bytes.Load(), len(rep.Images), len(rep.Images))
	}
	got := map[string]string{}
	for _, pi := range rep.Images {
		if pi.Name == "archive" {
			if !pi.Reencoded || pi.Status != "pushed" {
				t.Errorf("archive: reencoded %v, status %s", pi.Reencoded, pi.Status)
			}
			want["archive"] = "pushed " + pi.Digest
		}
		got[pi.Name] = pi.Status + " " + pi.Digest
		checkSummaries(t, pi, "attached")
		if d, ok := regtest.Digest(t, pi.Repository+":"+pi.Tag); !ok || d.String() != pi.Digest {
			t.Errorf("%s:%s = %v (exists %v), report says %s", pi.Repository, pi.Tag, d, ok, pi.Digest)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("first run (-want +got):\n%s", diff)
	}

	rep, err = Publish(t.Context(), cfg, PublishOptions{Commit: publishTestSHA, NoCheck: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, pi := range rep.Images {
		if pi.Status != "exists" || "pushed "+pi.Digest != want[pi.Name] {
			t.Errorf("second run: %s %s %s", pi.Name, pi.Status, pi.Digest)
		}
		checkSummaries(t, pi, "")
	}
}

// checkSummaries checks the summaries publish attached to pi: one, with
// status (none when status is ""), for an image; none for the index of
// two images of no platform, which cannot be summarized: a warning, and the
// image is pushed all the same.
func checkSummaries(t *testing.T, pi PublishedImage, status string) {
	t.Helper()
	if pi.Name == "index" {
		var sn *SummaryNotAttachedError
		if len(pi.Summaries) != 0 || len(pi.Warnings) != 1 || !errors.As(pi.Warnings[0], &sn) {
			t.Errorf("index: summaries %+v, warnings %v; want one *SummaryNotAttachedError", pi.Summaries, pi.Warnings)
		}
		return
	}
	if len(pi.Warnings) != 0 {
		t.Errorf("%s: warnings %v", pi.Name, pi.Warnings)
	}
	if status == "" {
		if len(pi.Summaries) != 0 {
			t.Errorf("%s: summaries %+v, want none", pi.Name, pi.Summaries)
		}
		return
	}
	if len(pi.Summaries) != 1 || pi.Summaries[0].Status != status || pi.Summaries[0].Subject != pi.Digest || pi.Summaries[0].Bytes == 0 {
		t.Errorf("%s: summaries %+v, want one %s naming %s", pi.Name, pi.Summaries, status, pi.Digest)
	}
}

// TestPublishSelection: mode changed takes the unpinned images, mode all
// every image but manual pins; bad options are errors.
func TestPublishSelection(t *testing.T) {
	t.Parallel()
	host := regtest.Start(t)
	cands := map[string]string{"a": "oci:build/{name}", "b": "oci:build/{name}", "c": "oci:build/{name}"}
	cfg := publishConfig(t, host, cands, "a_VER=\"v1.0.0\"\nexport b_VER=\"v0.9.0\"\n")
	for n := range cands {
		imagetest.WriteLayout(t, filepath.Join(cfg.Dir, "build", n), imagetest.Random(t, int64(n[0]), time.Unix(0, 0)))
	}
	for _, tc := range []struct {
		mode    PublishMode
		also    []string
		want    []string
		wantErr string
	}{
		{mode: "", want: []string{"c"}},
		{mode: "changed", want: []string{"c"}},
		{mode: "all", want: []string{"a", "c"}},
		{mode: "some", wantErr: `unknown publish mode "some"`},
		{mode: "all", also: []string{"bad tag"}, wantErr: `--also-tag "bad tag" is not a valid tag`},
	} {
		rep, err := Publish(t.Context(), cfg, PublishOptions{Mode: tc.mode, Commit: publishTestSHA, NoCheck: true, DryRun: true, AlsoTags: tc.also})
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("mode %q: error %v, want %q", tc.mode, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("mode %q: %v", tc.mode, err)
		}
		var got []string
		for _, pi := range rep.Images {
			got = append(got, pi.Name)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("mode %q (-want +got):\n%s", tc.mode, diff)
		}
	}
}

// publishConfig writes a monorepo with one image per candidate, repository
// <host>/acme/<name>, and pins as its pin file.
func publishConfig(t *testing.T, host string, cands map[string]string, pins string) *config.Config {
	t.Helper()
	var b strings.Builder
	b.WriteString("registry = \"" + host + "/acme\"\npin_file = \"pins.src\"\n")
	for _, n := range []string{"layout", "index", "archive", "registry", "a", "b", "c"} {
		if c, ok := cands[n]; ok {
			b.WriteString("image \"" + n + "\" {\n  candidate = \"" + c + "\"\n}\n")
		}
	}
	return configtest.Monorepo(t, b.String(), pins, nil)
}
