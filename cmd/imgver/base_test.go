package main

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgver/imgver/internal/config/configtest"
	"github.com/imgver/imgver/internal/imagebuild"
	"github.com/imgver/imgver/internal/imagetest"
	"github.com/imgver/imgver/internal/regtest"
	"github.com/imgver/imgver/internal/userfile/userfiletest"
)

// baseRepo is a temp monorepo whose Dockerfiles name images in an
// in-process registry.
type baseRepo struct {
	t      *testing.T
	dir    string // holds images.hcl
	reg    string // 127.0.0.1:port
	config string
}

func newBaseRepo(t *testing.T, dockerfiles map[string]string) *baseRepo {
	t.Helper()
	r := &baseRepo{t: t, reg: regtest.Start(t)}
	var hcl strings.Builder
	hcl.WriteString("registry = \"registry.example/acme\"\n")
	files := map[string]string{}
	for _, img := range slices.Sorted(maps.Keys(dockerfiles)) {
		src := dockerfiles[img]
		if src == "" {
			hcl.WriteString("image \"" + img + "\" {}\n")
			continue
		}
		files[img+"/Dockerfile"] = strings.ReplaceAll(src, "$REG", r.reg)
		hcl.WriteString("image \"" + img + "\" {\n  dockerfile = \"" + img + "/Dockerfile\"\n}\n")
	}
	c := configtest.Monorepo(t, hcl.String(), "", files)
	r.dir, r.config = c.Dir, c.Path
	return r
}

func (r *baseRepo) write(rel, content string) {
	r.t.Helper()
	writeFile(r.t, filepath.Join(r.dir, rel), content)
}

func (r *baseRepo) read(rel string) string {
	r.t.Helper()
	return userfiletest.Read(r.t, filepath.Join(r.dir, rel))
}

// push pushes imagetest.Random(seed, created) as ref (repo:tag in the
// registry) and returns its digest.
func (r *baseRepo) push(ref string, seed int64, created time.Time) string {
	r.t.Helper()
	return regtest.Push(r.t, r.reg+"/"+ref, imagetest.Random(r.t, seed, created)).String()
}

// pushIndex pushes an index of the given images (platform -> image) as ref
// and returns its digest.
func (r *baseRepo) pushIndex(ref string, imgs map[string]v1.Image) string {
	r.t.Helper()
	return regtest.Push(r.t, r.reg+"/"+ref, imagetest.Index(r.t, imgs)).String()
}

// TestBaseMultiPlatform: a FROM pinned to the linux/amd64 manifest of an
// index stays current when the index gains an architecture; update pins
// the index digest of an unpinned FROM.
func TestBaseMultiPlatform(t *testing.T) {
	t.Parallel()
	r := newBaseRepo(t, map[string]string{
		"web": "FROM $REG/lib/node:20.11.1@$AMD\nFROM --platform=linux/arm64 $REG/lib/node:20.11.1\n",
	})
	amd, arm := imagetest.Random(t, 5, time.Time{}), imagetest.Random(t, 6, time.Time{})
	amdD, armD := imagetest.Digest(t, amd).String(), imagetest.Digest(t, arm).String()
	r.write("web/Dockerfile", strings.ReplaceAll(r.read("web/Dockerfile"), "$AMD", amdD))
	idx1 := r.pushIndex("lib/node:20.11.1", map[string]v1.Image{"linux/amd64": amd, "linux/arm64": arm})
	idx2 := r.pushIndex("lib/node:20.11.1", map[string]v1.Image{"linux/amd64": amd, "linux/arm64": arm, "linux/s390x": imagetest.Random(t, 7, time.Time{})})
	digests := map[string]string{amdD: "$AMD", armD: "$ARM", idx1: "$IDX1", idx2: "$IDX2"}

	got := r.run(digests, "base", "check")
	want := result{code: 1, stdout: `web: $DIR/web/Dockerfile:1: $REG/lib/node:20.11.1@$AMD: pinned-current (the linux/amd64 manifest in the index)
web: $DIR/web/Dockerfile:2: $REG/lib/node:20.11.1: unpinned (a mutable tag without digest)
    current:  $IDX2 (index), $ARM (linux/arm64)
2 bases: 1 pinned-current, 1 unpinned
`}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(result{})); diff != "" {
		t.Errorf("check (-want +got):\n%s", diff)
	}
	if got := r.run(digests, "base", "update"); got.code != 0 {
		t.Fatalf("update: %+v", got)
	}
	wantSrc := "FROM $REG/lib/node:20.11.1@$AMD\nFROM --platform=linux/arm64 $REG/lib/node:20.11.1@$IDX2\n"
	if got := r.run(digests, "base", "check"); got.code != 0 || !strings.Contains(got.stdout, "@$IDX2: pinned-current (the index digest)") {
		t.Errorf("check after update: %+v", got)
	}
	src := strings.NewReplacer(r.reg, "$REG", amdD, "$AMD", idx2, "$IDX2").Replace(r.read("web/Dockerfile"))
	if diff := cmp.Diff(wantSrc, src); diff != "" {
		t.Errorf("Dockerfile after update (-want +got):\n%s", diff)
	}
}

