package flow

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/imgver/imgver/internal/config"
	"github.com/imgver/imgver/internal/config/configtest"
	"github.com/imgver/imgver/internal/detect"
	"github.com/imgver/imgver/internal/userfile/userfiletest"
)

func TestParseShard(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want Shard
		bad  bool
	}{
		{in: "1/1", want: Shard{1, 1}},
		{in: "2/3", want: Shard{2, 3}},
		{in: "03/10", want: Shard{3, 10}},
		{in: "0/3", bad: true},
		{in: "4/3", bad: true},
		{in: "1/0", bad: true},
		{in: "-1/3", bad: true},
		{in: "+1/3", bad: true},
		{in: "1/3/5", bad: true},
		{in: "1", bad: true},
		{in: "a/b", bad: true},
		{in: " 1/3", bad: true},
		{in: "1/9999999", bad: true},
		{in: "", bad: true},
	} {
		got, err := ParseShard(tc.in)
		if tc.bad {
			if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%q", tc.in)) {
				t.Errorf("ParseShard(%q) = %v, %v; want an error naming it", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseShard(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

// randomNames returns n distinct image names.
func randomNames(r *rand.Rand, n int) []string {
	const chars = "abcdefghijklmnopqrstuvwxyz0123456789-_./"
	seen := map[string]bool{}
	var out []string
	for len(out) < n {
		b := []byte{chars[r.IntN(26)]}
		for range r.IntN(20) {
			b = append(b, chars[r.IntN(len(chars))])
		}
		if s := string(b); !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// shardsOf returns the shard of every image of cfg, through the selection
// Detect makes (Shard.indices) for each K of N.
func shardsOf(cfg *config.Config, n int) map[string][]int {
	out := map[string][]int{}
	for k := 1; k <= n; k++ {
		for _, i := range (Shard{k, n}).indices(cfg) {
			out[cfg.Images[i].Name] = append(out[cfg.Images[i].Name], k)
		}
	}
	return out
}

func configOf(names []string) *config.Config {
	cfg := &config.Config{}
	for _, n := range names {
		cfg.Images = append(cfg.Images, config.Image{Name: n})
	}
	return cfg
}

// TestShardStable is a property test over random monorepos: every image is
// in exactly one shard; adding images anywhere in the config and removing
// others moves no remaining image to another shard; going from N to N+1
// shards moves images only into the new shard; and the shards are about
// even.
func TestShardStable(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(12, 1))
	for round := range 200 {
		names := randomNames(r, 1+r.IntN(60))
		n := 1 + r.IntN(8)
		before := shardsOf(configOf(names), n)
		for _, name := range names {
			if len(before[name]) != 1 {
				t.Fatalf("round %d: image %q is in shards %v of %d, want one", round, name, before[name], n)
			}
		}
		// Remove some, insert new ones at random places.
		var after []string
		for _, name := range names {
			if r.IntN(4) > 0 {
				after = append(after, name)
			}
		}
		for _, name := range randomNames(r, r.IntN(40)) {
			if _, ok := before[name]; !ok {
				at := r.IntN(len(after) + 1)
				after = slices.Insert(after, at, name)
			}
		}
		now := shardsOf(configOf(after), n)
		grown := shardsOf(configOf(after), n+1)
		for _, name := range after {
			if len(now[name]) != 1 {
				t.Fatalf("round %d: image %q is in shards %v of %d, want one", round, name, now[name], n)
			}
			if b, ok := before[name]; ok && b[0] != now[name][0] {
				t.Errorf("round %d: image %q moved from shard %d/%d to %d/%d when images were added and removed", round, name, b[0], n, now[name][0], n)
			}
			if g := grown[name][0]; g != now[name][0] && g != n+1 {
				t.Errorf("round %d: image %q moved from shard %d/%d to %d/%d", round, name, now[name][0], n, g, n+1)
			}
		}
	}
	// Even: 3000 images in 4 shards, each within 20% of a quarter.
	counts := map[int]int{}
	for _, ks := range shardsOf(configOf(randomNames(r, 3000)), 4) {
		counts[ks[0]]++
	}
	for k := 1; k <= 4; k++ {
		if counts[k] < 600 || counts[k] > 900 {
			t.Errorf("shard %d/4 holds %d of 3000 images: %v", k, counts[k], counts)
		}
	}
	// N=1 is everything.
	if got := (Shard{1, 1}).indices(configOf([]string{"a", "b", "c"})); !slices.Equal(got, []int{0, 1, 2}) {
		t.Errorf("shard 1/1 = %v", got)
	}
}

// TestShardGolden pins the choice: shards made by different imgver builds
// of one version must agree, and a change of the hash moves images.
func TestShardGolden(t *testing.T) {
	t.Parallel()
	got := map[string]int{}
	for _, n := range []string{"api-gateway", "svc-lighthouse-api", "svc-bie-kafka", "postgres", "console", "a", "team/x.y_z"} {
		got[n] = shardOf(n, 3)
	}
	want := map[string]int{"a": 3, "api-gateway": 2, "console": 1, "postgres": 3, "svc-bie-kafka": 3, "svc-lighthouse-api": 3, "team/x.y_z": 3}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("shards of 3 (-want +got):\n%s", diff)
	}
}

// applySetup is a monorepo of eight images (pinned, manual, unpinned) whose
// pin file has a variable no image owns; compare says which pinned images
// changed.
func applySetup(t *testing.T) (*config.Config, string, DetectOptions) {
	t.Helper()
	var hcl strings.Builder
	hcl.WriteString("registry = \"r.example/acme\"\npin_file = \"pins.src\"\n")
	names := []string{"api", "worker", "console", "reports", "db", "cache", "web", "jobs"}
	for _, n := range names {
		fmt.Fprintf(&hcl, "image %q {\n  candidate = \"oci:build/{name}\"\n}\n", n)
	}
	pins := "#!/bin/bash\n# 2026-01-05T10:00:00Z -- v1.0.0\napi_VER=\"v1.0.0\"\nworker_VER=\"v1.0.0\"\nconsole_VER=v1.0.0\nreports_VER=\"v1.0.0\"\ndb_VER=\"v1.0.0\"\n\n" +
		"export cache_VER=\"v0.9.0\"\nCURRENT_RELEASE_VER=\"v1.0.0\"\n"
	cfg := configtest.Monorepo(t, hcl.String(), pins, nil)
	changed := map[string]bool{"worker": true, "reports": true, "db": true}
	o := DetectOptions{Commit: testSHA, NoCheck: true, NoBase: true, Comparer: fakeComparer{func(a, _ string) (detect.Verdict, error) {
		for n := range changed {
			if strings.Contains(a, "/"+n+":") {
				return detect.Changed, nil
			}
		}
		return detect.Same, nil
	}}}
	return cfg, pins, o
}

// writeShards runs Detect for every shard of n and writes each report as
// detect --output does; it returns the files.
func writeShards(t *testing.T, cfg *config.Config, o DetectOptions, n int, dir string) []string {
	t.Helper()
	var files []string
	for k := 1; k <= n; k++ {
		o.Shard = Shard{k, n}
		rep, err := Detect(t.Context(), cfg, o)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, writeReport(t, filepath.Join(dir, fmt.Sprintf("shard-%d-of-%d.json", k, n)), rep))
	}
	return files
}

func writeReport(t *testing.T, path string, rep *DetectReport) string {
	t.Helper()
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestApplyEqualsDetect: for several N, Apply of the shards' results makes
// the report and the pin file of one Detect of every image, with and
// without writing.
func TestApplyEqualsDetect(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 2, 3, 5, 8} {
		for _, write := range []bool{false, true} {
			t.Run(fmt.Sprintf("N=%d write=%v", n, write), func(t *testing.T) {
				t.Parallel()
				cfg, pins, o := applySetup(t)
				files := writeShards(t, cfg, o, n, t.TempDir())
				slices.Reverse(files) // the order of the files does not matter
				merged, err := Apply(t.Context(), cfg, files, ApplyOptions{DryRun: !write})
				if err != nil {
					t.Fatal(err)
				}
				mergedPins := userfiletest.Read(t, cfg.PinFile)
				if err := os.WriteFile(cfg.PinFile, []byte(pins), 0o644); err != nil {
					t.Fatal(err)
				}
				o.Write = write
				full, err := Detect(t.Context(), cfg, o)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(jsonOf(t, full), jsonOf(t, merged)); diff != "" {
					t.Errorf("report (-Detect +Apply):\n%s", diff)
				}
				if diff := cmp.Diff(userfiletest.Read(t, cfg.PinFile), mergedPins); diff != "" {
					t.Errorf("pin file (-Detect +Apply):\n%s", diff)
				}
				if write == (mergedPins == pins) {
					t.Errorf("write=%v and the pin file is:\n%s", write, mergedPins)
				}
			})
		}
	}
}

// TestApplyRefuses: results that are not the shards of one run are an
// error naming the files, and nothing is written.
func TestApplyRefuses(t *testing.T) {
	t.Parallel()
	cfg, pins, o := applySetup(t)
	dir := t.TempDir()
	files := writeShards(t, cfg, o, 3, dir)
	edit := func(name string, from string, change func(*DetectReport)) string {
		var rep DetectReport
		if err := json.Unmarshal([]byte(userfiletest.Read(t, from)), &rep); err != nil {
			t.Fatal(err)
		}
		change(&rep)
		return writeReport(t, filepath.Join(dir, name), &rep)
	}
	raw := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var rep1 DetectReport
	if err := json.Unmarshal([]byte(userfiletest.Read(t, files[0])), &rep1); err != nil {
		t.Fatal(err)
	}
	if len(rep1.Images) == 0 {
		t.Fatal("shard 1/3 holds no image; pick other names")
	}
	first := rep1.Images[0].Name
	o4 := o
	o4.Shard = Shard{1, 4}
	rep4, err := Detect(t.Context(), cfg, o4)
	if err != nil {
		t.Fatal(err)
	}
	n4 := writeReport(t, filepath.Join(dir, "n4.json"), rep4)
	full, err := Detect(t.Context(), cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	notShard := writeReport(t, filepath.Join(dir, "full.json"), full)
	good := string(must[[]byte](t)(os.ReadFile(files[0])))

	for _, tc := range []struct {
		name  string
		files []string
		wants []string
		pins  string // the pin file Apply finds, if not pins
	}{
		{"none", nil, []string{"no shard result"}, ""},
		{"missing shard", files[1:], []string{first, "shard 1/3 not given", files[1], files[2]}, ""},
		{"duplicated shard", append(slices.Clone(files), edit("copy.json", files[0], func(*DetectReport) {})), []string{first, "more than one", files[0], "copy.json"}, ""},
		{"same file twice", append(slices.Clone(files), files[0]), []string{first, "more than one", files[0]}, ""},
		{"other commit", append(files[1:3:3], edit("commit.json", files[0], func(r *DetectReport) { r.Commit = strings.Repeat("1", 40) })), []string{"commits", "commit.json", files[1]}, ""},
		{"other N", append(files[1:3:3], n4), []string{"shard counts", "N=4", "n4.json", "N=3", files[1]}, ""},
		{"other pin file", append(files[1:3:3], edit("pins.json", files[0], func(r *DetectReport) { r.Shard.PinFileSHA256 = strings.Repeat("0", 64) })), []string{"pin file contents", "pins.json", files[1]}, ""},
		{"other config", append(files[1:3:3], edit("cfg.json", files[0], func(r *DetectReport) { r.Shard.ConfigSHA256 = strings.Repeat("0", 64) })), []string{"images.hcl contents", "cfg.json", files[2]}, ""},
		{"another images.hcl", []string{
			edit("c1.json", files[0], func(r *DetectReport) { r.Shard.ConfigSHA256 = strings.Repeat("0", 64) }),
			edit("c2.json", files[1], func(r *DetectReport) { r.Shard.ConfigSHA256 = strings.Repeat("0", 64) }),
			edit("c3.json", files[2], func(r *DetectReport) { r.Shard.ConfigSHA256 = strings.Repeat("0", 64) }),
		}, []string{"another images.hcl", cfg.Path}, ""},
		{"other options", append(files[1:3:3], edit("opts.json", files[0], func(r *DetectReport) { r.Shard.Options.History = true })), []string{"options", "history=true", "opts.json"}, ""},
		{"pin file changed since", files, []string{"changed", "run again"}, pins + "# edited\n"},
		{"not a shard", append(files[1:3:3], notShard), []string{"full.json", "no shard object"}, ""},
		{"other schema", append(files[1:3:3], edit("schema.json", files[0], func(r *DetectReport) { r.SchemaVersion = 2 })), []string{"schema.json", "schema_version 2"}, ""},
		{"bad K", append(files[1:3:3], edit("k.json", files[0], func(r *DetectReport) { r.Shard.K = 4 })), []string{"k.json", "4/3"}, ""},
		{"written", append(files[1:3:3], edit("w.json", files[0], func(r *DetectReport) { r.Written = true })), []string{"w.json", "written"}, ""},
		{"images not of the shard", append(files[1:3:3], edit("img.json", files[0], func(r *DetectReport) { r.Images = r.Images[1:] })), []string{"img.json", "not the images of its shard"}, ""},
		{"unknown image", append(files[1:3:3], edit("unk.json", files[0], func(r *DetectReport) {
			r.Images[0].Name = "nope"
			r.Shard.Images[0] = "nope"
		})), []string{"unk.json", "nope"}, ""},
		{"truncated", append(files[1:3:3], raw("trunc.json", good[:len(good)/2])), []string{"trunc.json", "unexpected EOF"}, ""},
		{"trailing data", append(files[1:3:3], raw("trail.json", good+"{}")), []string{"trail.json", "after the JSON"}, ""},
		{"not JSON", append(files[1:3:3], raw("text.json", "IMAGE  BEFORE\n")), []string{"text.json", "invalid character"}, ""},
		{"missing file", append(files[1:3:3], filepath.Join(dir, "nope.json")), []string{"nope.json", "no such file"}, ""},
		{"directory", append(files[1:3:3], dir), []string{dir, "directory"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := pins
			if tc.pins != "" {
				want = tc.pins
			}
			if err := os.WriteFile(cfg.PinFile, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Apply(t.Context(), cfg, tc.files, ApplyOptions{})
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error of more than one line: %s", msg)
			}
			for _, w := range tc.wants {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			if got := userfiletest.Read(t, cfg.PinFile); got != want {
				t.Errorf("pin file changed:\n%s", got)
			}
		})
	}
}

// FuzzParseShard: ParseShard never panics, and what it accepts prints back
// as a shard it reads the same. Seeds: testdata/fuzz/FuzzParseShard.
func FuzzParseShard(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		sh, err := ParseShard(s)
		if err != nil {
			return
		}
		if sh.K < 1 || sh.K > sh.N {
			t.Fatalf("ParseShard(%q) = %v", s, sh)
		}
		if again, err := ParseShard(sh.String()); err != nil || again != sh {
			t.Fatalf("ParseShard(%q) = %v, %v; want %v", sh.String(), again, err, sh)
		}
	})
}

// FuzzParseShardResult: parseShardResult never panics, and what it accepts
// it accepts again once written back as JSON. Seeds:
// testdata/fuzz/FuzzParseShardResult.
func FuzzParseShardResult(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := parseShardResult("r.json", data)
		if err != nil {
			return
		}
		b, err := json.Marshal(rep)
		if err != nil {
			t.Fatalf("accepted, but does not marshal: %v", err)
		}
		if _, err := parseShardResult("r.json", b); err != nil {
			t.Fatalf("accepted %s, but not once written back as %s: %v", data, b, err)
		}
	})
}
