package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDiffBinary runs the built binary: exit codes reach the shell.
func TestDiffBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "imgver")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	detectFixtures(t)
	for _, tc := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"diff", "oci:base", "oci:same"}, exitOK, "SAME\n"},
		{[]string{"diff", "oci:base", "oci:changed"}, exitChanged, "CHANGED\n"},
		{[]string{"diff", "oci:base", "oci:nothing"}, exitError, ""},
	} {
		out, err := exec.Command(bin, tc.args...).Output()
		code := exitCode(t, err)
		if code != tc.code || !strings.HasPrefix(string(out), tc.out) {
			t.Errorf("imgver %s: exit %d, output %q; want %d, %q", strings.Join(tc.args, " "), code, out, tc.code, tc.out)
		}
	}
}
