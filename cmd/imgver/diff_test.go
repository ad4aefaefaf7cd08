package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imgver/imgver/internal/detect"
	"github.com/imgver/imgver/internal/imagebuild"
	"github.com/imgver/imgver/internal/imagetest"
)

// detectFixtures makes oci layouts "same", "base", "changed" in a new
// working directory.
func detectFixtures(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	b := imagebuild.Build{MTime: time.Unix(1700000000, 0)}
	cfg := imagebuild.Config{Cmd: []string{"/app/run"}}
	baseLayer := []imagebuild.File{
		imagebuild.Dir("/app"),
		imagebuild.Exe("/app/run", "#!/bin/sh\nexec app\n"),
		imagebuild.Reg("/app/app.conf", "port = 80\nlog = info\nworkers = 4\n"),
		imagebuild.Dir("/etc"),
		imagebuild.Reg("/etc/motd", "hello\n"),
		imagebuild.Dir("/var/log"),
		imagebuild.Reg("/var/lib/dpkg/status", imagebuild.DpkgStatus("libssl3=3.0.15-1~deb12u1", "tzdata=2024a-0+deb12u1")),
	}
	imagetest.WriteLayout(t, "base", imagetest.Image(t, b, nil, cfg, baseLayer))
	imagetest.WriteLayout(t, "same", imagetest.Image(t, b, nil, cfg, baseLayer, []imagebuild.File{imagebuild.Reg("/var/log/build.log", "built\n")}))
	changed := append([]imagebuild.File(nil), baseLayer...)
	changed[1].Mode = 0o644
	changed[2].Content = "port = 8080\nlog = info\nworkers = 4\n"
	changed[6].Content = imagebuild.DpkgStatus("libssl3=3.0.16-1~deb12u1", "tzdata=2024a-0+deb12u1", "curl=7.88.1-10+deb12u8")
	changed = append(changed, imagebuild.Reg("/app/new", "x").WithMode(0o600))
	cfg.Env = []string{"DEBUG=1"}
	imagetest.WriteLayout(t, "changed", imagetest.Image(t, b, nil, cfg, changed, []imagebuild.File{imagebuild.Whiteout("/etc/motd")}))
}

func TestDiffCommand(t *testing.T) {
	detectFixtures(t)
	tests := []struct {
		name     string
		args     []string
		wantCode int
		golden   string
	}{
		{name: "same", args: []string{"diff", "oci:base", "oci:same"}, wantCode: exitOK, golden: "diff-same"},
		{name: "changed", args: []string{"diff", "oci:base", "oci:changed"}, wantCode: exitChanged, golden: "diff-changed"},
		{name: "changed json", args: []string{"diff", "--format", "json", "oci:base", "oci:changed"}, wantCode: exitChanged, golden: "diff-changed-json"},
		{name: "no default ignores", args: []string{"diff", "--no-default-ignores", "oci:base", "oci:same"}, wantCode: exitChanged},
		{name: "ignore flag", args: []string{"diff", "--ignore", "/etc/**", "--ignore", "app/**", "oci:base", "oci:changed"}, wantCode: exitChanged},
		{name: "bad reference", args: []string{"diff", "oci:", "oci:base"}, wantCode: exitError},
		{name: "missing image", args: []string{"diff", "oci:nothing", "oci:base"}, wantCode: exitError},
		{name: "bad format", args: []string{"diff", "--format", "xml", "oci:base", "oci:same"}, wantCode: exitError},
		{name: "bad platform", args: []string{"diff", "--platform", "linux", "oci:base", "oci:same"}, wantCode: exitError},
		{name: "one argument", args: []string{"diff", "oci:base"}, wantCode: exitError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := imgver(t, tc.args...)
			if r.code != tc.wantCode {
				t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tc.wantCode, r.stdout, r.stderr)
			}
			if r.code == exitError && (r.stderr == "" || strings.Count(r.stderr, "\n") != 1) {
				t.Errorf("stderr %q, want one line", r.stderr)
			}
			if r.code != exitError && r.stderr != "" {
				t.Errorf("stderr %q, want none", r.stderr)
			}
			if tc.golden != "" {
				golden(t, tc.golden, r.stdout)
			}
		})
	}
}

func TestDiffIgnoreFromConfig(t *testing.T) {
	detectFixtures(t)
	hcl := `registry = "registry.example.test/team"
ignore = ["/etc/**"]
image "app" {
  ignore = ["/app/**"]
}
`
	if err := os.WriteFile("images.hcl", []byte(hcl), 0o644); err != nil {
		t.Fatal(err)
	}
	// Global ignores apply; /etc/motd's removal is no longer listed.
	r := imgver(t, "diff", "oci:base", "oci:changed")
	if r.code != exitChanged || strings.Contains(r.stdout, "/etc/motd") || !strings.Contains(r.stdout, "/app/run") {
		t.Errorf("global ignore: exit %d\n%s", r.code, r.stdout)
	}
	// --image adds the image's globs: only the Env change is left.
	r = imgver(t, "diff", "--image", "app", "oci:base", "oci:changed")
	if r.code != exitChanged || strings.Contains(r.stdout, "/app/") || !strings.Contains(r.stdout, "env") {
		t.Errorf("image ignore: exit %d\n%s", r.code, r.stdout)
	}
	r = imgver(t, "diff", "--image", "nope", "oci:base", "oci:changed")
	if r.code != exitError || !strings.Contains(r.stderr, `unknown image "nope"`) {
		t.Errorf("unknown image: exit %d %s", r.code, r.stderr)
	}
}

