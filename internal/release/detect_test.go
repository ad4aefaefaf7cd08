package release

import (
	"context"
	"errors"
	"fmt"
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

	"github.com/imgver/imgver/internal/check"
	"github.com/imgver/imgver/internal/config"
	"github.com/imgver/imgver/internal/detect"
	"github.com/imgver/imgver/internal/imagebuild"
	"github.com/imgver/imgver/internal/regtest"
)

const testSHA = "abcdef0123456789abcdef0123456789abcdef01"

// writeMonorepo writes images.hcl (with prefix as registry), the pin file
// pins.src and the given files (paths relative to the monorepo) to a temp dir
// and loads the config.
func writeMonorepo(t *testing.T, hcl, pins string, files map[string]string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	for p, content := range files {
		p = filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.Parse(filepath.Join(dir, "images.hcl"), []byte(hcl))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg.PinFile, []byte(pins), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}

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

// comparer returns a CompareFunc over one real Comparer that records the
// images it was asked to compare.
func comparer(t *testing.T, cfg *config.Config) (CompareFunc, *detect.Comparer, func() []string) {
	t.Helper()
	c := must[*detect.Comparer](t)(detect.New(detect.WithBaseDir(cfg.Dir)))
	var mu sync.Mutex
	var seen []string
	f := func(ctx context.Context, im *config.Image, a, b string) (*detect.Result, error) {
		mu.Lock()
		seen = append(seen, im.Name)
		mu.Unlock()
		return c.Diff(ctx, a, b)
	}
	return f, c, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

// TestDetectCause: the cause told for each kind of change, through the real
// comparer, the in-process registry and the Dockerfiles.
func TestDetectCause(t *testing.T) {
	host := regtest.Start(t)
	prefix := host + "/acme"
	baseOld := must[v1.Image](t)(oldBuild.Image(nil, imagebuild.Config{}, baseFiles("CA 1\n")...))
	baseNew := must[v1.Image](t)(freshBuild.Image(nil, imagebuild.Config{}, baseFiles("CA 2\n")...))
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
		want             string
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
			cfg := writeMonorepo(t, hcl, "a_VER=v1.0.0\n", files)
			im := &cfg.Images[0]
			oldLayers, newLayers := [][]imagebuild.File{app(tc.oldMode)}, [][]imagebuild.File{app(tc.newMode)}
			for i := range tc.newExtra {
				newLayers = append(newLayers, []imagebuild.File{imagebuild.Reg(fmt.Sprintf("/app/extra%d", i), "x")})
			}
			regtest.Push(t, im.Repository+":v1.0.0", must[v1.Image](t)(oldBuild.Image(tc.oldBase, appCfg, oldLayers...)))
			cfgB := appCfg
			if tc.newEnv != nil {
				cfgB.Env = tc.newEnv
			}
			cand := must[v1.Image](t)(freshBuild.Image(tc.newBase, cfgB, newLayers...))
			if err := imagebuild.WriteLayout(filepath.Join(cfg.Dir, "build", "a"), cand); err != nil {
				t.Fatal(err)
			}
			cmpf, c, _ := comparer(t, cfg)
			bl := &BaseLayers{Snapshotter: func(*config.Image) (Snapshotter, error) { return c, nil }}
			rep, err := Detect(t.Context(), cfg, DetectOptions{Commit: testSHA, Compare: cmpf, BaseLayers: bl.Count})
			if err != nil {
				t.Fatal(err)
			}
			if got := rep.Images[0]; got.Verdict != detect.Changed || got.Cause != tc.want {
				t.Errorf("verdict %s, cause %q; want changed, %q\nreasons: %v", got.Verdict, got.Cause, tc.want, got.Reasons)
			}
		})
	}
}

