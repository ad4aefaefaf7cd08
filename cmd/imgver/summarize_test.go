package main

import (
	"strings"
	"testing"
	"time"

	"github.com/imgver/imgver/internal/imagetest"
	"github.com/imgver/imgver/internal/regtest"
)

// TestSummarizeCommand: imgver summarize attaches the summary of a registry
// image (exit 0), finds it there on a rerun, and refuses what is not a
// registry image, a missing one and an unknown format (exit 2).
func TestSummarizeCommand(t *testing.T) {
	t.Parallel()
	host := regtest.Start(t)
	ref := host + "/acme/svc:v1.0.0"
	d := regtest.Push(t, ref, imagetest.Random(t, 1, time.Unix(1_700_000_000, 0)))
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr string
	}{
		{"attach", []string{ref}, 0, []string{"IMAGE", "PLATFORM", "SUBJECT", ref, shortDigest(d.String()), "attached\n"}, ""},
		{"again", []string{ref}, 0, []string{ref, "exists\n"}, ""},
		{"json", []string{"--format", "json", ref}, 0, []string{`"ref": "` + ref + `"`, `"subject": "` + d.String() + `"`, `"status": "exists"`}, ""},
		{"layout", []string{"oci:build/svc"}, 2, nil, "oci:build/svc is not a registry image"},
		{"missing", []string{host + "/acme/none:v1"}, 2, nil, host + "/acme/none:v1"},
		{"format", []string{"--format", "yaml", ref}, 2, nil, "yaml"},
		{"timeout", []string{"--timeout", "-1s", ref}, 2, nil, "--timeout must be positive"},
		{"no args", nil, 2, nil, "requires at least 1 arg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := imgver(t, append([]string{"summarize"}, tc.args...)...)
			if res.code != tc.code {
				t.Fatalf("exit %d, want %d\n%s%s", res.code, tc.code, res.stdout, res.stderr)
			}
			for _, s := range tc.stdout {
				if !strings.Contains(res.stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, res.stdout)
				}
			}
			if !strings.Contains(res.stderr, tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, res.stderr)
			}
		})
	}
}
