package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgver/imgver/internal/config/configtest"
	"github.com/imgver/imgver/internal/detect"
	"github.com/imgver/imgver/internal/flow"
	"github.com/imgver/imgver/internal/imagebuild"
	"github.com/imgver/imgver/internal/imagetest"
	"github.com/imgver/imgver/internal/referrer"
	"github.com/imgver/imgver/internal/regtest"
	"github.com/imgver/imgver/internal/userfile/userfiletest"
)

// TestPublishTimeout: a registry that stops answering in the middle of a
// publish fails it at --timeout (exit 2), saying so and naming the image.
func TestPublishTimeout(t *testing.T) {
	t.Parallel()
	stop := make(chan struct{})
	f := &fault{times: -1, misbehave: hang(stop),
		match: func(string) func(*http.Request) bool {
			return func(r *http.Request) bool {
				return r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/")
			}
		}}
	layer := ""
	f.layer.Store(&layer)
	host := regtest.StartBehind(t, f.wrap)
	t.Cleanup(func() { close(stop) }) // before the server closes
	c := configtest.Monorepo(t, fmt.Sprintf("registry = %q\npin_file = \"pins.src\"\nimage \"a\" {\n  candidate = \"oci:build/a\"\n}\n", host+"/acme"), "", nil)
	dir, cfg := c.Dir, c.Path
	imagetest.WriteLayout(t, filepath.Join(dir, "build", "a"), imagetest.Random(t, 1, time.Time{}))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	res := imgverContext(ctx, t, "--config", cfg, "publish", "--commit", "0123456789abcdef", "--no-check", "--timeout", "2s")
	if res.code != 2 {
		t.Fatalf("exit %d, want 2\n%s%s", res.code, res.stdout, res.stderr)
	}
	first, _, _ := strings.Cut(res.stderr, "\n")
	for _, want := range []string{"timed out after 2s (--timeout)", "pushing image a to " + host + "/acme/a:0123456"} {
		if !strings.Contains(first, want) {
			t.Errorf("first line of stderr %q lacks %q", first, want)
		}
	}
}

// TestPublishFlags: bad flags are exit 2 before anything is read.
func TestPublishFlags(t *testing.T) {
	t.Parallel()
	cfg, _ := monorepo(t, "")
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--mode", "some"}, `invalid argument "some" for "--mode" flag: want changed or all`},
		{[]string{"--format", "yaml"}, `invalid argument "yaml" for "--format" flag`},
		{[]string{"--jobs", "-1"}, "--jobs must be positive"},
		{[]string{"--candidate", "x"}, `--candidate "x": want NAME=REF`},
		{[]string{"--candidate", "nope=oci:x"}, `unknown image "nope"`},
	} {
		res := imgver(t, append([]string{"--config", cfg, "publish", "--commit", "0123456789abcdef"}, tc.args...)...)
		if res.code != 2 || !strings.Contains(res.stderr, tc.msg) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, res.code, res.stderr, tc.msg)
		}
	}
}

// statuses maps image name to status:digest:also-tags.
func statuses(rep *flow.PublishReport) map[string]string {
	out := map[string]string{}
	for _, pi := range rep.Images {
		out[pi.Name] = pi.Status + " " + pi.Digest + " " + strings.Join(pi.AlsoTags, ",")
	}
	return out
}

