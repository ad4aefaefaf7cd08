package main

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/imgver/imgver/internal/regtest"
)

// diffSources runs imgver diff --format json with args and returns the
// verdict and where each side's layers came from.
func diffSources(t *testing.T, args ...string) []string {
	t.Helper()
	r := imgver(t, append([]string{"diff", "--format", "json"}, args...)...)
	if r.code != exitChanged {
		t.Fatalf("exit %d, want %d\n%s%s", r.code, exitChanged, r.stdout, r.stderr)
	}
	var res struct {
		Verdict   string
		Platforms []struct {
			SourceA string `json:"source_a"`
			SourceB string `json:"source_b"`
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatal(err)
	}
	out := []string{res.Verdict}
	for _, p := range res.Platforms {
		out = append(out, p.SourceA, p.SourceB)
	}
	return out
}

// cacheFiles lists the entries under dir.
func cacheFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestCacheDiff: a second diff reads the layer summaries from the local
// cache, with the same verdict; --no-cache and damaged entries make it read
// the layers again.
func TestCacheDiff(t *testing.T) {
	detectFixtures(t)
	xdg := t.TempDir()
	dir := filepath.Join(xdg, "imgver") // the default under $XDG_CACHE_HOME
	ab := []string{"oci:base", "oci:changed"}
	steps := []struct {
		name string
		args []string
		do   func(t *testing.T)
		want []string
	}{
		{name: "cold", args: []string{"--cache-dir", dir}, want: []string{"changed", "layers", "layers"}},
		{name: "warm", args: []string{"--cache-dir", dir}, want: []string{"changed", "cache", "cache"}},
		{name: "no cache", args: []string{"--cache-dir", dir, "--no-cache"}, want: []string{"changed", "layers", "layers"}},
		{name: "from the environment", do: func(t *testing.T) { t.Setenv(cacheDirEnv, dir) }, want: []string{"changed", "cache", "cache"}},
		{name: "default", do: func(t *testing.T) {
			t.Setenv(cacheDirEnv, "")
			t.Setenv("XDG_CACHE_HOME", xdg)
		}, want: []string{"changed", "cache", "cache"}},
		{name: "damaged entries", args: []string{"--cache-dir", dir}, do: func(t *testing.T) {
			files := cacheFiles(t, dir)
			if len(files) == 0 {
				t.Fatal("nothing cached")
			}
			for _, f := range files {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				b[len(b)-1] ^= 1
				if err := os.WriteFile(f, b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
		}, want: []string{"changed", "layers", "layers"}},
		{name: "rewritten", args: []string{"--cache-dir", dir}, want: []string{"changed", "cache", "cache"}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if s.do != nil {
				s.do(t)
			}
			args := append(s.args, ab...)
			if len(s.args) == 0 {
				// Naming no cache flag would get a fresh --cache-dir from
				// the harness; this one names one and sets nothing.
				args = append([]string{"--no-cache=false"}, ab...)
			}
			if diff := cmp.Diff(s.want, diffSources(t, args...)); diff != "" {
				t.Errorf("verdict and sources (-want +got):\n%s", diff)
			}
		})
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("cache dir mode %v, want 0700", fi.Mode().Perm())
	}
}

func TestCacheFlags(t *testing.T) {
	detectFixtures(t)
	file := filepath.Join(t.TempDir(), "file")
	writeFile(t, file, "")
	for _, tc := range []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string
	}{
		{name: "bad size", args: []string{"fingerprint", "--cache-max-size", "lots", "oci:base"}, wantCode: exitError, wantStderr: `--cache-max-size "lots"`},
		{name: "zero size", args: []string{"diff", "--cache-max-size", "0", "oci:base", "oci:same"}, wantCode: exitError, wantStderr: "positive size"},
		{name: "size", args: []string{"fingerprint", "--cache-max-size", "10MiB", "oci:base"}, wantCode: exitOK},
		// A cache that cannot be made is a warning: the run goes on.
		{name: "dir is a file", args: []string{"fingerprint", "--cache-dir", file, "oci:base"}, wantCode: exitOK, wantStderr: "imgver: warning: no local cache: creating cache directory"},
		{name: "dir below a file", args: []string{"diff", "--cache-dir", filepath.Join(file, "x"), "oci:base", "oci:same"}, wantCode: exitOK, wantStderr: "imgver: warning: no local cache"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := imgver(t, tc.args...)
			if r.code != tc.wantCode {
				t.Fatalf("exit %d, want %d\n%s%s", r.code, tc.wantCode, r.stdout, r.stderr)
			}
			if tc.wantStderr == "" && r.stderr != "" || !strings.Contains(r.stderr, tc.wantStderr) || strings.Count(r.stderr, "\n") > 1 {
				t.Errorf("stderr %q, want one line with %q", r.stderr, tc.wantStderr)
			}
		})
	}
}

// TestCacheDetect: a second detect over the same baselines reads no layer
// blob of them from the registry, and says the same.
func TestCacheDetect(t *testing.T) {
	var layer string
	wrap, gets := regtest.Count(func(req *http.Request) bool {
		return req.Method == http.MethodGet && strings.HasSuffix(req.URL.Path, "/blobs/"+layer)
	})
	r := newDetectRepo(t, wrap)
	layer = r.layer.String()
	dir := t.TempDir()
	var outs []string
	for i, want := range []int64{1, 0} {
		gets.Store(0)
		res := r.detect(t, "--format", "json", "--cache-dir", dir)
		if res.code != 0 {
			t.Fatalf("run %d: exit %d\n%s", i, res.code, res.stderr)
		}
		if got := gets.Load(); got != want {
			t.Errorf("run %d: %d GETs of b's baseline layer, want %d", i, got, want)
		}
		outs = append(outs, res.stdout)
	}
	// What was read of the baselines differs, and only that.
	for i, src := range []string{"layers", "cache"} {
		if n := strings.Count(outs[i], `"baseline_source": "`+src+`"`); n != 3 {
			t.Errorf("run %d: %d baselines read from %s, want 3", i, n, src)
		}
		outs[i] = baselineSourceRE.ReplaceAllString(outs[i], "")
	}
	if diff := cmp.Diff(outs[0], outs[1]); diff != "" {
		t.Errorf("warm run says otherwise (-cold +warm):\n%s", diff)
	}
}

var baselineSourceRE = regexp.MustCompile(`(?m)^\s*"baseline_source": "[a-z]+",\n`)
