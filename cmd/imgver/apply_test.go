package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/imgver/imgver/internal/flow"
	"github.com/imgver/imgver/internal/regtest"
	"github.com/imgver/imgver/internal/userfile/userfiletest"
)

// TestShardFlags: bad --shard and --output values, --shard with --write and
// apply of files that are no shard results are exit 2 with one line naming
// the problem, before anything is read or written.
func TestShardFlags(t *testing.T) {
	r := newDetectRepo(t, nil)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.json")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.json")
	writeFile(t, empty, "")
	for _, tc := range []struct {
		args  []string
		wants []string
	}{
		{[]string{"detect", "--shard", "0/3"}, []string{"--shard", `"0/3"`, "1 <= K <= N"}},
		{[]string{"detect", "--shard", "3"}, []string{"--shard", `"3"`}},
		{[]string{"detect", "--shard", "2/1"}, []string{"--shard", `"2/1"`}},
		{[]string{"detect", "--shard", "1/2", "--write"}, []string{"shard", "imgver apply"}},
		{[]string{"detect", "--output", filepath.Join(dir, "r.json")}, []string{"--output", "--shard K/N"}},
		{[]string{"detect", "--shard", "1/2", "--output", dir}, []string{dir, "directory"}},
		{[]string{"list", "--shard", "1/0"}, []string{"--shard", `"1/0"`}},
		{[]string{"apply"}, []string{"apply", "requires at least 1 arg"}},
		{[]string{"apply", fifo}, []string{fifo, "FIFO"}},
		{[]string{"apply", empty}, []string{empty, "EOF"}},
		{[]string{"apply", "--format", "yaml", empty}, []string{"--format", "yaml"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			args := append([]string{"--config", r.cfg}, tc.args...)
			if tc.args[0] == "detect" {
				args = append(args, "--commit", detectSHA)
			}
			res := imgver(t, args...)
			if res.code != 2 {
				t.Fatalf("exit %d, want 2\n%s%s", res.code, res.stdout, res.stderr)
			}
			if n := strings.Count(res.stderr, "\n"); n != 1 {
				t.Errorf("stderr has %d lines:\n%s", n, res.stderr)
			}
			for _, w := range tc.wants {
				if !strings.Contains(res.stderr, w) {
					t.Errorf("stderr %q lacks %q", res.stderr, w)
				}
			}
			if got := userfiletest.Read(t, r.pins); got != detectPins {
				t.Errorf("pin file changed:\n%s", got)
			}
		})
	}
}

