package flow

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/imgver/imgver/internal/base"
	"github.com/imgver/imgver/internal/config"
	"github.com/imgver/imgver/internal/config/configtest"
	"github.com/imgver/imgver/internal/detect"
	"github.com/imgver/imgver/internal/imagebuild"
	"github.com/imgver/imgver/internal/imagetest"
	"github.com/imgver/imgver/internal/regtest"
	"github.com/imgver/imgver/internal/release"
	"github.com/imgver/imgver/internal/userfile/userfiletest"
)

const testSHA = "abcdef0123456789abcdef0123456789abcdef01"

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

var (
	oldBuild   = imagebuild.Build{MTime: time.Unix(1_700_000_000, 0).UTC(), GzipLevel: 1}
	freshBuild = imagebuild.Build{MTime: time.Unix(1_800_000_000, 0).UTC(), GzipLevel: 9}
	appCfg     = imagebuild.Config{Entrypoint: []string{"/app/run"}, Env: []string{"MODE=prod"}}
)

func app(mode int64) []imagebuild.File {
	return []imagebuild.File{imagebuild.Dir("/app"), {Path: "/app/run", Mode: mode, Content: "\x7fELF app\n"}}
}

func baseFiles(ca string) [][]imagebuild.File {
	return [][]imagebuild.File{
		{imagebuild.Dir("/etc"), imagebuild.Reg("/etc/os-release", "ID=test\n")},
		{imagebuild.Dir("/etc/ssl"), imagebuild.Reg("/etc/ssl/ca.pem", ca)},
	}
}

// recorder is a Comparer: a real detect.Comparer whose Diffs the test sees
// and may act on before each one (onDiff).
type recorder struct {
	*detect.Comparer
	onDiff func(ctx context.Context, a, b string) (*detect.Result, error) // nil: just compare

	mu   sync.Mutex
	seen []string
}

func (r *recorder) Diff(ctx context.Context, a, b string) (*detect.Result, error) {
	r.mu.Lock()
	r.seen = append(r.seen, a)
	r.mu.Unlock()
	if r.onDiff != nil {
		if res, err := r.onDiff(ctx, a, b); res != nil || err != nil {
			return res, err
		}
	}
	return r.Comparer.Diff(ctx, a, b)
}

// compared returns the baselines compared, sorted.
func (r *recorder) compared() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Sorted(slices.Values(r.seen))
}

// newRecorder returns a recorder over a real Comparer for cfg's monorepo.
func newRecorder(t *testing.T, cfg *config.Config) *recorder {
	t.Helper()
	return &recorder{Comparer: must[*detect.Comparer](t)(detect.New(detect.WithBaseDir(cfg.Dir)))}
}

// fakeComparer compares nothing: Diff answers with verdict(a, b), and no
// image can be read.
type fakeComparer struct {
	verdict func(a, b string) (detect.Verdict, error)
}

func (f fakeComparer) Diff(_ context.Context, a, b string) (*detect.Result, error) {
	v, err := f.verdict(a, b)
	if err != nil {
		return nil, err
	}
	return &detect.Result{A: a, B: b, Verdict: v}, nil
}

func (fakeComparer) Snapshot(_ context.Context, ref string) ([]*detect.Snapshot, error) {
	return nil, fmt.Errorf("fakeComparer cannot read %s", ref)
}

// counter is a Progress that keeps the total it was started with, counts
// the images done and keeps the last byte count.
type counter struct {
	total atomic.Int32
	done  atomic.Int32
	bytes atomic.Int64
}

func (c *counter) Start(images int) {
	if !c.total.CompareAndSwap(0, int32(images)) {
		panic("Progress.Start called twice")
	}
}
func (c *counter) ImageDone(string)       { c.done.Add(1) }
func (c *counter) LayersRead(bytes int64) { c.bytes.Store(bytes) }

