package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/imgver/imgver/internal/imagebuild"
	"github.com/imgver/imgver/internal/regtest"
)

// TestPublishTimeout: a registry that stops answering in the middle of a
// publish fails it at --timeout (exit 2), saying so and naming the image.
func TestPublishTimeout(t *testing.T) {
	t.Parallel()
	stop := make(chan struct{})
	f := &fault{times: -1, misbehave: hang(stop),
		match: func(string) func(*http.Request) bool {
			return func(r *http.Request) bool {
				return r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/")
			}
		}}
	layer := ""
	f.layer.Store(&layer)
	host := regtest.StartBehind(t, f.wrap)
	t.Cleanup(func() { close(stop) }) // before the server closes
	dir := t.TempDir()
	cfg := filepath.Join(dir, "images.hcl")
	writeFile(t, cfg, fmt.Sprintf("registry = %q\npin_file = \"pins.src\"\nimage \"a\" {\n  candidate = \"oci:build/a\"\n}\n", host+"/acme"))
	writeFile(t, filepath.Join(dir, "pins.src"), "")
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := imagebuild.WriteLayout(filepath.Join(dir, "build", "a"), img); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"--config", cfg, "publish", "--commit", "0123456789abcdef", "--no-check", "--timeout", "2s"}, strings.NewReader(""), &stdout, &stderr)
	if code != 2 {
		t.Fatalf("exit %d, want 2\n%s%s", code, stdout.String(), stderr.String())
	}
	first, _, _ := strings.Cut(stderr.String(), "\n")
	for _, want := range []string{"timed out after 2s (--timeout)", "pushing image a to " + host + "/acme/a:0123456"} {
		if !strings.Contains(first, want) {
			t.Errorf("first line of stderr %q lacks %q", first, want)
		}
	}
}

// TestPublishFlags: bad flags are exit 2 before anything is read.
func TestPublishFlags(t *testing.T) {
	t.Parallel()
	cfg, _ := monorepo(t, "")
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--mode", "some"}, `invalid argument "some" for "--mode" flag: want changed or all`},
		{[]string{"--format", "yaml"}, `invalid argument "yaml" for "--format" flag`},
		{[]string{"--jobs", "-1"}, "--jobs must be positive"},
		{[]string{"--candidate", "x"}, `--candidate "x": want NAME=REF`},
		{[]string{"--candidate", "nope=oci:x"}, `unknown image "nope"`},
	} {
		res := imgver(t, append([]string{"--config", cfg, "publish", "--commit", "0123456789abcdef"}, tc.args...)...)
		if res.code != 2 || !strings.Contains(res.stderr, tc.msg) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, res.code, res.stderr, tc.msg)
		}
	}
}
