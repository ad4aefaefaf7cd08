package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgver/imgver/internal/config/configtest"
	"github.com/imgver/imgver/internal/imagebuild"
	"github.com/imgver/imgver/internal/imagetest"
	"github.com/imgver/imgver/internal/regtest"
	"github.com/imgver/imgver/internal/userfile/userfiletest"
)

// TestReleaseRetagFaults: release --retag refuses to move a release tag that
// points at another image unless --force, and a failed run writes nothing.
func TestReleaseRetagFaults(t *testing.T) {
	const pins = "# nothing pinned yet\n"
	const sha = "89abcdef0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		name string
		// conflict: b:v2.0.0 already points at a's image (b, not a, so that
		// a tag made before every target is checked would show on a).
		conflict bool
		// failTag: the registry refuses to store b:v2.0.0.
		failTag bool
		args    []string
		code    int
		msg     string
	}{
		{name: "tag points elsewhere", conflict: true, code: 2, msg: "HOST/acme/b:v2.0.0 already points at DIGEST_A, not at DIGEST_B (use --force to move it)"},
		{name: "tag points elsewhere, dry run", conflict: true, args: []string{"--dry-run"}, code: 2, msg: "already points at"},
		{name: "tag points elsewhere, --force", conflict: true, args: []string{"--force"}, code: 0},
		{name: "registry refuses the tag", failTag: true, code: 2, msg: "tagging HOST/acme/b:89abcde as HOST/acme/b:v2.0.0"},
		{name: "fine", code: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var wrap func(http.Handler) http.Handler
			if tc.failTag {
				f := &fault{times: -1, misbehave: status500, match: func(string) func(*http.Request) bool {
					return func(r *http.Request) bool {
						return r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/acme/b/manifests/v2.0.0")
					}
				}}
				f.layer.Store(new(string))
				wrap = f.wrap
			}
			host := regtest.StartBehind(t, wrap)
			c := configtest.Monorepo(t, fmt.Sprintf("registry = %q\npin_file = \"pins.src\"\nimage \"a\" {}\nimage \"b\" {}\n", host+"/acme"), pins, nil)
			cfg, pinsPath := c.Path, c.PinFile
			b := imagebuild.Build{MTime: time.Unix(1_700_000_000, 0).UTC()}
			digests := map[string]v1.Hash{}
			for _, n := range []string{"a", "b"} {
				img := imagetest.Image(t, b, nil, imagebuild.Config{Cmd: []string{n}}, []imagebuild.File{imagebuild.Reg("/"+n, n)})
				digests[n] = regtest.Push(t, host+"/acme/"+n+":89abcde", img)
			}
			if tc.conflict {
				regtest.Tag(t, host+"/acme/a:89abcde", host+"/acme/b:v2.0.0")
			}
			res := imgver(t, append([]string{"--config", cfg, "release", "v2.0.0", "--retag", "--commit", sha}, tc.args...)...)
			if res.code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", res.code, tc.code, res.stdout, res.stderr)
			}
			tagged := func(n string) (v1.Hash, bool) {
				return regtest.Digest(t, host+"/acme/"+n+":v2.0.0")
			}
			if tc.code != 0 {
				msg := strings.NewReplacer("HOST", host, "DIGEST_A", digests["a"].String(), "DIGEST_B", digests["b"].String()).Replace(tc.msg)
				if first, _, _ := strings.Cut(res.stderr, "\n"); !strings.Contains(first, msg) {
					t.Errorf("first line of stderr %q, want %q in it", first, msg)
				}
				if got := userfiletest.Read(t, pinsPath); got != pins {
					t.Errorf("pin file written:\n%s", got)
				}
				if d, ok := tagged("b"); tc.conflict && (!ok || d != digests["a"]) {
					t.Errorf("b:v2.0.0 moved to %v without --force", d)
				}
				if d, ok := tagged("a"); ok && tc.conflict {
					t.Errorf("a:v2.0.0 made (%v) although b's tag was refused", d)
				}
				return
			}
			for _, n := range []string{"a", "b"} {
				if d, ok := tagged(n); !ok || d != digests[n] {
					t.Errorf("%s:v2.0.0 = %v (found %v), want %v", n, d, ok, digests[n])
				}
			}
			got := timeRE.ReplaceAllString(userfiletest.Read(t, pinsPath), "TIME")
			if want := pins + "\n# TIME -- v2.0.0\na_VER=\"v2.0.0\"\nb_VER=\"v2.0.0\"\n"; got != want {
				t.Errorf("pin file:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// TestE2EReleaseFloating: publish, then release --retag --floating --dated
// with the real binary: the version, dated and floating tags are made, and a
// floating tag that points at a higher release stays there.
func TestE2EReleaseFloating(t *testing.T) {
	t.Parallel()
	r := newE2ERepo(t, regtest.Real(t))
	writeFile(t, r.pins, "")
	if res := runBinary(t, r.dir, nil, "publish", "--commit", r.sha); res.code != 0 {
		t.Fatalf("publish: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	// gateway already has v1.5.0, and v1 points at it.
	old, ok := regtest.Digest(t, r.ref("gateway", "v1.0.0"))
	if !ok {
		t.Fatal("gateway:v1.0.0 is not in the registry")
	}
	for _, tag := range []string{"v1.5.0", "v1"} {
		regtest.Tag(t, r.ref("gateway", "v1.0.0"), r.ref("gateway", tag))
	}
	res := runBinary(t, r.dir, nil, "release", "v1.1.0", "--retag", "--floating", "--dated", "--commit", r.sha)
	if res.code != 0 {
		t.Fatalf("release: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if !strings.Contains(res.stdout, "left "+r.ref("gateway", "v1")+" where it is: it points at v1.5.0, a higher release") {
		t.Errorf("the output does not say that gateway:v1 stays:\n%s", res.stdout)
	}
	dated := "v1.1.0-" + time.Now().UTC().Format("20060102")
	for _, n := range []string{"gateway", "worker", "console", "reports"} {
		want := layoutDigest(t, filepath.Join(r.dir, "build", n))
		for _, tag := range []string{"v1.1.0", dated, "v1.1", "v1"} {
			w := want
			if n == "gateway" && tag == "v1" {
				w = old
			}
			if got, ok := regtest.Digest(t, r.ref(n, tag)); !ok || got != w {
				t.Errorf("%s = %v (found %v), want %v", r.ref(n, tag), got, ok, w)
			}
		}
	}
}