// TestDetectCause: the cause told for each kind of change, through the real
// comparer, the in-process registry and the Dockerfiles.
func TestDetectCause(t *testing.T) {
	host := regtest.Start(t)
	prefix := host + "/acme"
	baseOld := imagetest.Image(t, oldBuild, nil, imagebuild.Config{}, baseFiles("CA 1\n")...)
	baseNew := imagetest.Image(t, freshBuild, nil, imagebuild.Config{}, baseFiles("CA 2\n")...)
	regtest.Push(t, prefix+"/base:1", baseNew) // what the Dockerfiles build from today

	for i, tc := range []struct {
		name       string
		dockerfile string // "" for none
		// baseline and candidate: the base they are built on, the mode of
		// /app/run, the Env.
		oldBase, newBase v1.Image
		oldMode, newMode int64
		newEnv           []string
		newExtra         int // layers added on top of the candidate
		want             Cause
	}{
		{name: "app", dockerfile: "FROM {base}\n", oldBase: baseNew, newBase: baseNew, oldMode: 0o755, newMode: 0o775, want: CauseApp},
		{name: "config", dockerfile: "FROM {base}\n", oldBase: baseNew, newBase: baseNew, oldMode: 0o755, newMode: 0o755, newEnv: []string{"MODE=debug"}, want: CauseConfig},
		{name: "base", dockerfile: "FROM {base}\n", oldBase: baseOld, newBase: baseNew, oldMode: 0o755, newMode: 0o755, want: CauseBase},
		{name: "base through stage aliases", dockerfile: "FROM {base} AS build\nRUN make\nFROM {base} AS Runtime\nFROM runtime AS final\nFROM final\nCOPY --from=build /out /app\n",
			oldBase: baseOld, newBase: baseNew, oldMode: 0o755, newMode: 0o755, want: CauseBase},
		{name: "base and app", dockerfile: "FROM {base}\n", oldBase: baseOld, newBase: baseNew, oldMode: 0o755, newMode: 0o775, want: CauseApp},
		{name: "base and config: untold", dockerfile: "FROM {base}\n", oldBase: baseOld, newBase: baseNew, oldMode: 0o755, newMode: 0o755, newEnv: []string{"MODE=debug"}, want: ""},
		{name: "scratch: every layer is the image's own", dockerfile: "FROM {base} AS build\nFROM scratch\n", oldBase: baseOld, newBase: baseNew, oldMode: 0o755, newMode: 0o755, want: CauseApp},
		{name: "no dockerfile: untold", oldBase: baseOld, newBase: baseNew, oldMode: 0o755, newMode: 0o755, want: ""},
		{name: "base not in the registry: untold", dockerfile: "FROM " + prefix + "/nope:1\n", oldBase: baseOld, newBase: baseNew, oldMode: 0o755, newMode: 0o755, want: ""},
		{name: "candidate not built on its base: untold", dockerfile: "FROM {base}\n", oldBase: baseOld, newBase: nil, newExtra: 2, oldMode: 0o755, newMode: 0o755, want: ""},
		{name: "layers do not add up: untold", dockerfile: "FROM {base}\n", oldBase: nil, newBase: baseNew, newExtra: 1, oldMode: 0o755, newMode: 0o755, want: ""},
		{name: "ARG without default: untold", dockerfile: "ARG BASE\nFROM $BASE\n", oldBase: baseOld, newBase: baseNew, oldMode: 0o755, newMode: 0o755, want: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			hcl := fmt.Sprintf("registry = %q\npin_file = \"pins.src\"\nimage \"a\" {\n  candidate = \"oci:build/a\"\n", fmt.Sprintf("%s/case%d", prefix, i))
			files := map[string]string{}
			if tc.dockerfile != "" {
				hcl += "  dockerfile = \"a/Dockerfile\"\n"
				files["a/Dockerfile"] = strings.ReplaceAll(tc.dockerfile, "{base}", prefix+"/base:1")
			}
			hcl += "}\n"
			cfg := configtest.Monorepo(t, hcl, "a_VER=v1.0.0\n", files)
			im := &cfg.Images[0]
			oldLayers, newLayers := [][]imagebuild.File{app(tc.oldMode)}, [][]imagebuild.File{app(tc.newMode)}
			for i := range tc.newExtra {
				newLayers = append(newLayers, []imagebuild.File{imagebuild.Reg(fmt.Sprintf("/app/extra%d", i), "x")})
			}
			regtest.Push(t, im.Repository+":v1.0.0", imagetest.Image(t, oldBuild, tc.oldBase, appCfg, oldLayers...))
			cfgB := appCfg
			if tc.newEnv != nil {
				cfgB.Env = tc.newEnv
			}
			cand := imagetest.Image(t, freshBuild, tc.newBase, cfgB, newLayers...)
			imagetest.WriteLayout(t, filepath.Join(cfg.Dir, "build", "a"), cand)
			rep, err := Detect(t.Context(), cfg, DetectOptions{Commit: testSHA})
			if err != nil {
				t.Fatal(err)
			}
			if got := rep.Images[0]; got.Verdict != detect.Changed || got.Cause != tc.want {
				t.Errorf("verdict %s, cause %q; want changed, %q\nreasons: %v", got.Verdict, got.Cause, tc.want, got.Reasons)
			}
		})
	}
}