// run runs imgver with --config and args, and replaces the temp dir, the
// registry address and the given digests (digest -> placeholder) in its
// output.
func (r *baseRepo) run(digests map[string]string, args ...string) result {
	r.t.Helper()
	res := imgver(r.t, append([]string{"--config", r.config}, args...)...)
	clean := func(s string) string {
		s = strings.ReplaceAll(s, r.dir, "$DIR")
		s = strings.ReplaceAll(s, r.reg, "$REG")
		for d, p := range digests {
			s = strings.ReplaceAll(s, d, p)
		}
		return s
	}
	return result{clean(res.stdout), clean(res.stderr), res.code}
}

func TestBaseCheckUpdate(t *testing.T) {
	r := newBaseRepo(t, map[string]string{
		"app": "# app\nFROM $REG/lib/base:1.2.3 AS build\nRUN make\n\nFROM build\n",
		"db":  "",
	})
	d1 := r.push("lib/base:1.2.3", 1, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	digests := map[string]string{d1: "$D1"}

	got := r.run(digests, "base", "check")
	want := result{code: 1, stdout: `app: $DIR/app/Dockerfile:2: $REG/lib/base:1.2.3: unpinned (a mutable tag without digest)
    current:  $D1
db: skipped: no dockerfile
1 base: 1 unpinned
`}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(result{})); diff != "" {
		t.Errorf("check unpinned (-want +got):\n%s", diff)
	}

	before := r.read("app/Dockerfile")
	got = r.run(digests, "base", "update", "--dry-run")
	want = result{code: 1, stdout: `--- $DIR/app/Dockerfile
+++ $DIR/app/Dockerfile
@@ -1,5 +1,5 @@
 # app
-FROM $REG/lib/base:1.2.3 AS build
+FROM $REG/lib/base:1.2.3@$D1 AS build
 RUN make
 
 FROM build
`}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(result{})); diff != "" {
		t.Errorf("update --dry-run (-want +got):\n%s", diff)
	}
	if after := r.read("app/Dockerfile"); after != before {
		t.Errorf("--dry-run wrote the Dockerfile:\n%s", after)
	}

	got = r.run(digests, "base", "update", "--dry-run", "--format", "json")
	var plan struct {
		Files []struct{ Path, Diff string } `json:"files"`
	}
	if err := json.Unmarshal([]byte(got.stdout), &plan); err != nil || got.code != 1 {
		t.Fatalf("update --dry-run --format json: exit %d, %v\n%s", got.code, err, got.stdout)
	}
	if len(plan.Files) != 1 || plan.Files[0].Path != "$DIR/app/Dockerfile" || !strings.Contains(plan.Files[0].Diff, "+FROM $REG/lib/base:1.2.3@$D1 AS build\n") {
		t.Errorf("update --dry-run --format json: %+v", plan)
	}
	if after := r.read("app/Dockerfile"); after != before {
		t.Errorf("--dry-run --format json wrote the Dockerfile:\n%s", after)
	}

	got = r.run(digests, "base", "update")
	want = result{code: 0, stdout: `app: $DIR/app/Dockerfile:2: $REG/lib/base:1.2.3: pinned to $D1
db: skipped: no dockerfile
1 base pinned in 1 file
`}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(result{})); diff != "" {
		t.Errorf("update (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(strings.Replace(before, "1.2.3", "1.2.3@"+d1, 1), r.read("app/Dockerfile")); diff != "" {
		t.Errorf("Dockerfile after update (-want +got):\n%s", diff)
	}

	got = r.run(digests, "base", "check", "app")
	want = result{code: 0, stdout: `app: $DIR/app/Dockerfile:2: $REG/lib/base:1.2.3@$D1: pinned-current (the manifest digest)
1 base: 1 pinned-current
`}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(result{})); diff != "" {
		t.Errorf("check after update (-want +got):\n%s", diff)
	}

	// Upstream rebuilds the tag.
	d2 := r.push("lib/base:1.2.3", 2, time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC))
	digests[d2] = "$D2"
	got = r.run(digests, "base", "check", "app")
	want = result{code: 1, stdout: `app: $DIR/app/Dockerfile:2: $REG/lib/base:1.2.3@$D1: pinned-stale (the tag now points to another linux/amd64 image)
    pinned:   $D1
    current:  $D2
    created:  2026-02-03T04:05:06Z
    packages: none
1 base: 1 pinned-stale
`}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(result{})); diff != "" {
		t.Errorf("check after rebuild (-want +got):\n%s", diff)
	}

	got = r.run(digests, "base", "check", "--format", "json")
	if got.code != 1 {
		t.Errorf("check --format json: exit %d, want 1", got.code)
	}
	var doc struct {
		Images []struct {
			Image   string `json:"image"`
			Skipped string `json:"skipped"`
			Bases   []struct {
				Line            int    `json:"line"`
				Status          string `json:"status"`
				Pinned, Current string
				Created         string `json:"created"`
			} `json:"bases"`
		} `json:"images"`
	}
	if err := json.Unmarshal([]byte(got.stdout), &doc); err != nil {
		t.Fatalf("check --format json: %v\n%s", err, got.stdout)
	}
	if len(doc.Images) != 2 || doc.Images[1].Skipped != "no dockerfile" || len(doc.Images[0].Bases) != 1 {
		t.Fatalf("check --format json: %+v", doc)
	}
	if b := doc.Images[0].Bases[0]; b.Line != 2 || b.Status != "pinned-stale" || b.Pinned != "$D1" || b.Current != "$D2" || b.Created != "2026-02-03T04:05:06Z" {
		t.Errorf("check --format json: base %+v", b)
	}

	// --format github prints the lines when $GITHUB_OUTPUT is unset and
	// appends them to it when set.
	t.Setenv("GITHUB_OUTPUT", "")
	got = r.run(digests, "base", "check", "--format", "github")
	if want := (result{code: 1, stdout: "stale=app\nunpinned=\n"}); got != want {
		t.Errorf("check --format github: %+v, want %+v", got, want)
	}
	out := filepath.Join(t.TempDir(), "github_output")
	if err := os.WriteFile(out, []byte("before=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GITHUB_OUTPUT", out)
	if got := r.run(digests, "base", "check", "--format", "github"); got.code != 1 || got.stdout != "" {
		t.Errorf("check --format github with $GITHUB_OUTPUT: %+v", got)
	}
	if b, _ := os.ReadFile(out); string(b) != "before=1\nstale=app\nunpinned=\n" {
		t.Errorf("$GITHUB_OUTPUT = %q", b)
	}

	if got := r.run(digests, "base", "update"); got.code != 0 {
		t.Errorf("second update: %+v", got)
	}
	if got := r.run(digests, "base", "check"); got.code != 0 || !strings.Contains(got.stdout, "@$D2: pinned-current") {
		t.Errorf("check after second update: %+v", got)
	}
}