func TestFinalBase(t *testing.T) {
	for _, tc := range []struct{ name, dockerfile, want, err string }{
		{"one stage", "FROM r.example/x:1\n", "r.example/x:1", ""},
		{"last stage counts", "FROM r.example/build:1 AS build\nFROM r.example/run:2\n", "r.example/run:2", ""},
		{"aliases followed", "FROM r.example/a:1 AS one\nFROM one AS two\nFROM two\n", "r.example/a:1", ""},
		{"alias names the latest stage", "FROM r.example/a:1 AS s\nFROM r.example/b:1 AS s\nFROM s\n", "r.example/b:1", ""},
		{"ARG default", "ARG V=3\nFROM r.example/x:$V\n", "r.example/x:3", ""},
		{"scratch", "FROM r.example/build:1 AS b\nFROM scratch\n", "", ""},
		{"alias of scratch", "FROM scratch AS s\nFROM s\n", "", ""},
		{"unset ARG", "ARG V\nFROM r.example/x:$V\n", "", "ARG V has no default"},
		{"no FROM", "RUN true\n", "", "no FROM"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "Dockerfile")
			if err := os.WriteFile(p, []byte(tc.dockerfile), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := FinalBase(&config.Image{Name: "x", Dockerfile: p})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one with %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("FinalBase = %q, %v; want %q", got, err, tc.want)
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
	cfg := writeMonorepo(t, fmt.Sprintf(`registry = %q
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
		regtest.Push(t, im.Repository+":v1.0.0", must[v1.Image](t)(oldBuild.Image(nil, appCfg, app(0o755))))
		mode := int64(0o755)
		if n != "a" {
			mode = 0o700
		}
		if err := imagebuild.WriteLayout(filepath.Join(cfg.Dir, "build", n), must[v1.Image](t)(freshBuild.Image(nil, appCfg, app(mode)))); err != nil {
			t.Fatal(err)
		}
	}
	return cfg
}

const statesPins = "# pins\na_VER=\"v1.0.0\"\nb_VER=\"v1.0.0\" # released\n\n# by hand\nexport m_VER=\"v1.0.0\"\n"

func TestDetectStates(t *testing.T) {
	for _, write := range []bool{false, true} {
		t.Run(fmt.Sprintf("write=%v", write), func(t *testing.T) {
			cfg := statesSetup(t, statesPins)
			cmpf, _, seen := comparer(t, cfg)
			rep, err := Detect(t.Context(), cfg, DetectOptions{Commit: testSHA, Compare: cmpf, Write: write})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"a", "b"}, slices.Sorted(slices.Values(seen()))); diff != "" {
				t.Errorf("compared (-want +got):\n%s", diff)
			}
			type row struct {
				Name                  string
				Before                State
				Verdict               string
				After                 State
				Version               string
				Publish               bool
				HasCandidate, HasBase bool
			}
			var got []row
			for _, di := range rep.Images {
				got = append(got, row{di.Name, di.StateBefore, di.Verdict, di.StateAfter, di.Version, di.Publish, di.Candidate != "", di.Baseline != ""})
			}
			want := []row{
				{"a", Pinned, detect.Same, Pinned, "v1.0.0", false, true, true},
				{"b", Pinned, detect.Changed, Unpinned, "abcdef0", true, true, true},
				{"m", Manual, NotCompared, Manual, "v1.0.0", false, false, false},
				{"u", Unpinned, NotCompared, Unpinned, "abcdef0", true, true, false},
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
			if got := readFile(t, cfg.PinFile); got != wantPins {
				t.Errorf("pin file:\n%s\nwant:\n%s", got, wantPins)
			}
			if rep.Written != write {
				t.Errorf("written = %v", rep.Written)
			}
		})
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
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
			cfg := writeMonorepo(t, hcl, pins, nil)
			var got string
			_, err := Detect(t.Context(), cfg, DetectOptions{Commit: testSHA, Candidates: tc.override, Write: true,
				Compare: func(_ context.Context, _ *config.Image, a, b string) (*detect.Result, error) {
					if a != "r.example/acme/svc-a:v1.0.0" {
						t.Errorf("baseline %q", a)
					}
					got = b
					return &detect.Result{A: a, B: b, Verdict: detect.Changed}, nil
				}})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one with %q", err, tc.err)
				}
				if got := readFile(t, cfg.PinFile); got != pins {
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
			cmpf, _, _ := comparer(t, cfg)
			_, err := Detect(t.Context(), cfg, DetectOptions{Commit: testSHA, Compare: cmpf, Write: true})
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v, want one with %q", err, tc.err)
			}
			var bm *BaselineMissingError
			if errors.As(err, &bm) != tc.wantMissing {
				t.Errorf("errors.As(%v, *BaselineMissingError) = %v", err, !tc.wantMissing)
			}
			if got := readFile(t, cfg.PinFile); got != tc.pins {
				t.Errorf("pin file written:\n%s", got)
			}
		})
	}
}

// TestDetectPinChangedMeanwhile: a pin changed by hand while its image was
// compared stops the write; the hand-made change stays.
func TestDetectPinChangedMeanwhile(t *testing.T) {
	for _, tc := range []struct{ name, edited string }{
		{"repinned", strings.Replace(statesPins, "b_VER=\"v1.0.0\"", "b_VER=\"v1.0.1\"", 1)},
		{"made manual", strings.Replace(statesPins, "b_VER=\"v1.0.0\"", "export b_VER=\"v1.0.0\"", 1)},
		{"unpinned", strings.Replace(statesPins, "b_VER=\"v1.0.0\" # released\n", "", 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := statesSetup(t, statesPins)
			cmpf, _, _ := comparer(t, cfg)
			var once sync.Once
			_, err := Detect(t.Context(), cfg, DetectOptions{Commit: testSHA, Write: true, Jobs: 1,
				Compare: func(ctx context.Context, im *config.Image, a, b string) (*detect.Result, error) {
					once.Do(func() {
						if err := os.WriteFile(cfg.PinFile, []byte(tc.edited), 0o644); err != nil {
							t.Error(err)
						}
					})
					return cmpf(ctx, im, a, b)
				}})
			if err == nil || !strings.Contains(err.Error(), "image b: its pin changed while it was compared") {
				t.Fatalf("error %v, want one saying b's pin changed", err)
			}
			if got := readFile(t, cfg.PinFile); got != tc.edited {
				t.Errorf("pin file:\n%s\nwant the hand-edited one:\n%s", got, tc.edited)
			}
		})
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
			cfg := writeMonorepo(t, hcl.String(), pins.String(), nil)
			var inFlight, most atomic.Int32
			all := make(chan struct{})
			var once sync.Once
			var done atomic.Int32
			rep, err := Detect(t.Context(), cfg, DetectOptions{Commit: testSHA, Jobs: jobs, Write: true,
				Compare: func(_ context.Context, im *config.Image, a, b string) (*detect.Result, error) {
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
						return nil, fmt.Errorf("never %d images compared at once", jobs)
					}
					time.Sleep(time.Millisecond)
					v := detect.Same
					if im.Name == "i2" || im.Name == "i5" {
						v = detect.Changed
					}
					return &detect.Result{A: a, B: b, Verdict: v}, nil
				},
				Done: func(string) { done.Add(1) },
			})
			if err != nil {
				t.Fatal(err)
			}
			if m := most.Load(); m != int32(jobs) {
				t.Errorf("at most %d compared at once, want %d", m, jobs)
			}
			if d := done.Load(); d != n {
				t.Errorf("Done called %d times, want %d", d, n)
			}
			if diff := cmp.Diff([]string{"i2", "i5"}, rep.Changed); diff != "" {
				t.Errorf("changed (-want +got):\n%s", diff)
			}
			if got, want := readFile(t, cfg.PinFile), strings.NewReplacer("i2_VER=v1.0.0\n", "", "i5_VER=v1.0.0\n", "").Replace(pins.String()); got != want {
				t.Errorf("pin file:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// TestDetectChecksAndBase: every candidate read is checked (imgver check),
// unpinned ones included; an unpinned image that was not built is a
// warning; a base that cannot be looked at leaves base_stale unknown.
func TestDetectChecksAndBase(t *testing.T) {
	cfg := statesSetup(t, statesPins)
	// b's fresh build lost its entrypoint's exec bit for other users, as
	// ContainerSSH's did; it runs as user 1000.
	bad := must[v1.Image](t)(freshBuild.Image(nil, imagebuild.Config{Entrypoint: []string{"/app/run"}, User: "1000"},
		[]imagebuild.File{imagebuild.Dir("/app"), imagebuild.Reg("/app/run", "#!x").WithMode(0o744)}))
	if err := os.RemoveAll(filepath.Join(cfg.Dir, "build", "b")); err != nil {
		t.Fatal(err)
	}
	if err := imagebuild.WriteLayout(filepath.Join(cfg.Dir, "build", "b"), bad); err != nil {
		t.Fatal(err)
	}
	for i := range cfg.Images {
		cfg.Images[i].Dockerfile = filepath.Join(cfg.Dir, cfg.Images[i].Name, "Dockerfile") // the hook reads none
	}
	cmpf, c, _ := comparer(t, cfg)
	var checked []string
	var mu sync.Mutex
	rep, err := Detect(t.Context(), cfg, DetectOptions{
		Commit: testSHA, Compare: cmpf,
		Check: func(ctx context.Context, im *config.Image, cand string) ([]check.Problem, error) {
			mu.Lock()
			checked = append(checked, im.Name)
			mu.Unlock()
			reps, err := check.Run(ctx, c, cand, check.Options{})
			if err != nil {
				return nil, err
			}
			return reps[0].Problems, nil
		},
		BaseStale: func(_ context.Context, im *config.Image) (bool, error) {
			if im.Name == "a" {
				return true, nil
			}
			return false, errors.New("registry unreachable")
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a", "b", "u"}, slices.Sorted(slices.Values(checked))); diff != "" {
		t.Errorf("checked (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"b"}, rep.Broken); diff != "" {
		t.Errorf("broken (-want +got):\n%s", diff)
	}
	byName := map[string]DetectImage{}
	for _, di := range rep.Images {
		byName[di.Name] = di
	}
	if ps := byName["b"].Problems; len(ps) != 1 || ps[0].Check != "entrypoint" {
		t.Errorf("b problems = %+v", ps)
	}
	if ws := byName["u"].Warnings; len(ws) != 2 || !strings.Contains(ws[0], "not found: not checked") || !strings.Contains(ws[1], "base images not checked: registry unreachable") {
		t.Errorf("u warnings = %v", ws)
	}
	if byName["b"].BaseStale != nil {
		t.Errorf("b base_stale = %v, want unknown", *byName["b"].BaseStale)
	}
	if diff := cmp.Diff([]string{"a"}, rep.BaseStale); diff != "" {
		t.Errorf("base_stale (-want +got):\n%s", diff)
	}
}