// statesSetup is a monorepo of four images in the in-process registry: a
// (auto pin, candidate the same), b (auto pin, candidate changed), m (manual
// pin, candidate changed) and u (unpinned, no candidate built).
func statesSetup(t *testing.T, pins string) *config.Config {
	t.Helper()
	host := regtest.Start(t)
	cfg := configtest.Monorepo(t, fmt.Sprintf(`registry = %q
pin_file = "pins.src"
image "a" {
  candidate = "oci:build/{name}"
}
image "b" {
  candidate = "oci:build/{name}"
}
image "m" {
  candidate = "oci:build/{name}"
}
image "u" {
  candidate = "oci:build/{name}"
}
`, host+"/acme"), pins, nil)
	for _, n := range []string{"a", "b", "m"} {
		im, _ := cfg.Image(n)
		regtest.Push(t, im.Repository+":v1.0.0", imagetest.Image(t, oldBuild, nil, appCfg, app(0o755)))
		mode := int64(0o755)
		if n != "a" {
			mode = 0o700
		}
		imagetest.WriteLayout(t, filepath.Join(cfg.Dir, "build", n), imagetest.Image(t, freshBuild, nil, appCfg, app(mode)))
	}
	return cfg
}

const statesPins = "# pins\na_VER=\"v1.0.0\"\nb_VER=\"v1.0.0\" # released\n\n# by hand\nexport m_VER=\"v1.0.0\"\n"

func TestDetectStates(t *testing.T) {
	for _, write := range []bool{false, true} {
		t.Run(fmt.Sprintf("write=%v", write), func(t *testing.T) {
			cfg := statesSetup(t, statesPins)
			rec := newRecorder(t, cfg)
			rep, err := Detect(t.Context(), cfg, DetectOptions{Commit: testSHA, Comparer: rec, Write: write})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{cfg.Images[0].Repository + ":v1.0.0", cfg.Images[1].Repository + ":v1.0.0"}, rec.compared()); diff != "" {
				t.Errorf("compared (-want +got):\n%s", diff)
			}
			type row struct {
				Name                  string
				Before                release.State
				Verdict               detect.Verdict
				After                 release.State
				Version               string
				Publish               bool
				HasCandidate, HasBase bool
			}
			var got []row
			for _, di := range rep.Images {
				got = append(got, row{di.Name, di.StateBefore, di.Verdict, di.StateAfter, di.Version, di.Publish, di.Candidate != "", di.Baseline != ""})
			}
			want := []row{
				{"a", release.Pinned, detect.Same, release.Pinned, "v1.0.0", false, true, true},
				{"b", release.Pinned, detect.Changed, release.Unpinned, "abcdef0", true, true, true},
				{"m", release.Manual, NotCompared, release.Manual, "v1.0.0", false, false, false},
				{"u", release.Unpinned, NotCompared, release.Unpinned, "abcdef0", true, true, false},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("images (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"b"}, rep.Changed); diff != "" {
				t.Errorf("changed (-want +got):\n%s", diff)
			}
			wantPub := []PublishItem{{"b", cfg.Images[1].Repository, "abcdef0"}, {"u", cfg.Images[3].Repository, "abcdef0"}}
			if diff := cmp.Diff(wantPub, rep.Publish); diff != "" {
				t.Errorf("publish (-want +got):\n%s", diff)
			}
			wantPins := statesPins
			if write {
				wantPins = strings.Replace(statesPins, "b_VER=\"v1.0.0\" # released\n", "", 1)
			}
			if got := userfiletest.Read(t, cfg.PinFile); got != wantPins {
				t.Errorf("pin file:\n%s\nwant:\n%s", got, wantPins)
			}
			if rep.Written != write {
				t.Errorf("written = %v", rep.Written)
			}
		})
	}
}