// TestBaseUnresolvable: a reference that cannot be resolved fails check and
// update with exit 2, names the image, Dockerfile:line and reference, and
// update leaves every Dockerfile as it was.
func TestBaseUnresolvable(t *testing.T) {
	t.Parallel()
	r := newBaseRepo(t, map[string]string{
		"a": "FROM $REG/lib/good:1.0.0\n",
		"b": "FROM $REG/lib/good:1.0.0\r\nFROM $REG/lib/gone:1.0.0\r\n",
	})
	r.push("lib/good:1.0.0", 3, time.Unix(0, 0))
	before := map[string]string{"a": r.read("a/Dockerfile"), "b": r.read("b/Dockerfile")}

	for _, args := range [][]string{{"base", "check"}, {"base", "update"}, {"base", "update", "--dry-run"}, {"base", "update", "--format", "json"}} {
		got := r.run(nil, args...)
		if got.code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s%s", args, got.code, got.stdout, got.stderr)
		}
		if want := `imgver: $DIR/b/Dockerfile:2: image "b": base "$REG/lib/gone:1.0.0": resolving`; !strings.HasPrefix(got.stderr, want) {
			t.Errorf("%v: stderr %q, want it to start with %q", args, got.stderr, want)
		}
		for img, src := range before {
			if after := r.read(img + "/Dockerfile"); after != src {
				t.Errorf("%v changed %s/Dockerfile:\n%q", args, img, after)
			}
		}
	}
}

