package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgver/imgver/internal/config/configtest"
	"github.com/imgver/imgver/internal/detect"
	"github.com/imgver/imgver/internal/flow"
	"github.com/imgver/imgver/internal/imagebuild"
	"github.com/imgver/imgver/internal/imagetest"
	"github.com/imgver/imgver/internal/packages"
	"github.com/imgver/imgver/internal/referrer"
	"github.com/imgver/imgver/internal/regtest"
	"github.com/imgver/imgver/internal/userfile/userfiletest"
)

const detectSHA = "0123456789abcdef0123456789abcdef01234567"

const detectPins = `#!/bin/bash
# 2026-01-05T10:00:00Z -- v1.0.0
a_VER="v1.0.0"
b_VER="v1.0.0"
c_VER="v1.0.0"

# by hand
export m_VER="v0.9.0"
`

// detectRepo is a monorepo whose images live in an in-process registry
// (behind wrap, when set):
//
//	a  pinned, rebuilt the same        -> same
//	b  pinned, entrypoint mode changed -> changed, app (FROM scratch)
//	c  pinned, Env changed             -> changed, config
//	m  manual pin                      -> not compared
//	u  unpinned                        -> not compared, published
type detectRepo struct {
	dir, cfg, pins, host string
	// layer is the digest of the one layer blob of b:v1.0.0.
	layer v1.Hash
}

func newDetectRepo(t *testing.T, wrap func(http.Handler) http.Handler) *detectRepo {
	t.Helper()
	r := &detectRepo{host: regtest.StartBehind(t, wrap)}
	names := []string{"a", "b", "c", "m", "u"}
	dockerfiles := map[string]string{}
	for _, n := range names {
		dockerfiles[n+"/Dockerfile"] = "FROM scratch\nCOPY run /app/run\n"
	}
	c := configtest.Monorepo(t, fmt.Sprintf("registry = %q\n", r.host+"/acme")+builtImages(names...), detectPins, dockerfiles)
	r.dir, r.cfg, r.pins = c.Dir, c.Path, c.PinFile

	old := imagebuild.Build{MTime: time.Unix(1_700_000_000, 0).UTC(), GzipLevel: 1}
	fresh := imagebuild.Build{MTime: time.Unix(1_800_000_000, 0).UTC(), GzipLevel: 9}
	// Each image has its own content, so no two share a layer.
	files := func(name string, mode int64) []imagebuild.File {
		return []imagebuild.File{imagebuild.Dir("/bin"), imagebuild.Exe("/bin/sh", "\x7fELF sh"),
			imagebuild.Dir("/app"), {Path: "/app/run", Mode: mode, Content: "#!/bin/sh\necho " + name + "\n"}}
	}
	cfg := imagebuild.Config{Entrypoint: []string{"/app/run"}, Env: []string{"MODE=prod"}}
	for _, n := range []string{"a", "b", "c", "m"} {
		img := imagetest.Image(t, old, nil, cfg, files(n, 0o755))
		regtest.Push(t, r.host+"/acme/"+n+":v1.0.0", img)
		if n == "b" {
			r.layer = imagetest.LayerDigests(t, img)[0]
		}
	}
	cfgC := cfg
	cfgC.Env = []string{"MODE=debug"}
	for n, img := range map[string]v1.Image{
		"a": imagetest.Image(t, fresh, nil, cfg, files("a", 0o755)),
		"b": imagetest.Image(t, fresh, nil, cfg, files("b", 0o750)),
		"c": imagetest.Image(t, fresh, nil, cfgC, files("c", 0o755)),
		"m": imagetest.Image(t, fresh, nil, cfg, files("m", 0o700)),
	} {
		imagetest.WriteLayout(t, filepath.Join(r.dir, "build", n), img)
	}
	return r
}

func (r *detectRepo) detect(t *testing.T, args ...string) result {
	t.Helper()
	return imgver(t, append([]string{"--config", r.cfg, "detect", "--commit", detectSHA}, args...)...)
}

// outputs are the outputs of detect (github, dotenv) but short_sha when
// changed were unpinned: b and c (changed since their release) and u
// (unpinned all along) are to be published.
func (r *detectRepo) outputs(changed string) string {
	h := r.host + "/acme/"
	return "changed=" + changed + "\npublish=" +
		`[{"name":"b","repository":"` + h + `b","tag":"0123456"},{"name":"c","repository":"` + h + `c","tag":"0123456"},{"name":"u","repository":"` + h + `u","tag":"0123456"}]` + "\nbroken=\nbase_stale=\n"
}

