package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imgver/imgver/internal/flow"
	"github.com/imgver/imgver/internal/imagebuild"
	"github.com/imgver/imgver/internal/regtest"
)

// e2eEnv returns the value of env, where scripts/test.sh names the real
// service (what) it started for the end-to-end tests. They are skipped only
// when it is unset; a service that is named but does not answer fails them.
func e2eEnv(t *testing.T, env, what string) string {
	t.Helper()
	v := os.Getenv(env)
	if v == "" {
		t.Skipf("%s is not set; scripts/test.sh starts %s and sets it", env, what)
	}
	return v
}

// e2eRegistry returns the address of the real registry scripts/test.sh
// starts (IMGVER_E2E_REGISTRY).
func e2eRegistry(t *testing.T) string {
	t.Helper()
	addr := e2eEnv(t, "IMGVER_E2E_REGISTRY", "a registry")
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + addr + "/v2/")
	if err != nil {
		t.Fatalf("IMGVER_E2E_REGISTRY=%s does not answer: %v", addr, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("IMGVER_E2E_REGISTRY=%s: GET /v2/ gave %s", addr, resp.Status)
	}
	return addr
}

// The files of the test images. Base images have two layers; each app image
// adds two of its own: the app, then build leftovers that are noise.
var (
	rootfs = []imagebuild.File{
		imagebuild.Dir("/etc"), imagebuild.Reg("/etc/os-release", "ID=testos\nVERSION_ID=1\n"),
		imagebuild.Dir("/bin"), imagebuild.Exe("/bin/sh", "\x7fELF shell\n"),
		imagebuild.Dir("/var"), imagebuild.Dir("/var/log"), imagebuild.Dir("/tmp"),
	}
	baseExtra = []imagebuild.File{imagebuild.Dir("/etc/ssl"), imagebuild.Reg("/etc/ssl/ca.pem", "CA 1\n")}
	jreExtra  = func(rt string) []imagebuild.File {
		return []imagebuild.File{imagebuild.Dir("/opt"), imagebuild.Dir("/opt/jre"), imagebuild.Exe("/opt/jre/java", "java 21\n"), imagebuild.Reg("/opt/jre/rt.jar", rt)}
	}
	appFiles = func(name string, runMode int64) []imagebuild.File {
		return []imagebuild.File{
			imagebuild.Dir("/app"),
			{Path: "/app/run", Mode: runMode, Content: "#!/bin/sh\nexec " + name + "\n"},
			imagebuild.Reg("/app/config.yml", "name: "+name+"\n"),
		}
	}
	noise = func(seed string) []imagebuild.File {
		return []imagebuild.File{
			imagebuild.Reg("/var/log/build.log", "built at "+seed+"\n"),
			imagebuild.Reg("/tmp/build-"+seed, seed),
			imagebuild.Dir("/var/lib"), imagebuild.Dir("/var/lib/apt"), imagebuild.Dir("/var/lib/apt/lists"),
			imagebuild.Reg("/var/lib/apt/lists/deb_InRelease", "Date: "+seed+"\n"),
		}
	}
	appConfig = imagebuild.Config{Entrypoint: []string{"/app/run"}, Cmd: []string{"serve"}, Env: []string{"PATH=/usr/bin:/bin", "APP_MODE=prod"}}
)

const e2ePins = `#!/bin/bash
# Released images; see imgver release.
# 2026-01-05T10:00:00Z -- v1.0.0
gateway_VER="v1.0.0"
worker_VER="v1.0.0"
console_VER="v1.0.0"
reports_VER="v1.0.0"
`

// e2eRepo is a monorepo whose images live in the real registry.
type e2eRepo struct {
	dir, pins, prefix, sha string
}

func (r *e2eRepo) ref(image, tag string) string { return r.prefix + "/" + image + ":" + tag }