func TestBaseErrors(t *testing.T) {
	t.Parallel()
	r := newBaseRepo(t, map[string]string{
		"py": "ARG V=3.13\nFROM $REG/lib/py:${V}-slim\n",
	})
	d := r.push("lib/py:3.13-slim", 4, time.Unix(0, 0))
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"unknown image", []string{"base", "check", "nope"}, 2, "", `imgver: unknown image "nope" (known: py)` + "\n"},
		{"bad format", []string{"base", "check", "--format", "xml"}, 2, "", `imgver: invalid argument "xml" for "--format" flag: want text, json or github (see imgver base check --help)` + "\n"},
		{"bad platform", []string{"base", "update", "--platform", "amd64"}, 2, "", `imgver: parsing platform "amd64": want os/arch[/variant]` + "\n"},
		{"ARG check", []string{"base", "check"}, 1, `py: $DIR/py/Dockerfile:2: $REG/lib/py:${V}-slim: unpinned (a mutable tag without digest)
    resolved: $REG/lib/py:3.13-slim
    current:  $D
    not updatable: the reference is built from ARG values; pin it by changing the ARG
    warning: mutable-tag: tag "3.13-slim" has 2 version component(s), fewer than 3: it is shared by patch releases and moves with them
1 base: 1 unpinned
`, ""},
		{"ARG update", []string{"base", "update"}, 1, `py: $DIR/py/Dockerfile:2: $REG/lib/py:${V}-slim: not updated: the reference is built from ARG values; pin it by changing the ARG
0 bases pinned in 0 files
`, "imgver: 1 base(s) could not be pinned in place: $DIR/py/Dockerfile:2: $REG/lib/py:${V}-slim\n"},
	} {
		got := r.run(map[string]string{d: "$D"}, tc.args...)
		want := result{tc.stdout, tc.stderr, tc.code}
		if diff := cmp.Diff(want, got, cmp.AllowUnexported(result{})); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}

func TestBaseBadDockerfile(t *testing.T) {
	t.Parallel()
	r := newBaseRepo(t, map[string]string{"x": "FROM a:1 AS\n"})
	got := r.run(nil, "base", "check")
	if got.code != 2 || !strings.HasPrefix(got.stderr, "imgver: parsing $DIR/x/Dockerfile of \"x\": line 1: ") {
		t.Errorf("got %+v", got)
	}
}

