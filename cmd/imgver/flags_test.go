package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCommitFlag: --commit "" (an unset $GITHUB_SHA) and a commit that is
// not 4 to 40 hex digits are errors, never a silent fallback to HEAD (the
// monorepo is no git repository: HEAD would be an error of its own).
func TestCommitFlag(t *testing.T) {
	t.Parallel()
	cfg, _ := monorepo(t, demoPins)
	tests := []struct {
		name, commit, want string
	}{
		{name: "empty", commit: "", want: "imgver: commit is empty (an unset $GITHUB_SHA?)"},
		{name: "41 digits", commit: strings.Repeat("a", 41), want: "has 41 hexadecimal digits: a commit SHA has 4 to 40"},
		{name: "3 digits", commit: "abc", want: "has 3 hexadecimal digits"},
		{name: "not hex", commit: "abcdefg", want: `commit "abcdefg" is not a commit SHA`},
	}
	for _, tc := range tests {
		for _, args := range [][]string{
			{"vars", "--commit", tc.commit},
			{"release", "v9.0.0", "--retag", "--dry-run", "--commit", tc.commit},
			{"detect", "--commit", tc.commit},
		} {
			t.Run(tc.name+"/"+args[0], func(t *testing.T) {
				t.Parallel()
				r := imgver(t, append([]string{"--config", cfg}, args...)...)
				if r.code != 2 || !strings.Contains(r.stderr, tc.want) || strings.Count(r.stderr, "\n") != 1 {
					t.Errorf("got exit %d, stderr %q; want exit 2 and one line containing %q", r.code, r.stderr, tc.want)
				}
			})
		}
	}
	// --commit, even an empty one, goes with release --retag only.
	if r := imgver(t, "--config", cfg, "release", "v9.0.0", "--dry-run", "--commit", ""); r.code != 2 || !strings.Contains(r.stderr, "go with --retag") {
		t.Errorf("release --commit \"\" without --retag: %+v", r)
	}
	// 40 digits are a commit.
	if r := imgver(t, "--config", cfg, "vars", "--commit", strings.Repeat("a", 40)); r.code != 0 {
		t.Errorf("40 digits: %+v", r)
	}
}

// TestChoiceFlag: a flag that takes one of a few words lists them in its
// help, offers them to shell completion, and refuses any other word when
// the flags are parsed, before images.hcl is looked for.
func TestChoiceFlag(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cmd     []string
		flag    string
		choices []string
		help    string
	}{
		{[]string{"list"}, "--format", []string{"text", "json"}, "output format: text or json"},
		{[]string{"vars"}, "--format", []string{"shell", "json", "github", "dotenv"}, "output format: shell, json, github or dotenv"},
		{[]string{"base", "check"}, "--format", []string{"text", "json", "github"}, "output format: text, json or github"},
		{[]string{"publish"}, "--mode", []string{"changed", "all"}, ": changed or all"},
	} {
		t.Run(strings.Join(tc.cmd, " ")+" "+tc.flag, func(t *testing.T) {
			t.Parallel()
			if res := imgver(t, append(tc.cmd, "--help")...); !strings.Contains(res.stdout, tc.help) {
				t.Errorf("help lacks %q:\n%s", tc.help, res.stdout)
			}
			res := imgver(t, append(append([]string{"__complete"}, tc.cmd...), tc.flag, "")...)
			want := strings.Join(tc.choices, "\n") + "\n:4\n" // :4 is "no file completion"
			if !strings.HasPrefix(res.stdout, want) {
				t.Errorf("completion %q, want %q first", res.stdout, want)
			}
			res = imgver(t, append(append([]string{"--config", "/nonexistent/images.hcl"}, tc.cmd...), tc.flag, "nope")...)
			want = `invalid argument "nope" for "` + tc.flag + `" flag: want ` + tc.help[strings.Index(tc.help, ": ")+2:]
			if res.code != exitError || !strings.Contains(res.stderr, want) {
				t.Errorf("exit %d, stderr %q; want exit 2 and %q", res.code, res.stderr, want)
			}
		})
	}
}

// TestShardFlag: --shard "" (an unset matrix variable) is every image, as no
// --shard is.
func TestShardFlag(t *testing.T) {
	t.Parallel()
	cfg, _ := monorepo(t, demoPins)
	all := imgver(t, "--config", cfg, "list")
	empty := imgver(t, "--config", cfg, "list", "--shard", "")
	if diff := cmp.Diff(all, empty, cmp.AllowUnexported(result{})); diff != "" || all.code != 0 {
		t.Errorf("exit %d; --shard \"\" (-all +empty):\n%s", all.code, diff)
	}
}