// TestDetectCandidates: where each candidate is looked for.
func TestDetectCandidates(t *testing.T) {
	for _, tc := range []struct {
		name      string
		candidate string            // the attribute of image "svc-a" (var svc_a)
		override  map[string]string // --candidate
		want      string            // the candidate compared
		err       string
	}{
		{name: "attribute with placeholders", candidate: "oci:build/{name}/{var}:{sha}", want: "oci:build/svc-a/svc_a:abcdef0"},
		{name: "sha twice", candidate: "r.example/{name}:{sha}-{sha}", want: "r.example/svc-a:abcdef0-abcdef0"},
		{name: "override wins", candidate: "oci:build/{name}", override: map[string]string{"svc-a": "oci:elsewhere/{var}"}, want: "oci:elsewhere/svc_a"},
		{name: "override without attribute", override: map[string]string{"svc-a": "docker://r.example/x:1"}, want: "docker://r.example/x:1"},
		{name: "unknown placeholder in --candidate", candidate: "oci:x", override: map[string]string{"svc-a": "oci:build/{image}"}, err: "image svc-a: unknown placeholder {image} in candidate \"oci:build/{image}\""},
		{name: "no candidate", err: "image svc-a has no candidate: set candidate in"},
		{name: "override of an unknown image", candidate: "oci:x", override: map[string]string{"nope": "oci:y"}, err: `unknown image "nope" (known: svc-a)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hcl := "registry = \"r.example/acme\"\npin_file = \"pins.src\"\nimage \"svc-a\" {\n"
			if tc.candidate != "" {
				hcl += fmt.Sprintf("  candidate = %q\n", tc.candidate)
			}
			hcl += "}\n"
			const pins = "svc_a_VER=v1.0.0\n"
			cfg := configtest.Monorepo(t, hcl, pins, nil)
			var got string
			_, err := Detect(t.Context(), cfg, DetectOptions{Commit: testSHA, Candidates: tc.override, Write: true, NoCheck: true,
				Comparer: fakeComparer{func(a, b string) (detect.Verdict, error) {
					if a != "r.example/acme/svc-a:v1.0.0" {
						t.Errorf("baseline %q", a)
					}
					got = b
					return detect.Changed, nil
				}}})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one with %q", err, tc.err)
				}
				if got := userfiletest.Read(t, cfg.PinFile); got != pins {
					t.Errorf("pin file written on error: %q", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("candidate %q, want %q", got, tc.want)
			}
		})
	}
}

// TestDetectErrorsWriteNothing: an image that cannot be compared stops the
// run before anything is written, even when another image changed.
func TestDetectErrorsWriteNothing(t *testing.T) {
	for _, tc := range []struct {
		name        string
		removeCand  string // remove this candidate layout
		pins        string
		wantMissing bool // a *BaselineMissingError
		err         string
	}{
		{name: "candidate missing", removeCand: "a", pins: statesPins, err: "image a: image \"oci:build/a\" not found"},
		{name: "baseline missing", pins: strings.Replace(statesPins, "a_VER=\"v1.0.0\"", "a_VER=\"v0.9.0\"", 1), wantMissing: true, err: "/acme/a:v0.9.0 is not in the registry"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := statesSetup(t, tc.pins)
			if tc.removeCand != "" {
				if err := os.RemoveAll(filepath.Join(cfg.Dir, "build", tc.removeCand)); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Detect(t.Context(), cfg, DetectOptions{Commit: testSHA, Write: true})
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want one with %q", err, tc.err)
			}
			var bm *BaselineMissingError
			if errors.As(err, &bm) != tc.wantMissing {
				t.Errorf("errors.As(%v, *BaselineMissingError) = %v", err, !tc.wantMissing)
			}
			if got := userfiletest.Read(t, cfg.PinFile); got != tc.pins {
				t.Errorf("pin file written:\n%s", got)
			}
		})
	}
}

// TestDetectPinChangedMeanwhile: a pin file changed while the run
// compared, by hand or by another imgver, and whatever pin it touched (the
// one to unpin or another), stops the write (issue 9): nothing is written,
// the change made meanwhile stays, and no report says otherwise.
func TestDetectPinChangedMeanwhile(t *testing.T) {
	for _, tc := range []struct{ name, edited string }{
		{"repinned", strings.Replace(statesPins, "b_VER=\"v1.0.0\"", "b_VER=\"v1.0.1\"", 1)},
		{"made manual", strings.Replace(statesPins, "b_VER=\"v1.0.0\"", "export b_VER=\"v1.0.0\"", 1)},
		{"unpinned", strings.Replace(statesPins, "b_VER=\"v1.0.0\" # released\n", "", 1)},
		{"another image unpinned", strings.Replace(statesPins, "a_VER=\"v1.0.0\"\n", "", 1)},
		{"a manual pin changed", strings.Replace(statesPins, "export m_VER=\"v1.0.0\"", "export m_VER=\"v1.0.1\"", 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := statesSetup(t, statesPins)
			rec := newRecorder(t, cfg)
			var once sync.Once
			rec.onDiff = func(context.Context, string, string) (*detect.Result, error) {
				once.Do(func() {
					if err := os.WriteFile(cfg.PinFile, []byte(tc.edited), 0o644); err != nil {
						t.Error(err)
					}
				})
				return nil, nil
			}
			rep, err := Detect(t.Context(), cfg, DetectOptions{Commit: testSHA, Write: true, Jobs: 1, Comparer: rec})
			var ce *release.PinFileChangedError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), "run again") || rep != nil {
				t.Fatalf("Detect = %v, %v; want no report and a *release.PinFileChangedError that says to run again", rep, err)
			}
			if got := userfiletest.Read(t, cfg.PinFile); got != tc.edited {
				t.Errorf("pin file:\n%s\nwant the hand-edited one:\n%s", got, tc.edited)
			}
		})
	}
	// What imgver unpin does, run while the comparison goes on.
	t.Run("imgver unpin meanwhile", func(t *testing.T) {
		cfg := statesSetup(t, statesPins)
		rec := newRecorder(t, cfg)
		var once sync.Once
		rec.onDiff = func(ctx context.Context, _, _ string) (*detect.Result, error) {
			var err error
			once.Do(func() { _, err = release.Unpin(ctx, cfg, []string{"a"}) })
			return nil, err
		}
		rep, err := Detect(t.Context(), cfg, DetectOptions{Commit: testSHA, Write: true, Jobs: 1, Comparer: rec})
		var ce *release.PinFileChangedError
		if !errors.As(err, &ce) || rep != nil {
			t.Fatalf("Detect = %v, %v; want no report and a *release.PinFileChangedError", rep, err)
		}
		if got, want := userfiletest.Read(t, cfg.PinFile), strings.Replace(statesPins, "a_VER=\"v1.0.0\"\n", "", 1); got != want {
			t.Errorf("pin file:\n%s\nwant only a unpinned:\n%s", got, want)
		}
	})
	// Without --write the pin file is neither read again nor written.
	cfg := statesSetup(t, statesPins)
	rec := newRecorder(t, cfg)
	rec.onDiff = func(context.Context, string, string) (*detect.Result, error) {
		return nil, os.WriteFile(cfg.PinFile, []byte("# emptied\n"), 0o644)
	}
	if _, err := Detect(t.Context(), cfg, DetectOptions{Commit: testSHA, Comparer: rec}); err != nil {
		t.Errorf("dry run: %v", err)
	}
}

// TestDetectJobs: --jobs images are compared at once, never more.
func TestDetectJobs(t *testing.T) {
	for _, jobs := range []int{1, 3} {
		t.Run(fmt.Sprint(jobs), func(t *testing.T) {
			var hcl, pins strings.Builder
			hcl.WriteString("registry = \"r.example/acme\"\npin_file = \"pins.src\"\n")
			const n = 8
			for i := range n {
				fmt.Fprintf(&hcl, "image \"i%d\" {\n  candidate = \"oci:build/{name}\"\n}\n", i)
				fmt.Fprintf(&pins, "i%d_VER=v1.0.0\n", i)
			}
			cfg := configtest.Monorepo(t, hcl.String(), pins.String(), nil)
			var inFlight, most atomic.Int32
			all := make(chan struct{})
			var once sync.Once
			var progress counter
			rep, err := Detect(t.Context(), cfg, DetectOptions{Commit: testSHA, Jobs: jobs, Write: true, NoCheck: true, Progress: &progress,
				Comparer: fakeComparer{func(a, _ string) (detect.Verdict, error) {
					now := inFlight.Add(1)
					defer inFlight.Add(-1)
					for m := most.Load(); now > m && !most.CompareAndSwap(m, now); m = most.Load() {
					}
					if now == int32(jobs) {
						once.Do(func() { close(all) })
					}
					select {
					case <-all:
					case <-time.After(20 * time.Second):
						return "", fmt.Errorf("never %d images compared at once", jobs)
					}
					time.Sleep(time.Millisecond)
					if strings.Contains(a, "/i2:") || strings.Contains(a, "/i5:") {
						return detect.Changed, nil
					}
					return detect.Same, nil
				}},
			})
			if err != nil {
				t.Fatal(err)
			}
			if m := most.Load(); m != int32(jobs) {
				t.Errorf("at most %d compared at once, want %d", m, jobs)
			}
			if d, tot := progress.done.Load(), progress.total.Load(); d != n || tot != n {
				t.Errorf("ImageDone called %d times after Start(%d), want %d of %d", d, tot, n, n)
			}
			if diff := cmp.Diff([]string{"i2", "i5"}, rep.Changed); diff != "" {
				t.Errorf("changed (-want +got):\n%s", diff)
			}
			if got, want := userfiletest.Read(t, cfg.PinFile), strings.NewReplacer("i2_VER=v1.0.0\n", "", "i5_VER=v1.0.0\n", "").Replace(pins.String()); got != want {
				t.Errorf("pin file:\n%s\nwant:\n%s", got, want)
			}

			// A shard's run starts its progress with its own images, not all.
			var shardProgress counter
			rep, err = Detect(t.Context(), cfg, DetectOptions{Commit: testSHA, Jobs: jobs, NoCheck: true, Shard: Shard{K: 2, N: 3}, Progress: &shardProgress,
				Comparer: fakeComparer{func(string, string) (detect.Verdict, error) { return detect.Same, nil }},
			})
			if err != nil {
				t.Fatal(err)
			}
			if d, tot := shardProgress.done.Load(), shardProgress.total.Load(); int(d) != len(rep.Images) || int(tot) != len(rep.Images) || len(rep.Images) == n {
				t.Errorf("shard 2/3 of %d: ImageDone called %d times after Start(%d), report has %d images", n, d, tot, len(rep.Images))
			}
		})
	}
}

// TestDetectChecksAndBase: every candidate read is checked (imgver check),
// unpinned ones included; an unpinned image that was not built is a
// warning; a base that cannot be looked up leaves base_stale unknown, with
// a warning that keeps the base's error.
func TestDetectChecksAndBase(t *testing.T) {
	cfg := statesSetup(t, statesPins)
	// b's fresh build lost its entrypoint's exec bit for other users, as
	// ContainerSSH's did; it runs as user 1000.
	bad := imagetest.Image(t, freshBuild, nil, imagebuild.Config{Entrypoint: []string{"/app/run"}, User: "1000"},
		[]imagebuild.File{imagebuild.Dir("/app"), imagebuild.Reg("/app/run", "#!x").WithMode(0o744)})
	if err := os.RemoveAll(filepath.Join(cfg.Dir, "build", "b")); err != nil {
		t.Fatal(err)
	}
	imagetest.WriteLayout(t, filepath.Join(cfg.Dir, "build", "b"), bad)
	// a's base was rebuilt upstream since it was pinned; the others' is
	// not in the registry.
	host, _, _ := strings.Cut(cfg.Images[0].Repository, "/")
	old := regtest.Push(t, host+"/base:1", imagetest.Image(t, oldBuild, nil, imagebuild.Config{}, baseFiles("CA 1\n")...))
	regtest.Push(t, host+"/base:1", imagetest.Image(t, freshBuild, nil, imagebuild.Config{}, baseFiles("CA 2\n")...))
	for i := range cfg.Images {
		im := &cfg.Images[i]
		from := host + "/nope:1"
		if im.Name == "a" {
			from = host + "/base:1@" + old.String()
		}
		im.Dockerfile = filepath.Join(cfg.Dir, im.Name, "Dockerfile")
		if err := os.MkdirAll(filepath.Dir(im.Dockerfile), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(im.Dockerfile, []byte("FROM "+from+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := Detect(t.Context(), cfg, DetectOptions{Commit: testSHA})
	if err != nil {
		t.Fatal(err)
	}
	var checked []string
	for _, di := range rep.Images {
		if di.Checked {
			checked = append(checked, di.Name)
		}
	}
	if diff := cmp.Diff([]string{"a", "b"}, checked); diff != "" {
		t.Errorf("checked (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"b"}, rep.Broken); diff != "" {
		t.Errorf("broken (-want +got):\n%s", diff)
	}
	byName := map[string]DetectImage{}
	for _, di := range rep.Images {
		byName[di.Name] = di
	}
	if ps := byName["b"].Problems; len(ps) != 1 || ps[0].Check != "entrypoint" || ps[0].Platform != "" {
		t.Errorf("b problems = %+v", ps)
	}
	ws := byName["u"].Warnings
	var nb *NotBuiltError
	var bu *BaseUnknownError
	var re *base.ResolveError
	if len(ws) != 2 || !errors.As(ws[0], &nb) || !detect.IsNotFound(ws[0]) || !errors.As(ws[1], &bu) || !errors.As(ws[1], &re) ||
		!strings.Contains(ws[1].Error(), "base images not checked: "+host+"/nope:1: resolving") {
		t.Errorf("u warnings = %v", ws)
	}
	if byName["b"].BaseStale != nil {
		t.Errorf("b base_stale = %v, want unknown", *byName["b"].BaseStale)
	}
	if diff := cmp.Diff([]string{"a"}, rep.BaseStale); diff != "" {
		t.Errorf("base_stale (-want +got):\n%s", diff)
	}
}

// TestDetectReadBound: --jobs bounds the layers read at once across every
// image of the run, not per image: 4 images of 4 layers each, compared 2 at
// a time, never read more than 2 layer blobs at once (without the shared
// bound, each of the 2 comparisons would read 2 at once).
func TestDetectReadBound(t *testing.T) {
	const jobs, images, layers = 2, 4, 4
	layerBlobs := map[string]bool{}
	var inFlight, most atomic.Int32
	host := regtest.StartBehind(t, func(reg http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			i := strings.LastIndex(r.URL.Path, "/blobs/")
			if r.Method == http.MethodGet && i >= 0 && layerBlobs[r.URL.Path[i+len("/blobs/"):]] {
				now := inFlight.Add(1)
				defer inFlight.Add(-1)
				for m := most.Load(); now > m && !most.CompareAndSwap(m, now); m = most.Load() {
				}
				time.Sleep(20 * time.Millisecond) // long enough for the others to start
			}
			reg.ServeHTTP(w, r)
		})
	})

	var hcl, pins strings.Builder
	fmt.Fprintf(&hcl, "registry = %q\npin_file = \"pins.src\"\n", host+"/acme")
	for i := range images {
		fmt.Fprintf(&hcl, "image \"i%d\" {\n  candidate = \"%s/acme/i%d:new\"\n}\n", i, host, i)
		fmt.Fprintf(&pins, "i%d_VER=v1.0.0\n", i)
	}
	cfg := configtest.Monorepo(t, hcl.String(), pins.String(), nil)
	pushed := map[string]v1.Image{}
	for i := range images {
		for _, side := range []struct {
			tag string
			b   imagebuild.Build
		}{{"v1.0.0", oldBuild}, {"new", freshBuild}} {
			var ls [][]imagebuild.File
			for l := range layers {
				ls = append(ls, []imagebuild.File{imagebuild.Reg(fmt.Sprintf("/i%d/l%d", i, l), side.tag)})
			}
			img := imagetest.Image(t, side.b, nil, appCfg, ls...)
			for _, d := range imagetest.LayerDigests(t, img) {
				layerBlobs[d.String()] = true
			}
			pushed[fmt.Sprintf("%s/acme/i%d:%s", host, i, side.tag)] = img
		}
	}
	for ref, img := range pushed {
		regtest.Push(t, ref, img)
	}
	most.Store(0)
	rep, err := Detect(t.Context(), cfg, DetectOptions{Commit: testSHA, Jobs: jobs, NoCheck: true, NoBase: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Changed) != images {
		t.Errorf("changed %v, want every image", rep.Changed)
	}
	if m := most.Load(); m > jobs || m < 2 {
		t.Errorf("at most %d layers read at once, want %d", m, jobs)
	}
}

// TestDetectUnknownVar: a _VER variable no image owns is a warning of the
// report, not a reason to refuse the pin file, and a write keeps its line
// (issue 9).
func TestDetectUnknownVar(t *testing.T) {
	const pins = "CURRENT_RELEASE_VER=\"v3.1.0\"\nsvc_a_VER=v1.0.0\n"
	cfg := configtest.Monorepo(t, "registry = \"r.example/acme\"\npin_file = \"pins.src\"\nimage \"svc-a\" {\n  candidate = \"oci:build/{name}\"\n}\n", pins, nil)
	rep, err := Detect(t.Context(), cfg, DetectOptions{Commit: testSHA, Write: true, NoCheck: true,
		Comparer: fakeComparer{func(string, string) (detect.Verdict, error) { return detect.Changed, nil }}})
	if err != nil {
		t.Fatal(err)
	}
	var ue *release.UnknownVarError
	if len(rep.Warnings) != 1 || !errors.As(rep.Warnings[0], &ue) || ue.Var != "CURRENT_RELEASE" || ue.Line != 1 {
		t.Errorf("warnings = %v", rep.Warnings)
	}
	if got := userfiletest.Read(t, cfg.PinFile); got != "CURRENT_RELEASE_VER=\"v3.1.0\"\n" {
		t.Errorf("pin file %q", got)
	}
}

// TestDetectProblemPlatform: a problem of a multi-platform candidate names
// its platform in a field of its own (not glued to its message); that of a
// single-platform one names none.
func TestDetectProblemPlatform(t *testing.T) {
	host := regtest.Start(t)
	cfg := configtest.Monorepo(t, fmt.Sprintf("registry = %q\npin_file = \"pins.src\"\nimage \"u\" {\n  candidate = \"%s/acme/u:new\"\n}\n", host+"/acme", host), "", nil)
	good := imagetest.Image(t, freshBuild, nil, appCfg, app(0o755))
	// The arm64 build lost its entrypoint.
	bad := imagetest.Image(t, freshBuild, nil, appCfg, []imagebuild.File{imagebuild.Dir("/app")})
	cf := must[*v1.ConfigFile](t)(bad.ConfigFile()).DeepCopy()
	cf.Architecture = "arm64"
	bad = must[v1.Image](t)(mutate.ConfigFile(bad, cf))
	regtest.Push(t, host+"/acme/u:new", imagetest.Index(t, map[string]v1.Image{"linux/amd64": good, "linux/arm64": bad}))
	rep, err := Detect(t.Context(), cfg, DetectOptions{Commit: testSHA, NoBase: true})
	if err != nil {
		t.Fatal(err)
	}
	ps := rep.Images[0].Problems
	if len(ps) != 1 || ps[0].Platform != "linux/arm64" || ps[0].Check != "entrypoint" || strings.Contains(ps[0].Message, "arm64") {
		t.Errorf("problems = %+v, want one entrypoint problem of linux/arm64", ps)
	}
}