func TestDetectText(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		// pins: the pin file afterwards; empty: byte-identical.
		pins string
	}{
		{name: "detect-dry-run"},
		{name: "detect-write", args: []string{"--write"}, pins: strings.Replace(detectPins, "b_VER=\"v1.0.0\"\nc_VER=\"v1.0.0\"\n", "", 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GITHUB_OUTPUT", "")
			r := newDetectRepo(t, nil)
			res := r.detect(t, tc.args...)
			if res.code != 0 {
				t.Fatalf("exit %d\n%s", res.code, res.stderr)
			}
			golden(t, tc.name, res.stdout)
			want := tc.pins
			if want == "" {
				want = detectPins
			}
			if diff := cmp.Diff(want, userfiletest.Read(t, r.pins)); diff != "" {
				t.Errorf("pin file (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDetectJSON(t *testing.T) {
	r := newDetectRepo(t, nil)
	res := r.detect(t, "--format", "json")
	if res.code != 0 {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(res.stdout), &got); err != nil {
		t.Fatalf("%v\n%s", err, res.stdout)
	}
	keys := func(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }
	// The schema: these fields, with these values.
	if diff := cmp.Diff([]string{"base_stale", "broken", "changed", "commit", "images", "publish", "schema_version", "short_sha", "written"}, keys(got)); diff != "" {
		t.Errorf("top-level fields (-want +got):\n%s", diff)
	}
	want := map[string]any{"schema_version": 1.0, "commit": detectSHA, "short_sha": "0123456", "written": false,
		"changed": []any{"b", "c"}, "broken": []any{}, "base_stale": []any{},
		"publish": []any{
			map[string]any{"name": "b", "repository": r.host + "/acme/b", "tag": "0123456"},
			map[string]any{"name": "c", "repository": r.host + "/acme/c", "tag": "0123456"},
			map[string]any{"name": "u", "repository": r.host + "/acme/u", "tag": "0123456"},
		}}
	for k, v := range want {
		if diff := cmp.Diff(v, got[k]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", k, diff)
		}
	}
	images, _ := got["images"].([]any)
	if len(images) != 5 {
		t.Fatalf("%d images, want 5", len(images))
	}
	b, _ := images[1].(map[string]any)
	wantB := map[string]any{
		"name": "b", "repository": r.host + "/acme/b", "state_before": "pinned", "version_before": "v1.0.0",
		"candidate": "oci:build/b", "baseline": r.host + "/acme/b:v1.0.0", "baseline_source": "layers", "verdict": "changed", "cause": "app",
		"summary": "1 modified (e.g. /app/run)", "reasons": []any{"modified /app/run: mode 0755 -> 0750"},
		"state_after": "unpinned", "version": "0123456", "publish": true, "base_stale": false, "checked": true,
	}
	if diff := cmp.Diff(wantB, b); diff != "" {
		t.Errorf("image b (-want +got):\n%s", diff)
	}
	m, _ := images[3].(map[string]any)
	wantM := map[string]any{"name": "m", "repository": r.host + "/acme/m", "state_before": "manual", "version_before": "v0.9.0",
		"verdict": "not-compared", "state_after": "manual", "version": "v0.9.0", "publish": false, "base_stale": false, "checked": false}
	if diff := cmp.Diff(wantM, m); diff != "" {
		t.Errorf("image m (-want +got):\n%s", diff)
	}
	// --verbose adds the full comparison.
	res = r.detect(t, "--format", "json", "--verbose")
	var verbose struct {
		Images []struct {
			Result *struct {
				Verdict   string `json:"verdict"`
				Platforms []any  `json:"platforms"`
			} `json:"result"`
		} `json:"images"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &verbose); err != nil {
		t.Fatal(err)
	}
	if r := verbose.Images[1].Result; r == nil || r.Verdict != "changed" || len(r.Platforms) != 1 {
		t.Errorf("--verbose: result of b = %+v", r)
	}
}

func TestDetectGitHub(t *testing.T) {
	r := newDetectRepo(t, nil)
	dir := t.TempDir()
	out, summary := filepath.Join(dir, "out"), filepath.Join(dir, "summary")
	writeFile(t, out, "earlier=1\n")
	t.Setenv("GITHUB_OUTPUT", out)
	t.Setenv("GITHUB_STEP_SUMMARY", summary)
	res := r.detect(t, "--format", "github", "--write")
	if res.code != 0 {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	if diff := cmp.Diff("earlier=1\n"+r.outputs("b,c"), userfiletest.Read(t, out)); diff != "" {
		t.Errorf("$GITHUB_OUTPUT (-want +got):\n%s", diff)
	}
	golden(t, "detect-github-summary", userfiletest.Read(t, summary))
	golden(t, "detect-github-stdout", res.stdout)

	// Nothing changed: empty changed=, only the unpinned image published.
	writeFile(t, out, "")
	if res := r.detect(t, "--format", "github"); res.code != 0 {
		t.Fatalf("second run: exit %d\n%s", res.code, res.stderr)
	}
	if diff := cmp.Diff(r.outputs(""), userfiletest.Read(t, out)); diff != "" {
		t.Errorf("$GITHUB_OUTPUT of the second run (-want +got):\n%s", diff)
	}
}

// TestDetectDotenv: detect --format dotenv prints the GitHub outputs as
// KEY=value lines for GitLab, and nothing else.
func TestDetectDotenv(t *testing.T) {
	r := newDetectRepo(t, nil)
	res := r.detect(t, "--format", "dotenv", "--write")
	if res.code != 0 {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	if diff := cmp.Diff("short_sha=0123456\n"+r.outputs("b,c"), res.stdout); diff != "" {
		t.Errorf("stdout (-want +got):\n%s", diff)
	}
}

// TestDetectGitHubOutputUnwritable: a $GITHUB_OUTPUT or
// $GITHUB_STEP_SUMMARY that cannot be written fails detect --write before it
// unpins anything.
func TestDetectGitHubOutputUnwritable(t *testing.T) {
	for _, env := range []string{"GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"} {
		t.Run(env, func(t *testing.T) {
			r := newDetectRepo(t, nil)
			t.Setenv("GITHUB_OUTPUT", filepath.Join(t.TempDir(), "out"))
			t.Setenv("GITHUB_STEP_SUMMARY", filepath.Join(t.TempDir(), "summary"))
			t.Setenv(env, filepath.Join(t.TempDir(), "missing-dir", "file"))
			res := r.detect(t, "--format", "github", "--write")
			if res.code != 2 || !strings.HasPrefix(res.stderr, "imgver: opening $"+env) {
				t.Errorf("exit %d, stderr %q; want 2 and opening $%s", res.code, res.stderr, env)
			}
			if diff := cmp.Diff(detectPins, userfiletest.Read(t, r.pins)); diff != "" {
				t.Errorf("pin file changed (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDetectExitCodes: what detect exits with, and that a failing run
// writes nothing.
func TestDetectExitCodes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, r *detectRepo)
		args  []string
		code  int
		msg   string // in the first line of stderr
	}{
		{name: "changed with --exit-code", args: []string{"--exit-code", "--write"}, code: 1},
		{name: "nothing changed with --exit-code", args: []string{"--exit-code", "--candidate", "b=" + "{REPO}/b:v1.0.0", "--candidate", "c={REPO}/c:v1.0.0"}, code: 0},
		{name: "candidate missing", setup: func(_ *testing.T, r *detectRepo) { os.RemoveAll(filepath.Join(r.dir, "build", "c")) },
			args: []string{"--write"}, code: 2, msg: `image c: image "oci:build/c" not found`},
		{name: "baseline missing", setup: func(t *testing.T, r *detectRepo) {
			writeFile(t, r.pins, strings.Replace(detectPins, `c_VER="v1.0.0"`, `c_VER="v0.1.0"`, 1))
		}, args: []string{"--write"}, code: 3, msg: "image c: baseline " + "HOST/acme/c:v0.1.0 is not in the registry"},
		{name: "unknown placeholder", args: []string{"--write", "--candidate", "b=oci:build/{nope}"}, code: 2, msg: "image b: unknown placeholder {nope}"},
		{name: "unknown image", args: []string{"--candidate", "zz=oci:x"}, code: 2, msg: `unknown image "zz"`},
		{name: "bad --candidate", args: []string{"--candidate", "b"}, code: 2, msg: `--candidate "b": want NAME=REF`},
		{name: "bad --timeout", args: []string{"--timeout", "-1s"}, code: 2, msg: "--timeout must be positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newDetectRepo(t, nil)
			if tc.setup != nil {
				tc.setup(t, r)
			}
			before := userfiletest.Read(t, r.pins)
			var args []string
			for _, a := range tc.args {
				args = append(args, strings.ReplaceAll(a, "{REPO}", r.host+"/acme"))
			}
			res := r.detect(t, args...)
			if res.code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", res.code, tc.code, res.stdout, res.stderr)
			}
			first, _, _ := strings.Cut(res.stderr, "\n")
			if msg := strings.ReplaceAll(tc.msg, "HOST", r.host); !strings.Contains(first, msg) {
				t.Errorf("first line of stderr %q, want %q in it", first, msg)
			}
			if tc.code >= 2 && userfiletest.Read(t, r.pins) != before {
				t.Errorf("pin file changed:\n%s", userfiletest.Read(t, r.pins))
			}
		})
	}
}

// fault wraps a registry: once armed with the digest of b's layer, the
// requests match selects are answered by misbehave, the first times ones
// only (times < 0: all).
type fault struct {
	next      http.Handler
	match     func(layer string) func(*http.Request) bool
	misbehave func(w http.ResponseWriter, r *http.Request, next http.Handler)
	times     int32
	layer     atomic.Pointer[string]
	seen      atomic.Int32 // matching requests
}

// wrap puts f in front of next, for regtest.StartBehind.
func (f *fault) wrap(next http.Handler) http.Handler {
	f.next = next
	return f
}

func (f *fault) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	layer := f.layer.Load()
	if layer == nil || !f.match(*layer)(r) {
		f.next.ServeHTTP(w, r)
		return
	}
	if n := f.seen.Add(1); f.times >= 0 && n > f.times {
		f.next.ServeHTTP(w, r)
		return
	}
	f.misbehave(w, r, f.next)
}

func status500(w http.ResponseWriter, _ *http.Request, _ http.Handler) {
	http.Error(w, `{"errors":[{"code":"UNKNOWN","message":"the disk is on fire"}]}`, http.StatusInternalServerError)
}

// hang answers nothing until the client gives up (or the test ends).
func hang(stop <-chan struct{}) func(http.ResponseWriter, *http.Request, http.Handler) {
	return func(_ http.ResponseWriter, r *http.Request, _ http.Handler) {
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}
}

// rewriteBody serves what the registry would, with the body changed by edit
// and Content-Length still that of the true body.
func rewriteBody(edit func([]byte) []byte) func(http.ResponseWriter, *http.Request, http.Handler) {
	return func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.WriteHeader(rec.Code)
		_, _ = w.Write(edit(append([]byte(nil), body...)))
	}
}

// TestDetectFaults: a registry that fails, hangs or serves bad bytes makes
// detect fail (exit 2) with one line naming the image and what it read, and
// the pin file stays byte-identical; transient failures are retried.
func TestDetectFaults(t *testing.T) {
	t.Parallel()
	manifestOfB := func(r *http.Request) bool {
		return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/acme/b/manifests/v1.0.0")
	}
	layerOfB := func(layer string) func(*http.Request) bool {
		return func(r *http.Request) bool {
			return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+layer)
		}
	}
	for _, tc := range []struct {
		name      string
		match     func(layer string) func(*http.Request) bool
		misbehave func(stop <-chan struct{}) func(http.ResponseWriter, *http.Request, http.Handler)
		times     int32
		args      []string
		code      int
		msg       []string // in the first line of stderr; LAYER and HOST are replaced
		minSeen   int32    // matching requests at least
		pins      string   // the pin file, when not detectPins
	}{
		{
			name:  "500 twice, then fine: retried",
			match: func(string) func(*http.Request) bool { return manifestOfB },
			misbehave: func(<-chan struct{}) func(http.ResponseWriter, *http.Request, http.Handler) {
				return status500
			}, times: 2, code: 0, minSeen: 3,
		},
		{
			name:  "500 forever",
			match: func(string) func(*http.Request) bool { return manifestOfB },
			misbehave: func(<-chan struct{}) func(http.ResponseWriter, *http.Request, http.Handler) {
				return status500
			}, times: -1, code: 2, msg: []string{"image b: ", "HOST/acme/b:v1.0.0", "the disk is on fire"}, minSeen: 4,
		},
		{
			name:  "registry hangs",
			match: func(string) func(*http.Request) bool { return manifestOfB },
			misbehave: func(stop <-chan struct{}) func(http.ResponseWriter, *http.Request, http.Handler) {
				return hang(stop)
			}, times: -1, args: []string{"--timeout", "2s"}, code: 2,
			msg: []string{"timed out after 2s (--timeout)", "image b: ", "HOST/acme/b:v1.0.0"}, minSeen: 1,
		},
		{
			name:  "truncated blob",
			match: layerOfB,
			misbehave: func(<-chan struct{}) func(http.ResponseWriter, *http.Request, http.Handler) {
				return rewriteBody(func(b []byte) []byte { return b[:len(b)/2] })
			}, times: -1, code: 2, msg: []string{"image b: ", "reading layer LAYER of \"HOST/acme/b:v1.0.0\""}, minSeen: 1,
		},
		{
			name:  "blob does not match its digest",
			match: layerOfB,
			misbehave: func(<-chan struct{}) func(http.ResponseWriter, *http.Request, http.Handler) {
				// The gzip header's MTIME: still a valid gzip stream of the
				// same files, so only the digest can tell.
				return rewriteBody(func(b []byte) []byte { b[4] ^= 0xff; return b })
			}, times: -1, code: 2, msg: []string{"image b: ", "reading layer LAYER of \"HOST/acme/b:v1.0.0\"", "checksum"}, minSeen: 1,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stop := make(chan struct{})
			f := &fault{match: tc.match, misbehave: tc.misbehave(stop), times: tc.times}
			r := newDetectRepo(t, f.wrap)
			t.Cleanup(func() { close(stop) }) // before the server closes
			layer := r.layer.String()
			f.layer.Store(&layer)
			pins := detectPins
			if tc.pins != "" {
				pins = tc.pins
				writeFile(t, r.pins, pins)
			}
			// The test's own bound: without --timeout a hung registry
			// would hang the run.
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			start := time.Now()
			res := imgverContext(ctx, t, append([]string{"--config", r.cfg, "detect", "--commit", detectSHA, "--write"}, tc.args...)...)
			took := time.Since(start)
			if res.code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", res.code, tc.code, res.stdout, res.stderr)
			}
			if n := f.seen.Load(); n < tc.minSeen {
				t.Errorf("%d requests met the fault, want at least %d", n, tc.minSeen)
			}
			if tc.code == 0 {
				if !strings.Contains(res.stdout, "Unpinned in the pin file: b, c.") {
					t.Errorf("stdout:\n%s", res.stdout)
				}
				return
			}
			first, _, _ := strings.Cut(res.stderr, "\n")
			for _, m := range tc.msg {
				m = strings.NewReplacer("LAYER", layer, "HOST", r.host).Replace(m)
				if !strings.Contains(first, m) {
					t.Errorf("first line of stderr %q lacks %q", first, m)
				}
			}
			if strings.Count(strings.TrimSpace(res.stderr), "\n") != 0 && tc.pins == "" {
				t.Errorf("stderr is not one line:\n%s", res.stderr)
			}
			if got := userfiletest.Read(t, r.pins); got != pins {
				t.Errorf("pin file changed:\n%s", got)
			}
			t.Logf("failed after %s: %s", took.Round(time.Millisecond), first)
		})
	}
}

// TestDetectErrorCodes: the exit code of Detect's errors.
func TestDetectErrorCodes(t *testing.T) {
	missing := &flow.BaselineMissingError{Image: "c", Ref: "r.example/c:v1", Err: errors.New("404")}
	timedOut, cancel := context.WithTimeoutCause(t.Context(), 0, errors.New("timed out after 1s (--timeout)"))
	defer cancel()
	<-timedOut.Done()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		err  error
		code int
		msg  string
	}{
		{"one baseline missing", t.Context(), errors.Join(missing), exitBaselineMissing, "image c: baseline r.example/c:v1 is not in the registry"},
		{"only baselines missing", t.Context(), errors.Join(missing, missing), exitBaselineMissing, "image c: baseline"},
		{"another error too", t.Context(), errors.Join(missing, errors.New("image b: boom")), exitError, "image c: baseline"},
		{"timed out, a baseline missing too", timedOut, errors.Join(errors.New("image b: reading layer: context deadline exceeded"), missing), exitError, "timed out after 1s (--timeout): image b: reading layer"},
		{"timed out, said by the error", timedOut, fmt.Errorf("image b: Get x: %w", context.Cause(timedOut)), exitError, "image b: Get x: timed out after 1s (--timeout)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := detectError(tc.ctx, tc.err)
			code := exitError
			var ce *exitCodeError
			if errors.As(err, &ce) {
				code = ce.Code
			}
			if code != tc.code || !strings.HasPrefix(err.Error(), tc.msg) {
				t.Errorf("exit %d, %q; want %d, %q...", code, err, tc.code, tc.msg)
			}
		})
	}
}

// TestDetectBrokenCandidate: a candidate whose entrypoint lost its exec bit
// (ContainerSSH, 2021) makes detect exit 1 and name it as broken, so CI does
// not publish it; --no-check skips the checks.
func TestDetectBrokenCandidate(t *testing.T) {
	r := newDetectRepo(t, nil)
	broken := imagetest.Image(t, imagebuild.Build{MTime: time.Unix(1_800_000_000, 0).UTC()}, nil,
		imagebuild.Config{Entrypoint: []string{"/app/run"}},
		[]imagebuild.File{imagebuild.Dir("/app"), imagebuild.Reg("/app/run", "\x7fELF")})
	dir := filepath.Join(r.dir, "build", "u")
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	imagetest.WriteLayout(t, dir, broken)
	out := filepath.Join(t.TempDir(), "out")
	t.Setenv("GITHUB_OUTPUT", out)
	t.Setenv("GITHUB_STEP_SUMMARY", filepath.Join(t.TempDir(), "summary"))
	res := r.detect(t, "--format", "github")
	if res.code != 1 || !strings.Contains(res.stderr, "the candidates of u fail imgver check") {
		t.Fatalf("exit %d, stderr %q", res.code, res.stderr)
	}
	if !strings.Contains(res.stdout, "u fails imgver check (oci:build/u):\n  entrypoint     /app/run is not executable by root (mode 0644, owner 0:0)") {
		t.Errorf("stdout:\n%s", res.stdout)
	}
	if !strings.Contains(userfiletest.Read(t, out), "\nbroken=u\n") {
		t.Errorf("$GITHUB_OUTPUT:\n%s", userfiletest.Read(t, out))
	}
	res = r.detect(t, "--no-check")
	if res.code != 0 {
		t.Errorf("--no-check: exit %d\n%s", res.code, res.stderr)
	}
	// Nothing was checked: the CHECK column (the last) says "-", not "ok".
	for _, line := range strings.Split(res.stdout, "\n")[1:6] {
		if f := strings.Fields(line); f[len(f)-1] != "-" {
			t.Errorf("--no-check: CHECK of %s is %q, want -", f[0], f[len(f)-1])
		}
	}
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
	r := &e2eRepo{prefix: fmt.Sprintf("%s/acme/t%d", addr, time.Now().UnixNano())}
	old := imagebuild.Build{MTime: time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC), GzipLevel: 1}
	fresh := imagebuild.Build{MTime: time.Date(2026, 2, 7, 9, 30, 0, 0, time.UTC), GzipLevel: 9}

	baseImg := imagetest.Image(t, old, nil, imagebuild.Config{Env: []string{"PATH=/usr/bin:/bin"}}, rootfs, baseExtra)
	jreOld := imagetest.Image(t, old, nil, imagebuild.Config{Env: []string{"PATH=/usr/bin:/bin"}}, rootfs, jreExtra("rt 21.0.1\n"))
	jreNew := imagetest.Image(t, fresh, nil, imagebuild.Config{Env: []string{"PATH=/usr/bin:/bin"}}, rootfs, jreExtra("rt 21.0.2\n"))
	regtest.Push(t, r.ref("base", "1"), baseImg)

	names := []string{"gateway", "worker", "console", "reports"}
	files := map[string]string{}
	for _, n := range names[:3] {
		files[n+"/Dockerfile"] = "FROM " + r.ref("base", "1") + "\nCOPY . /app\nENTRYPOINT [\"/app/run\"]\n"
	}
	// The final stage of reports is built from base-jre through an alias.
	files["reports/Dockerfile"] = "FROM " + r.ref("base", "1") + " AS build\nRUN make\n\n" +
		"FROM " + r.ref("base-jre", "1") + " AS runtime\n\nFROM runtime\nCOPY --from=build /src/out /app\n"
	c := configtest.Monorepo(t, fmt.Sprintf("registry = %q\n", r.prefix)+builtImages(names...), e2ePins, files)
	r.dir, r.pins = c.Dir, c.PinFile

	// The releases, v1.0.0.
	bases := map[string]v1.Image{"gateway": baseImg, "worker": baseImg, "console": baseImg, "reports": jreOld}
	for _, n := range names {
		regtest.Push(t, r.ref(n, "v1.0.0"), imagetest.Image(t, old, bases[n], appConfig, appFiles(n, 0o755), noise("jan")))
	}
	// base-jre:1 was rebuilt since (a security fix): same tag, new image.
	regtest.Push(t, r.ref("base-jre", "1"), jreNew)

	// The fresh builds.
	consoleCfg := appConfig
	consoleCfg.Env = []string{"PATH=/usr/bin:/bin", "APP_MODE=debug"}
	cands := map[string]v1.Image{
		"gateway": imagetest.Image(t, fresh, baseImg, appConfig, appFiles("gateway", 0o755), noise("feb")),
		"worker":  imagetest.Image(t, fresh, baseImg, appConfig, appFiles("worker", 0o775), noise("feb")),
		"console": imagetest.Image(t, fresh, baseImg, consoleCfg, appFiles("console", 0o755), noise("feb")),
		"reports": imagetest.Image(t, fresh, jreNew, appConfig, appFiles("reports", 0o755), noise("feb")),
	}
	for n, img := range cands {
		imagetest.WriteLayout(t, filepath.Join(r.dir, "build", n), img)
	}
	r.sha = gitCommit(t, r.dir, "four images", append([]string{"images.hcl", "scripts"}, names...)...)
	return r
}

// svcMonorepo makes a monorepo of one image, svc (svc/Dockerfile,
// candidate oci:build/svc, pin file pins.src), whose repositories live under
// a fresh prefix on the e2e registry, named with tag ("b", "p", ...).
func svcMonorepo(t *testing.T, tag string) (dir, prefix string) {
	t.Helper()
	prefix = fmt.Sprintf("%s/acme/%s%d", regtest.Real(t), tag, time.Now().UnixNano())
	c := configtest.Monorepo(t, fmt.Sprintf("registry = %q\npin_file = \"pins.src\"\n", prefix)+builtImages("svc"), "", nil)
	return c.Dir, prefix
}

// builtImages are the image blocks of images.hcl of names, each built from
// NAME/Dockerfile into the OCI layout build/NAME, its candidate.
func builtImages(names ...string) string {
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "\nimage %q {\n  dockerfile = \"%s/Dockerfile\"\n  candidate  = \"oci:build/{name}\"\n}\n", n, n)
	}
	return b.String()
}

// commitDockerfile writes svc/Dockerfile of a svcMonorepo and commits the
// monorepo (detect needs a commit for its short SHA).
func commitDockerfile(t *testing.T, dir, content string) {
	t.Helper()
	writeFile(t, filepath.Join(dir, "svc", "Dockerfile"), content)
	gitCommit(t, dir, "svc")
}

// TestE2ECIFlow runs the CI flow with the real binary against the real
// registry: detect --write --format github on a commit that leaves one image
// the same and changes three (app, config, base), publish of the changed
// ones under the short SHA, then release --retag.
func TestE2ECIFlow(t *testing.T) {
	r := newE2ERepo(t, regtest.Real(t))
	short := r.sha[:7]
	gh := newGitHubFiles(t)

	// A dry run writes nothing and tells every verdict and cause.
	rep, res := binaryJSON[flow.DetectReport](t, r.dir, "detect", "--commit", r.sha)
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
	if got := userfiletest.Read(t, r.pins); got != e2ePins {
		t.Fatalf("dry run changed the pin file:\n%s", got)
	}

	// --exit-code: 1 when something changed, still nothing written.
	if res := runBinary(t, r.dir, nil, "detect", "--commit", r.sha, "--exit-code"); res.code != 1 {
		t.Errorf("detect --exit-code: exit %d, want 1\n%s%s", res.code, res.stdout, res.stderr)
	}
	if got := userfiletest.Read(t, r.pins); got != e2ePins {
		t.Fatalf("detect --exit-code changed the pin file:\n%s", got)
	}

	// CI: detect --write --format github.
	res = runBinary(t, r.dir, gh.env, "detect", "--write", "--format", "github", "--commit", r.sha)
	if res.code != 0 {
		t.Fatalf("detect --write: exit %d\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
	}
	wantPins := `#!/bin/bash
# Released images; see imgver release.
# 2026-01-05T10:00:00Z -- v1.0.0
gateway_VER="v1.0.0"
`
	if diff := cmp.Diff(wantPins, userfiletest.Read(t, r.pins)); diff != "" {
		t.Errorf("pin file after detect --write (-want +got):\n%s", diff)
	}
	out := userfiletest.Read(t, gh.output)
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
	summary := userfiletest.Read(t, gh.summary)
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
			got, ok := regtest.Digest(t, r.ref(n, tag))
			if !ok || got != d {
				t.Errorf("%s = %v (found %v), want %v", r.ref(n, tag), got, ok, d)
			}
		}
	}
	if _, ok := regtest.Digest(t, r.ref("gateway", "v1.1.0")); ok {
		t.Error("gateway, still pinned, was tagged v1.1.0")
	}
	pins := userfiletest.Read(t, r.pins)
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
	r := newE2ERepo(t, regtest.Real(t))
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
	if got := userfiletest.Read(t, r.pins); got != pins {
		t.Errorf("pin file changed:\n%s", got)
	}
}

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
		return imagetest.Image(t, imagebuild.Build{MTime: time.Unix(stamp, 0)}, nil, imagebuild.Config{Cmd: []string{"/bin/sh"}}, rootfs,
			[]imagebuild.File{
				imagebuild.Dir("/var/lib/dpkg"), imagebuild.Reg("/var/lib/dpkg/status", status(libssl)),
				imagebuild.Dir("/usr/lib"), imagebuild.Reg("/usr/lib/libssl.so.3", "libssl "+libssl+"\n"),
			})
	}
	baseRef := prefix + "/debian:12-slim"
	oldBase := debian(1_700_000_000, "3.0.15-1~deb12u1")
	oldDigest := regtest.Push(t, baseRef, oldBase)
	commitDockerfile(t, dir, "FROM "+baseRef+"@"+oldDigest.String()+"\nCOPY . /app\n")

	// The release, built on the old base; then the base rebuilt upstream,
	// and the app rebuilt on it from the same sources.
	app := func(b v1.Image, stamp int64) v1.Image {
		return imagetest.Image(t, imagebuild.Build{MTime: time.Unix(stamp, 0)}, b, appConfig, appFiles("svc", 0o755))
	}
	writeFile(t, filepath.Join(dir, "pins.src"), "svc_VER=\"v1.0.0\"\n")
	regtest.Push(t, prefix+"/svc:v1.0.0", app(oldBase, 1_700_000_100))
	newBase := debian(1_800_000_000, "3.0.16-1~deb12u1")
	regtest.Push(t, baseRef, newBase)
	imagetest.WriteLayout(t, filepath.Join(dir, "build", "svc"), app(newBase, 1_800_000_100))
	want := []packages.Change{{Ecosystem: packages.Deb, Name: "libssl3", Change: packages.Upgraded, Before: "3.0.15-1~deb12u1", After: "3.0.16-1~deb12u1"}}
	const line = "deb: libssl3 3.0.15-1~deb12u1 -> 3.0.16-1~deb12u1"

	rep, r := binaryJSON[flow.DetectReport](t, dir, "detect")
	if len(rep.Images) != 1 {
		t.Fatalf("detect JSON: %d images\n%s", len(rep.Images), r.stdout)
	}
	im := rep.Images[0]
	if im.Verdict != "changed" || !strings.HasPrefix(im.Summary, line+"; ") {
		t.Errorf("detect: verdict %q, summary %q; want changed, leading with %q", im.Verdict, im.Summary, line)
	}
	if diff := cmp.Diff(want, im.Packages); diff != "" {
		t.Errorf("detect packages (-want +got):\n%s", diff)
	}

	gh := newGitHubFiles(t)
	r = runBinary(t, dir, gh.env, "detect", "--format", "github")
	if got := userfiletest.Read(t, gh.summary); r.code != 0 || !strings.Contains(got, line) {
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

// counter counts the requests that pass through it, by method, and the GETs
// of each blob.
type counter struct {
	next     http.Handler
	requests map[string]*atomic.Int64
	mu       sync.Mutex
	blobGets map[string]int // by digest
}

func newCounter() *counter {
	c := &counter{requests: map[string]*atomic.Int64{}, blobGets: map[string]int{}}
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"} {
		c.requests[m] = new(atomic.Int64)
	}
	return c
}

// wrap puts c in front of next, for realBehind.
func (c *counter) wrap(next http.Handler) http.Handler {
	c.next = next
	return c
}

func (c *counter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if n, ok := c.requests[r.Method]; ok {
		n.Add(1)
	}
	if _, d, ok := strings.Cut(r.URL.Path, "/blobs/"); ok && r.Method == http.MethodGet {
		c.mu.Lock()
		c.blobGets[d]++
		c.mu.Unlock()
	}
	c.next.ServeHTTP(w, r)
}

func (c *counter) reset() {
	for _, n := range c.requests {
		n.Store(0)
	}
	c.mu.Lock()
	clear(c.blobGets)
	c.mu.Unlock()
}

// gets returns how many GETs of the blobs digests passed through.
func (c *counter) gets(digests []v1.Hash) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, d := range digests {
		n += c.blobGets[d.String()]
	}
	return n
}

// realBehind returns the address of a proxy to the e2e registry with every
// request going through wrap first, as regtest.StartBehind does for the
// in-process one. Requests keep their Host, so the registry's upload
// locations name the proxy.
func realBehind(t *testing.T, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	u, err := url.Parse("http://" + regtest.Real(t))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(wrap(httputil.NewSingleHostReverseProxy(u)))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// countedE2ERepo makes the monorepo of newE2ERepo on the e2e registry
// behind a counter of the requests it gets.
func countedE2ERepo(t *testing.T) (*e2eRepo, *counter) {
	t.Helper()
	cnt := newCounter()
	return newE2ERepo(t, realBehind(t, cnt.wrap)), cnt
}

// verdicts maps image name to "verdict cause".
func verdicts(rep *flow.DetectReport) map[string]string {
	out := map[string]string{}
	for _, di := range rep.Images {
		out[di.Name] = string(di.Verdict) + " " + string(di.Cause)
	}
	return out
}

// sources maps image name to its baseline_source.
func sources(rep *flow.DetectReport) map[string]string {
	out := map[string]string{}
	for _, di := range rep.Images {
		out[di.Name] = di.BaselineSource
	}
	return out
}

// summaryKey is the options key of the summaries detect uses.
func summaryKey(t *testing.T) string {
	t.Helper()
	c, err := detect.New(detect.WithPackages())
	if err != nil {
		t.Fatal(err)
	}
	return c.SummaryKey()
}

// TestE2EDetectSummaries: detect judges a baseline from its summary
// (imgver summarize attached it) without fetching any layer blob of its
// own, gives the verdicts it gives when it reads the layers (--no-summary,
// which fetches them), and ignores a summary that does not decode with a
// warning, reading the layers instead.
func TestE2EDetectSummaries(t *testing.T) {
	t.Parallel()
	r, cnt := countedE2ERepo(t)
	names := []string{"gateway", "worker", "console", "reports"}
	// The layers of each baseline that no other image of the run has (the
	// noise layer of the releases is the same in three of them).
	var cands, baselines []v1.Image
	for _, n := range names {
		cand, _ := layoutImage(t, filepath.Join(r.dir, "build", n))
		cands = append(cands, cand)
		baselines = append(baselines, registryImage(t, r.ref(n, "v1.0.0")))
	}
	own := map[string][]v1.Hash{}
	for i, n := range names {
		others := slices.Concat(cands, baselines[:i], baselines[i+1:])
		own[n] = ownLayers(t, baselines[i], others...)
	}
	wantVerdicts := map[string]string{"gateway": "same ", "worker": "changed app", "console": "changed config", "reports": "changed base"}

	cnt.reset()
	rep, _ := binaryJSON[flow.DetectReport](t, r.dir, "detect", "--commit", r.sha, "--no-summary")
	if diff := cmp.Diff(wantVerdicts, verdicts(rep)); diff != "" {
		t.Errorf("detect --no-summary (-want +got):\n%s", diff)
	}
	for _, n := range names {
		got := cnt.gets(own[n])
		t.Logf("--no-summary: %d GETs of the %d layers of %s's baseline of its own", got, len(own[n]), n)
		if got == 0 {
			t.Errorf("--no-summary: no layer of %s's baseline was fetched", n)
		}
	}
	if diff := cmp.Diff(map[string]string{"gateway": "layers", "worker": "layers", "console": "layers", "reports": "layers"}, sources(rep)); diff != "" {
		t.Errorf("detect --no-summary: baseline_source (-want +got):\n%s", diff)
	}

	// Backfill the releases, except gateway's: its summary is garbage,
	// attached with the right type and options key by someone who can push.
	args := []string{"summarize"}
	for _, n := range names[1:] {
		args = append(args, r.ref(n, "v1.0.0"))
	}
	srep, res := binaryJSON[flow.SummarizeReport](t, r.dir, args...)
	for _, im := range srep.Images {
		if len(im.Summaries) != 1 || im.Summaries[0].Status != "attached" || im.Summaries[0].Bytes == 0 {
			t.Errorf("summarize %s: %+v", im.Ref, im.Summaries)
			continue
		}
		s := im.Summaries[0]
		t.Logf("summary of %s: %d bytes (artifact %s)", im.Ref, s.Bytes, s.Digest)
		d, ok := regtest.Digest(t, im.Ref)
		if !ok || s.Subject != d.String() {
			t.Errorf("summary of %s names %s, want %v (found %v)", im.Ref, s.Subject, d, ok)
		}
		repo, _, _ := strings.Cut(im.Ref, ":v1.0.0")
		if m := referrersTag(t, repo, d.String()); len(m.Manifests) != 1 || m.Manifests[0].Digest.String() != s.Digest ||
			m.Manifests[0].ArtifactType != detect.SummaryArtifactType || m.Manifests[0].Annotations[detect.SummaryOptionsAnnotation] != summaryKey(t) {
			t.Errorf("the referrers tag of %s lists %+v, want the summary %s", im.Ref, m.Manifests, s.Digest)
		}
	}
	// Again: the same bytes are there already.
	res = runBinary(t, r.dir, nil, "summarize", r.ref("worker", "v1.0.0"))
	if res.code != 0 || !strings.Contains(res.stdout, " exists\n") {
		t.Errorf("summarize again: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	gwDesc, err := crane.Head(r.ref("gateway", "v1.0.0"), crane.WithContext(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	gw, err := name.NewRepository(r.prefix + "/gateway")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := referrer.Attach(t.Context(), gw, *gwDesc, referrer.Artifact{
		ArtifactType: detect.SummaryArtifactType, MediaType: detect.SummaryMediaType, Data: []byte("not a summary"),
		Annotations: map[string]string{detect.SummaryOptionsAnnotation: summaryKey(t)},
	}); err != nil {
		t.Fatal(err)
	}

	cnt.reset()
	rep, res = binaryJSON[flow.DetectReport](t, r.dir, "detect", "--commit", r.sha)
	if diff := cmp.Diff(wantVerdicts, verdicts(rep)); diff != "" {
		t.Errorf("detect with summaries (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"gateway": "layers", "worker": "summary", "console": "summary", "reports": "summary"}, sources(rep)); diff != "" {
		t.Errorf("detect with summaries: baseline_source (-want +got):\n%s", diff)
	}
	for _, n := range names[1:] {
		got := cnt.gets(own[n])
		t.Logf("with its summary: %d GETs of the %d layers of %s's baseline of its own", got, len(own[n]), n)
		// reports' change is a small text file (/opt/jre/rt.jar), whose
		// unified diff needs its bytes: the one layer that holds it.
		limit := 0
		if n == "reports" {
			limit = 1
		}
		if got > limit {
			t.Errorf("with its summary, %d layer blobs of %s's baseline were fetched, want at most %d", got, n, limit)
		}
	}
	if cnt.gets(own["gateway"]) == 0 {
		t.Error("gateway's garbage summary was used: no layer of its baseline was fetched")
	}
	if !strings.Contains(res.stderr, "warning: image gateway: ignoring the summary of") {
		t.Errorf("no warning about gateway's summary:\n%s", res.stderr)
	}
	for _, di := range rep.Images {
		if (di.Name == "gateway") != slices.ContainsFunc(di.Warnings, func(w flow.Warning) bool { return strings.Contains(w.Error(), "summary") }) {
			t.Errorf("%s: warnings %v", di.Name, di.Warnings)
		}
	}

	// The text says what was read with --verbose.
	res = runBinary(t, r.dir, nil, "detect", "--commit", r.sha, "--verbose", "--no-check", "--no-base")
	if res.code != 0 || !strings.Contains(res.stdout, "Baselines read from (summary, cache, layers, none): gateway layers, worker summary, console summary, reports summary.\n") {
		t.Errorf("detect --verbose: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
}
