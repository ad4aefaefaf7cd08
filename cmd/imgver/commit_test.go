package main

import (
	"strings"
	"testing"
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
	// 40 digits are a commit.
	if r := imgver(t, "--config", cfg, "vars", "--commit", strings.Repeat("a", 40)); r.code != 0 {
		t.Errorf("40 digits: %+v", r)
	}
}