// newE2ERepo makes a git monorepo of four images pinned at v1.0.0, pushes
// their base images and v1.0.0 releases, and writes fresh builds of them as
// OCI layouts under build/, as CI would after a commit:
//
//	gateway  rebuilt from the same files: new mtimes, another gzip level, new noise  -> same
//	worker   one permission bit of its entrypoint changed                             -> changed, app
//	console  its Env changed                                                          -> changed, config
//	reports  its base image rebuilt under the same tag with one file changed         -> changed, base
func newE2ERepo(t *testing.T, addr string) *e2eRepo {
	t.Helper()
	// A namespace of its own, so that runs against one registry never meet.
	r := &e2eRepo{dir: t.TempDir(), prefix: fmt.Sprintf("%s/acme/t%d", addr, time.Now().UnixNano())}
	old := imagebuild.Build{MTime: time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC), GzipLevel: 1}
	fresh := imagebuild.Build{MTime: time.Date(2026, 2, 7, 9, 30, 0, 0, time.UTC), GzipLevel: 9}

	baseImg := mustImage(t)(old.Image(nil, imagebuild.Config{Env: []string{"PATH=/usr/bin:/bin"}}, rootfs, baseExtra))
	jreOld := mustImage(t)(old.Image(nil, imagebuild.Config{Env: []string{"PATH=/usr/bin:/bin"}}, rootfs, jreExtra("rt 21.0.1\n")))
	jreNew := mustImage(t)(fresh.Image(nil, imagebuild.Config{Env: []string{"PATH=/usr/bin:/bin"}}, rootfs, jreExtra("rt 21.0.2\n")))
	regtest.Push(t, r.ref("base", "1"), baseImg)

	writeFile(t, filepath.Join(r.dir, "images.hcl"), fmt.Sprintf(`registry = %q

image "gateway" {
  dockerfile = "gateway/Dockerfile"
  candidate  = "oci:build/{name}"
}
image "worker" {
  dockerfile = "worker/Dockerfile"
  candidate  = "oci:build/{name}"
}
image "console" {
  dockerfile = "console/Dockerfile"
  candidate  = "oci:build/{name}"
}
image "reports" {
  dockerfile = "reports/Dockerfile"
  candidate  = "oci:build/{name}"
}
`, r.prefix))
	for _, n := range []string{"gateway", "worker", "console"} {
		mkdirAll(t, filepath.Join(r.dir, n))
		writeFile(t, filepath.Join(r.dir, n, "Dockerfile"), "FROM "+r.ref("base", "1")+"\nCOPY . /app\nENTRYPOINT [\"/app/run\"]\n")
	}
	// The final stage of reports is built from base-jre through an alias.
	mkdirAll(t, filepath.Join(r.dir, "reports"))
	writeFile(t, filepath.Join(r.dir, "reports", "Dockerfile"), "FROM "+r.ref("base", "1")+" AS build\nRUN make\n\n"+
		"FROM "+r.ref("base-jre", "1")+" AS runtime\n\nFROM runtime\nCOPY --from=build /src/out /app\n")
	mkdirAll(t, filepath.Join(r.dir, "scripts"))
	r.pins = filepath.Join(r.dir, "scripts", "image_versions.src")
	writeFile(t, r.pins, e2ePins)

	// The releases, v1.0.0.
	bases := map[string]v1.Image{"gateway": baseImg, "worker": baseImg, "console": baseImg, "reports": jreOld}
	for _, n := range []string{"gateway", "worker", "console", "reports"} {
		regtest.Push(t, r.ref(n, "v1.0.0"), mustImage(t)(old.Image(bases[n], appConfig, appFiles(n, 0o755), noise("jan"))))
	}
	// base-jre:1 was rebuilt since (a security fix): same tag, new image.
	regtest.Push(t, r.ref("base-jre", "1"), jreNew)

	// The fresh builds.
	consoleCfg := appConfig
	consoleCfg.Env = []string{"PATH=/usr/bin:/bin", "APP_MODE=debug"}
	cands := map[string]v1.Image{
		"gateway": mustImage(t)(fresh.Image(baseImg, appConfig, appFiles("gateway", 0o755), noise("feb"))),
		"worker":  mustImage(t)(fresh.Image(baseImg, appConfig, appFiles("worker", 0o775), noise("feb"))),
		"console": mustImage(t)(fresh.Image(baseImg, consoleCfg, appFiles("console", 0o755), noise("feb"))),
		"reports": mustImage(t)(fresh.Image(jreNew, appConfig, appFiles("reports", 0o755), noise("feb"))),
	}
	for n, img := range cands {
		if err := imagebuild.WriteLayout(filepath.Join(r.dir, "build", n), img); err != nil {
			t.Fatal(err)
		}
	}
	r.sha = gitCommit(t, r.dir, "four images", "images.hcl", "scripts", "gateway", "worker", "console", "reports")
	return r
}

