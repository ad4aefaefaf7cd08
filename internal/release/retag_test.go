package release

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgver/imgver/internal/config"
	"github.com/imgver/imgver/internal/imagetest"
	"github.com/imgver/imgver/internal/regtest"
)

// retagSetup starts an in-process registry, writes a config whose images
// live there, and publishes image a and b under the short SHA "abcdef0".
func retagSetup(t *testing.T, pins string) (*config.Config, map[string]v1.Hash) {
	t.Helper()
	host := regtest.Start(t)
	cfg := testConfig(t, host+"/acme", pins)
	digests := map[string]v1.Hash{}
	for i, n := range []string{"a", "b"} {
		digests[n] = regtest.Push(t, host+"/acme/"+n+":abcdef0", imagetest.Random(t, int64(i), time.Unix(0, 0)))
	}
	return cfg, digests
}

func TestReleaseRetag(t *testing.T) {
	const pins = "export c_VER=\"v0.9.0\"\n"
	cfg, digests := retagSetup(t, pins)
	o := RetagOptions{Commit: "abcdef0123456789", Now: time.Now()}

	o.DryRun = true
	pinned, tags, err := ReleaseRetag(t.Context(), cfg, "v1.1.0", o)
	if err != nil || len(pinned) != 2 || len(tags) != 2 {
		t.Fatalf("dry run: %v %v %v", pinned, tags, err)
	}
	if _, ok := regtest.Digest(t, cfg.Images[0].Repository+":v1.1.0"); ok {
		t.Error("dry run tagged")
	}
	if b, _ := os.ReadFile(cfg.PinFile); string(b) != pins {
		t.Error("dry run wrote the pin file")
	}

	o.DryRun = false
	if _, _, err := ReleaseRetag(t.Context(), cfg, "v1.1.0", o); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b"} {
		got, ok := regtest.Digest(t, cfg.Images[0].Repository[:strings.LastIndex(cfg.Images[0].Repository, "/")]+"/"+n+":v1.1.0")
		if !ok || got != digests[n] {
			t.Errorf("%s:v1.1.0 = %v (%v), want %v", n, got, ok, digests[n])
		}
	}
	f, err := Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := f.Lookup("a"); p.Version != "v1.1.0" {
		t.Errorf("a not pinned: %+v", p)
	}
	// Run again: nothing left to pin or tag.
	if pinned, tags, err := ReleaseRetag(t.Context(), cfg, "v1.1.0", o); err != nil || len(pinned)+len(tags) != 0 {
		t.Errorf("second run: %v %v %v", pinned, tags, err)
	}
}

func TestReleaseRetagRefusesAndWritesNothing(t *testing.T) {
	t.Run("tag points elsewhere", func(t *testing.T) {
		cfg, _ := retagSetup(t, "")
		other := cfg.Images[0].Repository + ":abcdef0"
		// b:v2.0.0 already exists and points at a's image; a comes first, so
		// a tag made before every target was checked would show on a.
		regtest.Tag(t, other, cfg.Images[1].Repository+":v2.0.0")
		_, _, err := ReleaseRetag(t.Context(), cfg, "v2.0.0", RetagOptions{Commit: "abcdef0", Now: time.Now()})
		var ce *TagConflictError
		if !errors.As(err, &ce) {
			t.Fatalf("error %v, want a TagConflictError", err)
		}
		if b, _ := os.ReadFile(cfg.PinFile); len(b) != 0 {
			t.Errorf("pin file written: %q", b)
		}
		if _, ok := regtest.Digest(t, cfg.Images[0].Repository+":v2.0.0"); ok {
			t.Error("a was tagged although b's tag conflicts")
		}
		// --force moves it.
		if _, _, err := ReleaseRetag(t.Context(), cfg, "v2.0.0", RetagOptions{Commit: "abcdef0", Force: true, Now: time.Now()}); err == nil {
			t.Error("force with c unpublished: want an error about c")
		}
	})
	t.Run("source missing", func(t *testing.T) {
		cfg, _ := retagSetup(t, "")
		_, _, err := ReleaseRetag(t.Context(), cfg, "v2.0.0", RetagOptions{Commit: "abcdef0", Now: time.Now()})
		if err == nil || !strings.Contains(err.Error(), "acme/c:abcdef0") {
			t.Fatalf("error %v, want one naming c's SHA tag", err)
		}
		if b, _ := os.ReadFile(cfg.PinFile); len(b) != 0 {
			t.Errorf("pin file written: %q", b)
		}
		if _, ok := regtest.Digest(t, cfg.Images[0].Repository+":v2.0.0"); ok {
			t.Error("a was tagged although c failed")
		}
	})
}
