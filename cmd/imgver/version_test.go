package main

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionLine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		bi   debug.BuildInfo
		want string
	}{
		{"release", debug.BuildInfo{GoVersion: "go1.25.0", Main: debug.Module{Version: "v1.2.3"}}, "imgver v1.2.3, go1.25.0"},
		{"checkout", debug.BuildInfo{GoVersion: "go1.25.0", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.time", Value: "2026-11-30T05:00:00Z"}, {Key: "vcs.modified", Value: "true"},
		}}, "imgver (devel), commit 0123abcd 2026-11-30T05:00:00Z (modified), go1.25.0"},
	} {
		if got := versionLine(&tc.bi); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestVersionAndCompletion runs both commands through the harness.
func TestVersionAndCompletion(t *testing.T) {
	t.Parallel()
	if res := imgver(t, "version"); res.code != 0 || !strings.HasPrefix(res.stdout, "imgver ") {
		t.Errorf("version: exit %d %q %q", res.code, res.stdout, res.stderr)
	}
	for shell, marker := range map[string]string{"bash": "# bash completion V2 for imgver", "zsh": "#compdef imgver", "fish": "# fish completion for imgver"} {
		if res := imgver(t, "completion", shell); res.code != 0 || !strings.HasPrefix(res.stdout, marker) {
			t.Errorf("completion %s: exit %d %.80q %q", shell, res.code, res.stdout, res.stderr)
		}
	}
	if res := imgver(t, "completion", "tcsh"); res.code != 2 || !strings.Contains(res.stderr, `unknown shell "tcsh"`) {
		t.Errorf("completion tcsh: exit %d %q", res.code, res.stderr)
	}
}