// TestE2EPublish runs detect --write then publish with the real binary
// against the real registry, through a counting proxy: the changed images
// are pushed under the short SHA with the candidate's digest; a rerun finds
// them all and uploads nothing; --also-tag, --mode all and dotenv output.
func TestE2EPublish(t *testing.T) {
	t.Parallel()
	r, cnt := countedE2ERepo(t)
	short := r.sha[:7]
	if res := runBinary(t, r.dir, nil, "detect", "--write", "--commit", r.sha); res.code != 0 {
		t.Fatalf("detect --write: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	want := map[string]string{}
	digests := map[string]v1.Hash{}
	for _, n := range []string{"gateway", "worker", "console", "reports"} {
		digests[n] = layoutDigest(t, filepath.Join(r.dir, "build", n))
	}
	for _, n := range []string{"worker", "console", "reports"} {
		want[n] = "pushed " + digests[n].String() + " "
	}

	// A dry run pushes nothing.
	rep, _ := binaryJSON[flow.PublishReport](t, r.dir, "publish", "--dry-run", "--commit", r.sha)
	for _, pi := range rep.Images {
		if pi.Status != "would-push" {
			t.Errorf("dry run: %s %s", pi.Name, pi.Status)
		}
		if _, ok := regtest.Digest(t, r.ref(pi.Name, short)); ok {
			t.Errorf("dry run pushed %s", pi.Name)
		}
	}

	rep, _ = binaryJSON[flow.PublishReport](t, r.dir, "publish", "--commit", r.sha)
	if diff := cmp.Diff(want, statuses(rep)); diff != "" {
		t.Errorf("publish (-want +got):\n%s", diff)
	}
	for n, st := range want {
		got, ok := regtest.Digest(t, r.ref(n, short))
		if !ok || got.String() != strings.Fields(st)[1] {
			t.Errorf("%s = %v (found %v), want the candidate's %s", r.ref(n, short), got, ok, st)
		}
		if pi := rep.Images; len(pi) > 0 && !pi[0].Checked {
			t.Errorf("%s was not checked", pi[0].Name)
		}
	}
	if _, ok := regtest.Digest(t, r.ref("gateway", short)); ok {
		t.Error("gateway, still pinned, was published in mode changed")
	}

	// A rerun: all exist, nothing is uploaded or moved.
	cnt.reset()
	rep, _ = binaryJSON[flow.PublishReport](t, r.dir, "publish", "--commit", r.sha)
	for n := range want {
		want[n] = "exists " + digests[n].String() + " "
	}
	if diff := cmp.Diff(want, statuses(rep)); diff != "" {
		t.Errorf("publish again (-want +got):\n%s", diff)
	}
	for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
		if n := cnt.requests[m].Load(); n != 0 {
			t.Errorf("the rerun sent %d %s requests", n, m)
		}
	}
	t.Logf("rerun: %d HEAD, %d GET requests", cnt.requests["HEAD"].Load(), cnt.requests["GET"].Load())

	// --also-tag latest: moved after the SHA tag, nothing pushed again.
	rep, _ = binaryJSON[flow.PublishReport](t, r.dir, "publish", "--commit", r.sha, "--also-tag", "latest")
	for n := range want {
		want[n] = "exists " + digests[n].String() + " latest"
		if got, ok := regtest.Digest(t, r.ref(n, "latest")); !ok || got != digests[n] {
			t.Errorf("%s = %v (found %v), want %v", r.ref(n, "latest"), got, ok, digests[n])
		}
	}
	if diff := cmp.Diff(want, statuses(rep)); diff != "" {
		t.Errorf("publish --also-tag latest (-want +got):\n%s", diff)
	}

	// --mode all: the pinned gateway too.
	rep, _ = binaryJSON[flow.PublishReport](t, r.dir, "publish", "--commit", r.sha, "--mode", "all")
	for n := range want {
		want[n] = "exists " + digests[n].String() + " "
	}
	want["gateway"] = "pushed " + digests["gateway"].String() + " "
	if diff := cmp.Diff(want, statuses(rep)); diff != "" {
		t.Errorf("publish --mode all (-want +got):\n%s", diff)
	}
	if got, ok := regtest.Digest(t, r.ref("gateway", short)); !ok || got != digests["gateway"] {
		t.Errorf("gateway = %v (found %v), want %v", got, ok, digests["gateway"])
	}

	// github: published= to $GITHUB_OUTPUT, a table to $GITHUB_STEP_SUMMARY.
	gh := newGitHubFiles(t)
	if res := runBinary(t, r.dir, gh.env, "publish", "--commit", r.sha, "--format", "github"); res.code != 0 {
		t.Fatalf("publish --format github: exit %d\n%s", res.code, res.stderr)
	}
	out, ok := strings.CutPrefix(userfiletest.Read(t, gh.output), "published=")
	var items []publishedItem
	if err := json.Unmarshal([]byte(out), &items); !ok || err != nil || len(items) != 3 || items[0].Digest != digests["worker"].String() || items[0].Status != "exists" {
		t.Errorf("$GITHUB_OUTPUT: %v\n%s", err, out)
	}
	if sum := userfiletest.Read(t, gh.summary); !strings.Contains(sum, "### imgver publish ("+short+")") || !strings.Contains(sum, "| worker | `"+r.ref("worker", short)+"` |") {
		t.Errorf("$GITHUB_STEP_SUMMARY:\n%s", sum)
	}

	// dotenv, for GitLab: KEY=value lines, nothing else.
	res := runBinary(t, r.dir, nil, "publish", "--commit", r.sha, "--format", "dotenv")
	if res.code != 0 {
		t.Fatalf("publish --format dotenv: exit %d\n%s", res.code, res.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(res.stdout, "\n"), "\n")
	if len(lines) != 3 || lines[0] != "short_sha="+short || lines[1] != "published=worker,console,reports" ||
		!strings.HasPrefix(lines[2], `published_json=[{"name":"worker",`) {
		t.Errorf("dotenv output:\n%s", res.stdout)
	}
}

// TestE2EPublishConflict: a SHA tag that holds another image stops the run
// before anything is pushed (exit 2, image, tag and both digests named);
// --force pushes over it.
func TestE2EPublishConflict(t *testing.T) {
	t.Parallel()
	r := newE2ERepo(t, regtest.Real(t))
	short := r.sha[:7]
	writeFile(t, r.pins, "") // every image unpinned
	other := pushLayout(t, filepath.Join(r.dir, "build", "gateway"), r.ref("worker", short))
	want := layoutDigest(t, filepath.Join(r.dir, "build", "worker"))
	res := runBinary(t, r.dir, nil, "publish", "--commit", r.sha, "--also-tag", "latest")
	if res.code != 2 {
		t.Fatalf("exit %d, want 2\n%s%s", res.code, res.stdout, res.stderr)
	}
	first, _, _ := strings.Cut(res.stderr, "\n")
	for _, s := range []string{"image worker", r.ref("worker", short), other.String(), want.String(), "--force"} {
		if !strings.Contains(first, s) {
			t.Errorf("first line of stderr %q does not name %s", first, s)
		}
	}
	for _, n := range []string{"gateway", "console", "reports"} {
		for _, tag := range []string{short, "latest"} {
			if d, ok := regtest.Digest(t, r.ref(n, tag)); ok {
				t.Errorf("%s was pushed (%v) although worker's tag conflicts", r.ref(n, tag), d)
			}
		}
	}
	if d, _ := regtest.Digest(t, r.ref("worker", short)); d != other {
		t.Errorf("worker's tag moved to %v without --force", d)
	}
	if res := runBinary(t, r.dir, nil, "publish", "--commit", r.sha, "--force"); res.code != 0 {
		t.Fatalf("publish --force: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if d, _ := regtest.Digest(t, r.ref("worker", short)); d != want {
		t.Errorf("worker after --force = %v, want %v", d, want)
	}
}

// TestE2EPublishBroken: a candidate that fails imgver check is exit 1 and
// nothing is pushed; --no-check pushes it.
func TestE2EPublishBroken(t *testing.T) {
	t.Parallel()
	r := newE2ERepo(t, regtest.Real(t))
	short := r.sha[:7]
	writeFile(t, r.pins, "")
	// console's entrypoint loses its exec bit.
	b := imagebuild.Build{GzipLevel: 6}
	img := imagetest.Image(t, b, nil, appConfig, rootfs, appFiles("console", 0o644))
	dir := filepath.Join(r.dir, "build", "console")
	imagetest.WriteLayout(t, dir, img)
	res := runBinary(t, r.dir, nil, "publish", "--commit", r.sha)
	if res.code != 1 {
		t.Fatalf("exit %d, want 1\n%s%s", res.code, res.stdout, res.stderr)
	}
	if !strings.Contains(res.stdout, "console fails imgver check") || !strings.Contains(res.stdout, "/app/run is not executable") ||
		!strings.Contains(res.stderr, "console fail imgver check: nothing was pushed") {
		t.Errorf("output does not name the problem:\n%s%s", res.stdout, res.stderr)
	}
	for _, n := range []string{"gateway", "worker", "console", "reports"} {
		if d, ok := regtest.Digest(t, r.ref(n, short)); ok {
			t.Errorf("%s was pushed (%v) although console is broken", n, d)
		}
	}
	if res := runBinary(t, r.dir, nil, "publish", "--commit", r.sha, "--no-check"); res.code != 0 {
		t.Fatalf("publish --no-check: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if _, ok := regtest.Digest(t, r.ref("console", short)); !ok {
		t.Error("console not pushed with --no-check")
	}
}

// TestE2EPublishFault: the registry answers 500 to every upload of one blob:
// publish retries, then fails (exit 2) naming the image; once the registry
// recovers, a rerun finishes the job.
func TestE2EPublishFault(t *testing.T) {
	t.Parallel()
	f := &fault{times: -1, misbehave: status500, match: func(digest string) func(*http.Request) bool {
		return func(r *http.Request) bool {
			return r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/blobs/uploads/") && r.URL.Query().Get("digest") == digest
		}
	}}
	r := newE2ERepo(t, realBehind(t, f.wrap))
	short := r.sha[:7]
	writeFile(t, r.pins, "")
	// The app layer of worker's candidate (below the noise): no other image
	// has it.
	wimg, _ := layoutImage(t, filepath.Join(r.dir, "build", "worker"))
	ls := imagetest.LayerDigests(t, wimg)
	layer := ls[len(ls)-2].String()
	f.layer.Store(&layer)

	res := runBinary(t, r.dir, nil, "publish", "--commit", r.sha)
	if res.code != 2 {
		t.Fatalf("exit %d, want 2\n%s%s", res.code, res.stdout, res.stderr)
	}
	first, _, _ := strings.Cut(res.stderr, "\n")
	if !strings.Contains(first, "pushing image worker to "+r.ref("worker", short)) || !strings.Contains(first, "the disk is on fire") {
		t.Errorf("first line of stderr %q does not say which image failed and why", first)
	}
	if f.seen.Load() < 2 {
		t.Errorf("the failing upload was tried %d times: no retry", f.seen.Load())
	}
	if _, ok := regtest.Digest(t, r.ref("worker", short)); ok {
		t.Error("worker's tag exists although a blob of it failed")
	}

	f.layer.Store(nil) // the registry recovers
	rep, _ := binaryJSON[flow.PublishReport](t, r.dir, "publish", "--commit", r.sha)
	got := map[string]string{}
	for _, pi := range rep.Images {
		got[pi.Name] = pi.Status
	}
	// The others were pushed by the failed run: they exist now.
	if diff := cmp.Diff(map[string]string{"gateway": "exists", "worker": "pushed", "console": "exists", "reports": "exists"}, got); diff != "" {
		t.Errorf("rerun statuses (-want +got):\n%s", diff)
	}
	want := layoutDigest(t, filepath.Join(r.dir, "build", "worker"))
	if d, ok := regtest.Digest(t, r.ref("worker", short)); !ok || d != want {
		t.Errorf("worker = %v (found %v), want %v", d, ok, want)
	}
}

// TestE2EPublishDockerDaemon: a docker-daemon: candidate (a real Docker
// engine) is re-encoded on the way to the real registry: its report says so,
// the pushed image has the same fingerprint, and a rerun finds it there
// (the gzip output is deterministic).
func TestE2EPublishDockerDaemon(t *testing.T) {
	addr := regtest.Real(t)
	host := e2eDockerHost(t)
	env := []string{"DOCKER_HOST=" + host}
	img := imagetest.Image(t, imagebuild.Build{MTime: time.Unix(1_700_000_000, 0)}, nil, appConfig, rootfs, appFiles("daemon", 0o755))
	tag := dockerLoad(t, "imgver-e2e/publish", img)
	prefix := fmt.Sprintf("%s/acme/d%d", addr, time.Now().UnixNano())
	dir := configtest.Monorepo(t, fmt.Sprintf("registry = %q\npin_file = \"pins.src\"\nimage \"app\" {\n  candidate = \"docker-daemon:%s\"\n}\n", prefix, tag), "", nil).Dir
	const sha = "0123456789abcdef"
	for i, want := range []string{"pushed", "exists"} {
		rep, res := binaryJSON[flow.PublishReport](t, dir, "publish", "--commit", sha)
		if len(rep.Images) != 1 {
			t.Fatalf("publish %d: %d images\n%s", i, len(rep.Images), res.stdout)
		}
		pi := rep.Images[0]
		// A rerun has nothing to push, so nothing to check.
		if pi.Status != want || !pi.Reencoded || pi.Checked != (want == "pushed") {
			t.Errorf("publish %d: status %s, reencoded %v, checked %v; want %s", i, pi.Status, pi.Reencoded, pi.Checked, want)
		}
		if d, ok := regtest.Digest(t, prefix+"/app:0123456"); !ok || d.String() != pi.Digest {
			t.Errorf("publish %d: pushed %v (found %v), report says %s", i, d, ok, pi.Digest)
		}
	}
	fa := runBinary(t, dir, env, "fingerprint", "docker-daemon:"+tag.String())
	fb := runBinary(t, dir, env, "fingerprint", prefix+"/app:0123456")
	if fa.code != 0 || fa.stdout != fb.stdout {
		t.Errorf("fingerprints of the daemon's image and the pushed one differ: %+v vs %+v", fa, fb)
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
	rep, _ := binaryJSON[flow.PublishReport](t, r.dir, "publish", "--commit", r.sha)
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
	rep, _ = binaryJSON[flow.PublishReport](t, r.dir, "publish", "--commit", r.sha)
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
		d, ok := regtest.Digest(t, rel)
		if !ok || d.String() != pi.Digest {
			t.Fatalf("%s = %v (found %v), want %s", rel, d, ok, pi.Digest)
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
	res := runBinary(t, r.dir, nil, "diff", "--format", "json", r.ref("worker", "v1.1.0"), r.ref("worker", "v1.0.0"))
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
