package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
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
			if got := readString(t, r.pins); got != detectPins {
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
		if got := readString(t, f); !strings.Contains(got, `"shard": {`) {
			t.Errorf("%s:\n%s", f, got)
		}
		files = append(files, f)
	}
	res := imgver(t, append([]string{"--config", r.cfg, "apply"}, files...)...)
	if res.code != 0 || !strings.Contains(res.stdout, "Unpinned in the pin file: b, c.") {
		t.Fatalf("apply: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if want := strings.Replace(detectPins, "b_VER=\"v1.0.0\"\nc_VER=\"v1.0.0\"\n", "", 1); readString(t, r.pins) != want {
		t.Errorf("pin file:\n%s", readString(t, r.pins))
	}
}