func TestFingerprintCommand(t *testing.T) {
	detectFixtures(t)
	fp := func(args ...string) string {
		t.Helper()
		r := imgver(t, append([]string{"fingerprint"}, args...)...)
		if r.code != exitOK {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		if !strings.HasPrefix(r.stdout, "sha256:") || len(r.stdout) != len("sha256:")+64+1 {
			t.Fatalf("output %q", r.stdout)
		}
		return r.stdout
	}
	if fp("oci:base") != fp("oci:same") {
		t.Error("base and same differ")
	}
	if fp("oci:base") == fp("oci:changed") {
		t.Error("base and changed agree")
	}
	if fp("--no-default-ignores", "oci:base") == fp("--no-default-ignores", "oci:same") {
		t.Error("base and same agree without default ignores")
	}
	if r := imgver(t, "fingerprint", "oci:nothing"); r.code != exitError {
		t.Errorf("exit %d for a missing image", r.code)
	}
}

// TestDiffHelpListsEveryRule checks that diff's help is generated from the
// rules: every built-in rule appears with its one-line summary.
func TestDiffHelpListsEveryRule(t *testing.T) {
	t.Parallel()
	res := imgver(t, "diff", "--help")
	if res.code != exitOK {
		t.Fatalf("exit code %d, want %d\nstderr:\n%s", res.code, exitOK, res.stderr)
	}
	for _, r := range detect.BuiltinRules() {
		if line := fmt.Sprintf("%-19s %s\n", r.Name, r.Summary()); !strings.Contains(res.stdout, line) {
			t.Errorf("help does not list rule %s as %q:\n%s", r.Name, line, res.stdout)
		}
	}
}

// TestDiffBinary runs the built binary: exit codes reach the shell.
func TestDiffBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
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
		r := runBinary(t, "", nil, tc.args...)
		if r.code != tc.code || !strings.HasPrefix(r.stdout, tc.out) {
			t.Errorf("imgver %s: exit %d, output %q; want %d, %q", strings.Join(tc.args, " "), r.code, r.stdout, tc.code, tc.out)
		}
	}
}

// TestE2EDockerDaemon: the docker-daemon: transport against a real Docker
// engine, as the real binary: an image loaded into the engine is SAME as
// its OCI layout, CHANGED against a rebuild with one mode bit changed,
// passes imgver check, and a missing image is a clear error.
func TestE2EDockerDaemon(t *testing.T) {
	host := e2eDockerHost(t)
	env := []string{"DOCKER_HOST=" + host}
	files := func(mode int64) []imagebuild.File {
		return []imagebuild.File{imagebuild.Dir("/app"), {Path: "/app/run", Mode: mode, Content: "\x7fELF app\n"}}
	}
	cfg := imagebuild.Config{Entrypoint: []string{"/app/run"}}
	img := imagetest.Image(t, imagebuild.Build{MTime: time.Unix(1_700_000_000, 0)}, nil, cfg, rootfs, files(0o755))
	tag := dockerLoad(t, "imgver-e2e/app", img)
	dir := t.TempDir()
	rebuilt := filepath.Join(dir, "rebuilt")
	imagetest.WriteLayout(t, rebuilt, imagetest.Image(t, imagebuild.Build{MTime: time.Unix(1_800_000_000, 0), GzipLevel: 9}, nil, cfg, rootfs, files(0o755)))
	modeBit := filepath.Join(dir, "mode")
	imagetest.WriteLayout(t, modeBit, imagetest.Image(t, imagebuild.Build{MTime: time.Unix(1_800_000_000, 0)}, nil, cfg, rootfs, files(0o754)))
	ref := "docker-daemon:" + tag.String()

	if r := runBinary(t, dir, env, "diff", ref, "oci:rebuilt"); r.code != 0 || !strings.HasPrefix(r.stdout, "SAME") {
		t.Errorf("diff with a rebuild: %+v", r)
	}
	if r := runBinary(t, dir, env, "diff", ref, "oci:mode"); r.code != 1 || !strings.Contains(r.stdout, "/app/run") || !strings.Contains(r.stdout, "0755 -> 0754") {
		t.Errorf("diff with a mode change: %+v", r)
	}
	fa := runBinary(t, dir, env, "fingerprint", ref)
	fb := runBinary(t, dir, env, "fingerprint", "oci:rebuilt")
	if fa.code != 0 || fa.stdout != fb.stdout {
		t.Errorf("fingerprints: %+v vs %+v", fa, fb)
	}
	if r := runBinary(t, dir, env, "check", ref); r.code != 0 {
		t.Errorf("check: %+v", r)
	}
	r := runBinary(t, dir, env, "diff", "docker-daemon:imgver-e2e/missing:1", "oci:rebuilt")
	if first, _, _ := strings.Cut(r.stderr, "\n"); r.code != 2 || !strings.Contains(first, `"docker-daemon:imgver-e2e/missing:1"`) {
		t.Errorf("missing image: %+v", r)
	}
}