// TestBaseUpdateGitHubOutputUnwritable: update --format github with a
// $GITHUB_OUTPUT it cannot open fails before it writes a Dockerfile.
func TestBaseUpdateGitHubOutputUnwritable(t *testing.T) {
	r := newBaseRepo(t, map[string]string{"app": "FROM $REG/lib/base:1.2.3\n"})
	r.push("lib/base:1.2.3", 1, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	before := r.read("app/Dockerfile")
	t.Setenv("GITHUB_OUTPUT", filepath.Join(t.TempDir(), "missing-dir", "out"))
	got := r.run(nil, "base", "update", "--format", "github")
	if got.code != 2 || !strings.HasPrefix(got.stderr, "imgver: opening $GITHUB_OUTPUT") {
		t.Errorf("got %+v, want exit 2 and opening $GITHUB_OUTPUT", got)
	}
	if after := r.read("app/Dockerfile"); after != before {
		t.Errorf("Dockerfile changed:\n%s", after)
	}
}

// TestBaseUpdateUnpin: --unpin unpins the automatically pinned images whose
// base is stale, leaves a manual pin, and --dry-run writes nothing.
func TestBaseUpdateUnpin(t *testing.T) {
	r := newBaseRepo(t, map[string]string{
		"app":  "FROM $REG/lib/base:1.2.3\n",
		"tool": "FROM $REG/lib/base:1.2.3\n",
		"db":   "FROM $REG/lib/other:2.0.0\n",
	})
	r.push("lib/base:1.2.3", 1, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	r.push("lib/other:2.0.0", 3, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	if got := r.run(nil, "base", "update"); got.code != 0 {
		t.Fatalf("update: %+v", got)
	}
	const pins = "app_VER=\"v1.0.0\"\nexport tool_VER=\"v1.0.0\"\ndb_VER=\"v1.0.0\"\n"
	r.write("scripts/image_versions.src", pins)
	r.push("lib/base:1.2.3", 2, time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)) // upstream rebuild

	got := r.run(nil, "base", "update", "--unpin", "--dry-run")
	if got.code != 1 || r.read("scripts/image_versions.src") != pins {
		t.Fatalf("--dry-run: %+v\npins: %s", got, r.read("scripts/image_versions.src"))
	}
	got = r.run(nil, "base", "update", "--unpin")
	if got.code != 0 || !strings.Contains(got.stderr, "app: pinned v1.0.0 -> unpinned (stale base)") ||
		!strings.Contains(got.stderr, "tool has a stale base but a manual pin: left pinned") {
		t.Fatalf("--unpin: %+v", got)
	}
	if want := "export tool_VER=\"v1.0.0\"\ndb_VER=\"v1.0.0\"\n"; r.read("scripts/image_versions.src") != want {
		t.Errorf("pin file:\n%s\nwant:\n%s", r.read("scripts/image_versions.src"), want)
	}
	if got := r.run(nil, "base", "check"); got.code != 0 {
		t.Errorf("check after update --unpin: %+v", got)
	}
}

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
		img := imagetest.Image(t, imagebuild.Build{MTime: time.Unix(stamp, 0)}, nil, imagebuild.Config{Cmd: []string{"/bin/sh"}}, rootfs,
			[]imagebuild.File{imagebuild.Dir("/etc/ssl"), imagebuild.Reg("/etc/ssl/ca.pem", ca)})
		return regtest.Push(t, prefix+"/python:3.13.8-slim", img).String()
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
	if got := userfiletest.Read(t, filepath.Join(dir, "svc", "Dockerfile")); got != pinned {
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
	app := imagetest.Image(t, imagebuild.Build{MTime: time.Unix(1_700_000_000, 0)}, nil, imagebuild.Config{Cmd: []string{"/bin/sh"}}, rootfs)
	regtest.Push(t, prefix+"/svc:v1.0.0", app)
	imagetest.WriteLayout(t, filepath.Join(dir, "build", "svc"), app)
	r = runBinary(t, dir, []string{"GITHUB_OUTPUT="}, "detect", "--format", "json")
	if r.code != 0 || !strings.Contains(r.stdout, `"base_stale": [
    "svc"
  ]`) {
		t.Fatalf("detect: %+v", r)
	}

	if r := base("update", "--unpin"); r.code != 0 || !strings.Contains(r.stderr, "svc: pinned v1.0.0 -> unpinned (stale base)") {
		t.Fatalf("update --unpin: %+v", r)
	}
	if got, want := userfiletest.Read(t, filepath.Join(dir, "svc", "Dockerfile")), strings.Replace(dockerfile, "3.13.8-slim AS", "3.13.8-slim@"+rebuilt+" AS", 1); got != want {
		t.Errorf("Dockerfile after update --unpin:\n%q\nwant:\n%q", got, want)
	}
	if got := userfiletest.Read(t, filepath.Join(dir, "pins.src")); got != "" {
		t.Errorf("pin file after update --unpin: %q", got)
	}
	if r := base("check"); r.code != 0 {
		t.Errorf("check at the end: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "svc", "Dockerfile")); err != nil {
		t.Fatal(err)
	}
}
