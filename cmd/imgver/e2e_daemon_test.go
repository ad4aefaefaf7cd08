package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/daemon"

	"github.com/imgver/imgver/internal/imagebuild"
)

// e2eDockerHost returns the DOCKER_HOST of the real Docker engine
// scripts/test.sh starts (IMGVER_E2E_DOCKER_HOST, from scripts/dockerd.sh).
func e2eDockerHost(t *testing.T) string {
	t.Helper()
	host := e2eEnv(t, "IMGVER_E2E_DOCKER_HOST", "a Docker engine")
	t.Setenv("DOCKER_HOST", host)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if _, err := daemon.Image(name.MustParseReference("imgver-e2e/none:none"), daemon.WithContext(ctx)); err != nil && !strings.Contains(err.Error(), "No such image") && !strings.Contains(err.Error(), "no such image") {
		t.Fatalf("IMGVER_E2E_DOCKER_HOST=%s does not answer: %v", host, err)
	}
	return host
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
	img := mustImage(t)(imagebuild.Build{MTime: time.Unix(1_700_000_000, 0)}.Image(nil, cfg, rootfs, files(0o755)))
	tag, err := name.NewTag("imgver-e2e/app:" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := daemon.Write(tag, img, daemon.WithContext(t.Context())); err != nil {
		t.Fatalf("loading the image into the engine: %v", err)
	}
	dir := t.TempDir()
	rebuilt := filepath.Join(dir, "rebuilt")
	if err := imagebuild.WriteLayout(rebuilt, mustImage(t)(imagebuild.Build{MTime: time.Unix(1_800_000_000, 0), GzipLevel: 9}.Image(nil, cfg, rootfs, files(0o755)))); err != nil {
		t.Fatal(err)
	}
	modeBit := filepath.Join(dir, "mode")
	if err := imagebuild.WriteLayout(modeBit, mustImage(t)(imagebuild.Build{MTime: time.Unix(1_800_000_000, 0)}.Image(nil, cfg, rootfs, files(0o754)))); err != nil {
		t.Fatal(err)
	}
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