func mustImage(t *testing.T) func(v1.Image, error) v1.Image {
	return func(img v1.Image, err error) v1.Image {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
}

// svcMonorepo makes a monorepo of one image, svc (svc/Dockerfile,
// candidate oci:build/svc, pin file pins.src), whose repositories live under
// a fresh prefix on the e2e registry, named with tag ("b", "p", ...).
func svcMonorepo(t *testing.T, tag string) (dir, prefix string) {
	t.Helper()
	prefix = fmt.Sprintf("%s/acme/%s%d", e2eRegistry(t), tag, time.Now().UnixNano())
	dir = t.TempDir()
	writeFile(t, filepath.Join(dir, "images.hcl"), fmt.Sprintf(`registry = %q
pin_file = "pins.src"
image "svc" {
  dockerfile = "svc/Dockerfile"
  candidate  = "oci:build/svc"
}
`, prefix))
	mkdirAll(t, filepath.Join(dir, "svc"))
	return dir, prefix
}

// commitDockerfile writes svc/Dockerfile of a svcMonorepo and commits the
// monorepo (detect needs a commit for its short SHA).
func commitDockerfile(t *testing.T, dir, content string) {
	t.Helper()
	writeFile(t, filepath.Join(dir, "svc", "Dockerfile"), content)
	gitCommit(t, dir, "svc")
}

func mkdirAll(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

// pushLayout pushes the image of the OCI layout dir as ref, as CI's
// "skopeo copy oci:build/NAME docker://REF" does.
func pushLayout(t *testing.T, dir, ref string) v1.Hash {
	t.Helper()
	img, d := layoutImage(t, dir)
	regtest.Push(t, ref, img)
	return d
}

// layoutImage returns the one image of the OCI layout dir and its digest.
func layoutImage(t *testing.T, dir string) (v1.Image, v1.Hash) {
	t.Helper()
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil || len(m.Manifests) != 1 {
		t.Fatalf("layout %s: %v %v", dir, m, err)
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	return img, m.Manifests[0].Digest
}

// headDigest returns the manifest digest ref points at in the registry.
func headDigest(t *testing.T, ref string) (v1.Hash, error) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	d, err := remote.Head(r, remote.WithContext(t.Context()))
	if err != nil {
		return v1.Hash{}, err
	}
	return d.Digest, nil
}

// TestE2ECIFlow runs the CI flow with the real binary against the real
// registry: detect --write --format github on a commit that leaves one image
// the same and changes three (app, config, base), publish of the changed
// ones under the short SHA, then release --retag.
func TestE2ECIFlow(t *testing.T) {
	addr := e2eRegistry(t)
	r := newE2ERepo(t, addr)
	short := r.sha[:7]
	ghDir := t.TempDir()
	ghOut, ghSummary := filepath.Join(ghDir, "output"), filepath.Join(ghDir, "summary")
	env := []string{"GITHUB_OUTPUT=" + ghOut, "GITHUB_STEP_SUMMARY=" + ghSummary}

	// A dry run writes nothing and tells every verdict and cause.
	res := runBinary(t, r.dir, nil, "detect", "--commit", r.sha, "--format", "json")
	if res.code != 0 {
		t.Fatalf("detect --format json: exit %d\n%s", res.code, res.stderr)
	}
	var rep flow.DetectReport
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
		t.Fatalf("detect --format json: %v\n%s", err, res.stdout)
	}
	type verdict struct{ Name, Verdict, Cause, Version string }
	var got []verdict
	for _, di := range rep.Images {
		got = append(got, verdict{di.Name, string(di.Verdict), string(di.Cause), di.Version})
	}
	want := []verdict{
		{"gateway", "same", "", "v1.0.0"},
		{"worker", "changed", "app", short},
		{"console", "changed", "config", short},
		{"reports", "changed", "base", short},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("verdicts (-want +got):\n%s\nstderr: %s", diff, res.stderr)
	}
	if rep.Written {
		t.Error("dry run says written")
	}
	if got := readString(t, r.pins); got != e2ePins {
		t.Fatalf("dry run changed the pin file:\n%s", got)
	}

	// --exit-code: 1 when something changed, still nothing written.
	if res := runBinary(t, r.dir, nil, "detect", "--commit", r.sha, "--exit-code"); res.code != 1 {
		t.Errorf("detect --exit-code: exit %d, want 1\n%s%s", res.code, res.stdout, res.stderr)
	}
	if got := readString(t, r.pins); got != e2ePins {
		t.Fatalf("detect --exit-code changed the pin file:\n%s", got)
	}

	// CI: detect --write --format github.
	res = runBinary(t, r.dir, env, "detect", "--write", "--format", "github", "--commit", r.sha)
	if res.code != 0 {
		t.Fatalf("detect --write: exit %d\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
	}
	wantPins := `#!/bin/bash
# Released images; see imgver release.
# 2026-01-05T10:00:00Z -- v1.0.0
gateway_VER="v1.0.0"
`
	if diff := cmp.Diff(wantPins, readString(t, r.pins)); diff != "" {
		t.Errorf("pin file after detect --write (-want +got):\n%s", diff)
	}
	out := readString(t, ghOut)
	var changed, publish string
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		k, v, _ := strings.Cut(l, "=")
		switch k {
		case "changed":
			changed = v
		case "publish":
			publish = v
		case "broken", "base_stale":
			if v != "" {
				t.Errorf("$GITHUB_OUTPUT %s", l)
			}
		default:
			t.Errorf("unexpected $GITHUB_OUTPUT line %q", l)
		}
	}
	if changed != "worker,console,reports" {
		t.Errorf("changed=%q, want worker,console,reports", changed)
	}
	var items []flow.PublishItem
	if err := json.Unmarshal([]byte(publish), &items); err != nil {
		t.Fatalf("publish=%s: %v", publish, err)
	}
	var wantItems []flow.PublishItem
	for _, n := range []string{"worker", "console", "reports"} {
		wantItems = append(wantItems, flow.PublishItem{Name: n, Repository: r.prefix + "/" + n, Tag: short})
	}
	if diff := cmp.Diff(wantItems, items); diff != "" {
		t.Errorf("publish (-want +got):\n%s", diff)
	}
	summary := readString(t, ghSummary)
	for _, row := range []string{
		"### imgver detect (" + short + ")",
		"| image | before | verdict | cause | after | version | base | check | summary |",
		"| gateway | pinned v1.0.0 | same | - | pinned | v1.0.0 | ok | ok |  |",
		"| worker | pinned v1.0.0 | changed | app | unpinned | " + short + " | ok | ok | 1 modified (e.g. /app/run) |",
		"| console | pinned v1.0.0 | changed | config | unpinned | " + short + " | ok | ok | 1 config field |",
		"| reports | pinned v1.0.0 | changed | base | unpinned | " + short + " | ok | ok | 1 modified (e.g. /opt/jre/rt.jar) |",
	} {
		if !strings.Contains(summary, row+"\n") {
			t.Errorf("$GITHUB_STEP_SUMMARY lacks the line %q:\n%s", row, summary)
		}
	}

	// CI publishes what detect said, under the short SHA.
	digests := map[string]v1.Hash{}
	for _, it := range items {
		digests[it.Name] = pushLayout(t, filepath.Join(r.dir, "build", it.Name), it.Repository+":"+it.Tag)
	}

	res = runBinary(t, r.dir, nil, "release", "v1.1.0", "--retag", "--commit", r.sha)
	if res.code != 0 {
		t.Fatalf("release --retag: exit %d\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
	}
	for n, d := range digests {
		for _, tag := range []string{short, "v1.1.0"} {
			got, err := headDigest(t, r.ref(n, tag))
			if err != nil || got != d {
				t.Errorf("%s = %v (%v), want %v", r.ref(n, tag), got, err, d)
			}
		}
	}
	if _, err := headDigest(t, r.ref("gateway", "v1.1.0")); err == nil {
		t.Error("gateway, still pinned, was tagged v1.1.0")
	}
	pins := readString(t, r.pins)
	rest, ok := strings.CutPrefix(pins, wantPins)
	if !ok {
		t.Fatalf("release changed lines it did not mean to touch:\n%s", pins)
	}
	rest = timeRE.ReplaceAllString(rest, "TIME")
	if diff := cmp.Diff("\n# TIME -- v1.1.0\nworker_VER=\"v1.1.0\"\nconsole_VER=\"v1.1.0\"\nreports_VER=\"v1.1.0\"\n", rest); diff != "" {
		t.Errorf("pins added by release (-want +got):\n%s", diff)
	}

	// Nothing left to do: the next detect finds every image pinned and the same.
	res = runBinary(t, r.dir, nil, "detect", "--commit", r.sha, "--exit-code")
	if res.code != 0 || !strings.Contains(res.stdout, "No pinned image changed.") {
		t.Errorf("detect after the release: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
}

// TestE2EBaselineMissing: a pinned image whose release is not in the
// registry is exit 3, named with its reference; nothing is written.
func TestE2EBaselineMissing(t *testing.T) {
	addr := e2eRegistry(t)
	r := newE2ERepo(t, addr)
	pins := strings.Replace(e2ePins, `worker_VER="v1.0.0"`, `worker_VER="v0.9.0"`, 1)
	writeFile(t, r.pins, pins)
	res := runBinary(t, r.dir, nil, "detect", "--write", "--commit", r.sha)
	if res.code != 3 {
		t.Fatalf("exit %d, want 3\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
	}
	first, _, _ := strings.Cut(res.stderr, "\n")
	if !strings.Contains(first, "image worker") || !strings.Contains(first, r.ref("worker", "v0.9.0")) {
		t.Errorf("first line of stderr %q does not name the image and its baseline", first)
	}
	if got := readString(t, r.pins); got != pins {
		t.Errorf("pin file changed:\n%s", got)
	}
}
