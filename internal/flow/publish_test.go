package flow

import (
	"math/rand"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/imgver/imgver/internal/config"
	"github.com/imgver/imgver/internal/config/configtest"
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

	img := func(seed int64) v1.Image {
		i, err := random.Image(256, 2, random.WithSource(rand.NewSource(seed)))
		if err != nil {
			t.Fatal(err)
		}
		return i
	}
	// oci:build/layout, one image.
	li := img(1)
	lp, err := layout.Write(filepath.Join(dir, "build", "layout"), empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(li); err != nil {
		t.Fatal(err)
	}
	// oci:build/index, an index of two images.
	idx, err := random.Index(128, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	ip, err := layout.Write(filepath.Join(dir, "build", "index"), empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := ip.AppendIndex(idx); err != nil {
		t.Fatal(err)
	}
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
		h, _ := d.Digest()
		want[n] = "pushed " + h.String()
	}
	var progress counter
	rep, err := Publish(t.Context(), cfg, PublishOptions{Commit: publishTestSHA, NoCheck: true, Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	if int(progress.done.Load()) != len(rep.Images) || progress.bytes.Load() == 0 {
		t.Errorf("progress: %d images done, %d bytes in place; want %d images and some bytes", progress.done.Load(), progress.bytes.Load(), len(rep.Images))
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
		p, err := layout.Write(filepath.Join(cfg.Dir, "build", n), empty.Index)
		if err != nil {
			t.Fatal(err)
		}
		i, err := random.Image(64, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.AppendImage(i); err != nil {
			t.Fatal(err)
		}
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