// TestShardOutput: --output writes the shard's JSON result whatever
// --format prints, and apply of the shards unpins what detect --write does.
func TestShardOutput(t *testing.T) {
	r := newDetectRepo(t, nil)
	dir := t.TempDir()
	var files []string
	for k := 1; k <= 2; k++ {
		f := filepath.Join(dir, fmt.Sprintf("r%d.json", k))
		res := r.detect(t, "--shard", fmt.Sprintf("%d/2", k), "--output", f)
		if res.code != 0 || !strings.HasPrefix(res.stdout, "IMAGE ") {
			t.Fatalf("exit %d\n%s%s", res.code, res.stdout, res.stderr)
		}
		if got := userfiletest.Read(t, f); !strings.Contains(got, `"shard": {`) {
			t.Errorf("%s:\n%s", f, got)
		}
		files = append(files, f)
	}
	res := imgver(t, append([]string{"--config", r.cfg, "apply"}, files...)...)
	if res.code != 0 || !strings.Contains(res.stdout, "Unpinned in the pin file: b, c.") {
		t.Fatalf("apply: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if want := strings.Replace(detectPins, "b_VER=\"v1.0.0\"\nc_VER=\"v1.0.0\"\n", "", 1); userfiletest.Read(t, r.pins) != want {
		t.Errorf("pin file:\n%s", userfiletest.Read(t, r.pins))
	}
}

// TestE2EShardApply runs detect --shard 1/3, 2/3 and 3/3 and imgver apply
// with the real binary against the real registry, and checks that apply
// writes the pin file byte for byte as one full detect --write does and
// prints the same outputs (text, json, github output and step summary,
// dotenv, warnings on stderr). Then it checks that apply refuses shard
// results that do not make one run, with exit 2 and the pin file untouched.
func TestE2EShardApply(t *testing.T) {
	r := newE2ERepo(t, regtest.Real(t))
	// A variable no image owns: a warning every run prints.
	pins := e2ePins + "CURRENT_RELEASE_VER=\"v1.0.0\"\n"
	writeFile(t, r.pins, pins)
	out := t.TempDir()
	shardFile := func(k int) string { return filepath.Join(out, fmt.Sprintf("result-%d.json", k)) }

	// Every run with a cache of its own, so that each reads what the others
	// read (a warm cache would change where a result says it read from).
	cold := func() string { return "IMGVER_CACHE_DIR=" + t.TempDir() }
	var shards []string
	held := map[string]int{}
	for k := 1; k <= 3; k++ {
		// --verbose: the results hold every comparison, for apply --verbose.
		res := runBinary(t, r.dir, []string{cold()}, "detect", "--shard", fmt.Sprintf("%d/3", k), "--output", shardFile(k), "--commit", r.sha, "--verbose")
		if res.code != 0 {
			t.Fatalf("detect --shard %d/3: exit %d\nstdout: %s\nstderr: %s", k, res.code, res.stdout, res.stderr)
		}
		var rep flow.DetectReport
		if err := json.Unmarshal([]byte(userfiletest.Read(t, shardFile(k))), &rep); err != nil {
			t.Fatal(err)
		}
		if rep.Shard == nil || rep.Shard.K != k || rep.Shard.N != 3 {
			t.Fatalf("shard %d/3 result has shard %+v", k, rep.Shard)
		}
		for _, di := range rep.Images {
			held[di.Name] = k
		}
		// list --shard names the images a matrix job builds: the same.
		lres := runBinary(t, r.dir, nil, "list", "--shard", fmt.Sprintf("%d/3", k), "--format", "json")
		var listed []struct{ Name string }
		if err := json.Unmarshal([]byte(lres.stdout), &listed); lres.code != 0 || err != nil {
			t.Fatalf("list --shard %d/3: exit %d, %v\n%s%s", k, lres.code, err, lres.stdout, lres.stderr)
		}
		names := []string{}
		for _, l := range listed {
			names = append(names, l.Name)
		}
		if diff := cmp.Diff(rep.Shard.Images, names); diff != "" {
			t.Errorf("list --shard %d/3 (-detect +list):\n%s", k, diff)
		}
		shards = append(shards, shardFile(k))
	}
	if len(held) != 4 {
		t.Fatalf("the shards hold %v, want the four images once each", held)
	}
	if got := userfiletest.Read(t, r.pins); got != pins {
		t.Fatalf("detect --shard wrote the pin file:\n%s", got)
	}

	// Each format: one full detect --write, then apply from the same pin
	// file: same exit, stdout, stderr, pin file and GitHub files.
	type run struct {
		res              result
		pins, ghOut, sum string
	}
	do := func(format string, args ...string) run {
		t.Helper()
		writeFile(t, r.pins, pins)
		gh := newGitHubFiles(t)
		args = slices.DeleteFunc(append(args, "--format", format), func(a string) bool { return a == "" })
		res := runBinary(t, r.dir, append(gh.env, cold()), args...)
		if res.code != 0 {
			t.Fatalf("%v: exit %d\nstdout: %s\nstderr: %s", args, res.code, res.stdout, res.stderr)
		}
		read := func(p string) string {
			b, err := os.ReadFile(p)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			return string(b)
		}
		return run{res, userfiletest.Read(t, r.pins), read(gh.output), read(gh.summary)}
	}
	for _, format := range []string{"text", "json", "github", "dotenv", "json --verbose", "text --verbose"} {
		format, verbose, _ := strings.Cut(format, " ")
		full := do(format, "detect", "--write", "--commit", r.sha, verbose)
		merged := do(format, append([]string{"apply", verbose}, shards...)...)
		if diff := cmp.Diff(full, merged, cmp.AllowUnexported(run{}, result{})); diff != "" {
			t.Errorf("--format %s %s: detect --write (-) and apply (+) differ:\n%s", format, verbose, diff)
		}
		if format == "github" && !strings.Contains(full.ghOut, "changed=worker,console,reports\n") {
			t.Errorf("$GITHUB_OUTPUT of detect --write:\n%s", full.ghOut)
		}
		if !strings.Contains(full.res.stderr, "CURRENT_RELEASE_VER") {
			t.Errorf("--format %s: no warning about CURRENT_RELEASE_VER:\n%s", format, full.res.stderr)
		}
	}
	// --dry-run: as detect without --write, nothing written.
	dry := do("text", "detect", "--commit", r.sha)
	if diff := cmp.Diff(dry, do("text", append([]string{"apply", "--dry-run"}, shards...)...), cmp.AllowUnexported(run{}, result{})); diff != "" {
		t.Errorf("detect (-) and apply --dry-run (+) differ:\n%s", diff)
	}
	if dry.pins != pins {
		t.Errorf("apply --dry-run wrote the pin file:\n%s", dry.pins)
	}
	full := do("text", "detect", "--write", "--commit", r.sha)
	if got := full.pins; got == pins || strings.Contains(got, "worker_VER") {
		t.Fatalf("apply did not unpin the changed images:\n%s", got)
	}

	// A pin file of other content than the shards read: a shard made from it.
	writeFile(t, r.pins, pins+"# edited\n")
	other := filepath.Join(out, "other-pins.json")
	if res := runBinary(t, r.dir, nil, "detect", "--shard", "1/3", "--output", other, "--commit", r.sha); res.code != 0 {
		t.Fatalf("detect --shard 1/3: exit %d\n%s", res.code, res.stderr)
	}
	dup := filepath.Join(out, "copy.json")
	writeFile(t, dup, userfiletest.Read(t, shardFile(held["worker"])))
	notShard := filepath.Join(out, "full.json")
	writeFile(t, notShard, do("json", "detect", "--commit", r.sha).res.stdout)
	truncated := filepath.Join(out, "truncated.json")
	s := userfiletest.Read(t, shardFile(1))
	writeFile(t, truncated, s[:len(s)/2])
	fifo := filepath.Join(out, "fifo.json")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	var missing []string
	for k := 1; k <= 3; k++ {
		if k != held["worker"] {
			missing = append(missing, shardFile(k))
		}
	}
	for _, tc := range []struct {
		name  string
		pins  string // the pin file apply finds
		args  []string
		wants []string // in the first line of stderr
	}{
		{"missing shard", pins, missing, []string{"worker", fmt.Sprintf("shard %d/3 not given", held["worker"])}},
		{"duplicated shard", pins, append(shards[:3:3], dup), []string{"worker", "more than one", dup, shardFile(held["worker"])}},
		{"other pin file content", pins, []string{other, shardFile(2), shardFile(3)}, []string{"pin file contents", other, shardFile(2)}},
		{"pin file changed since", pins + "# edited\n", shards, []string{"changed", "run again"}},
		{"not a shard result", pins, append(shards[1:3:3], notShard), []string{notShard, "no shard object"}},
		{"truncated", pins, append(shards[1:3:3], truncated), []string{truncated, "unexpected EOF"}},
		{"fifo", pins, append(shards[1:3:3], fifo), []string{fifo, "FIFO"}},
		{"directory", pins, append(shards[1:3:3], out), []string{out, "directory"}},
		{"no file", pins, nil, []string{"requires at least 1 arg"}},
		{"shard with write", pins, []string{"detect", "--shard", "1/3", "--write"}, []string{"shard", "apply"}},
		{"shard 0/3", pins, []string{"detect", "--shard", "0/3"}, []string{"--shard", `"0/3"`}},
		{"shard 4/3", pins, []string{"detect", "--shard", "4/3"}, []string{"--shard", `"4/3"`}},
		{"output without shard", pins, []string{"detect", "--output", filepath.Join(out, "x.json")}, []string{"--output", "--shard"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			writeFile(t, r.pins, tc.pins)
			args := tc.args
			if len(args) == 0 || args[0] != "detect" {
				args = append([]string{"apply"}, args...)
			} else {
				args = append(args, "--commit", r.sha)
			}
			res := runBinary(t, r.dir, nil, args...)
			if res.code != 2 {
				t.Fatalf("exit %d, want 2\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
			}
			first, rest, _ := strings.Cut(res.stderr, "\n")
			if rest != "" {
				t.Errorf("stderr is more than one line:\n%s", res.stderr)
			}
			for _, w := range tc.wants {
				if !strings.Contains(first, w) {
					t.Errorf("stderr %q lacks %q", first, w)
				}
			}
			if got := userfiletest.Read(t, r.pins); got != tc.pins {
				t.Errorf("pin file changed:\n%s", got)
			}
		})
	}
}
