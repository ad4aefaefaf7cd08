package release

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imgver/imgver/internal/config"
	"github.com/imgver/imgver/internal/config/configtest"
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

func TestParseReleaseVersion(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in       string
		ok       bool
		floating []string
	}{
		{"v1.2.3", true, []string{"v1.2", "v1"}},
		{"release-1.2.3", true, []string{"release-1.2", "release-1"}},
		{"1.2.3", true, []string{"1.2", "1"}},
		{"v10.20.30", true, []string{"v10.20", "v10"}},
		{"v1.2.3-rc.1", true, []string{"v1.2", "v1"}},
		{"v1.2", false, nil},
		{"v1", false, nil},
		{"v01.2.3", false, nil},
		{"latest", false, nil},
		{"v1.2.3.4", false, nil},
	} {
		rv, ok := parseReleaseVersion(tc.in)
		if ok != tc.ok {
			t.Errorf("%s: ok %v, want %v", tc.in, ok, tc.ok)
			continue
		}
		if ok {
			if diff := cmp.Diff(tc.floating, rv.floating()); diff != "" {
				t.Errorf("%s: floating (-want +got):\n%s", tc.in, diff)
			}
		}
	}
}

// TestReleaseRetagFloatingDated: --dated and --floating tags, a floating tag
// that moves only forward in semantic version order (not string order), both
// VRO forms, and pre-releases that never move a floating tag.
func TestReleaseRetagFloatingDated(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 30, 23, 30, 0, 0, time.FixedZone("UTC-5", -5*3600)) // 2026-12-01 in UTC
	type tag struct {
		Target, Kind, Digest, Kept string
		Existed                    bool
	}
	for _, tc := range []struct {
		name    string
		version string
		// before: tag -> "new" (the image being released) or "old"/"older"
		// (other images) already in the repository.
		before   map[string]string
		floating bool
		dated    bool
		want     []tag
		// after: where every tag points after the run.
		after   map[string]string
		wantErr bool
	}{
		{
			name: "fresh repository", version: "v1.2.3", floating: true, dated: true,
			want: []tag{
				{Target: "v1.2.3", Kind: TagVersion, Digest: "new"},
				{Target: "v1.2.3-20261201", Kind: TagDated, Digest: "new"},
				{Target: "v1.2", Kind: TagFloating, Digest: "new"},
				{Target: "v1", Kind: TagFloating, Digest: "new"},
			},
			after: map[string]string{"v1.2.3": "new", "v1.2.3-20261201": "new", "v1.2": "new", "v1": "new"},
		},
		{
			name: "floating tags move forward", version: "v1.3.0", floating: true,
			before: map[string]string{"v1.2.0": "old", "v1.2": "old", "v1": "old"},
			want: []tag{
				{Target: "v1.3.0", Kind: TagVersion, Digest: "new"},
				{Target: "v1.3", Kind: TagFloating, Digest: "new"},
				{Target: "v1", Kind: TagFloating, Digest: "new"},
			},
			after: map[string]string{"v1.2": "old", "v1.3": "new", "v1": "new"},
		},
		{
			// v1.10.0 > v1.9.0 in semantic version order, not in string order.
			name: "a floating tag never moves back", version: "v1.9.0", floating: true,
			before: map[string]string{"v1.10.0": "old", "v1.10": "old", "v1": "old", "v1.9.0-rc.1": "older", "v1.9": "older"},
			want: []tag{
				{Target: "v1.9.0", Kind: TagVersion, Digest: "new"},
				{Target: "v1.9", Kind: TagFloating, Digest: "new"},
				{Target: "v1", Kind: TagFloating, Digest: "new", Kept: "v1.10.0"},
			},
			after: map[string]string{"v1.9": "new", "v1": "old", "v1.10": "old"},
		},
		{
			// v1 points at no higher release (v2.0.0 is another line): it moves.
			name: "another major line does not hold it", version: "v1.4.0", floating: true,
			before: map[string]string{"v2.0.0": "old", "v1": "old"},
			want: []tag{
				{Target: "v1.4.0", Kind: TagVersion, Digest: "new"},
				{Target: "v1.4", Kind: TagFloating, Digest: "new"},
				{Target: "v1", Kind: TagFloating, Digest: "new"},
			},
			after: map[string]string{"v1": "new", "v2.0.0": "old"},
		},
		{
			name: "release- form", version: "release-1.2.3", floating: true,
			before: map[string]string{"release-1.5.0": "old", "release-1": "old", "v1": "older"},
			want: []tag{
				{Target: "release-1.2.3", Kind: TagVersion, Digest: "new"},
				{Target: "release-1.2", Kind: TagFloating, Digest: "new"},
				{Target: "release-1", Kind: TagFloating, Digest: "new", Kept: "release-1.5.0"},
			},
			after: map[string]string{"release-1.2": "new", "release-1": "old", "v1": "older"},
		},
		{
			name: "a pre-release moves no floating tag", version: "v1.3.0-rc.1", floating: true, dated: true,
			before: map[string]string{"v1": "old"},
			want: []tag{
				{Target: "v1.3.0-rc.1", Kind: TagVersion, Digest: "new"},
				{Target: "v1.3.0-rc.1-20261201", Kind: TagDated, Digest: "new"},
			},
			after: map[string]string{"v1": "old"},
		},
		{
			name: "rerun: every tag exists", version: "v1.2.3", floating: true, dated: true,
			before: map[string]string{"v1.2.3": "new", "v1.2.3-20261201": "new", "v1.2": "new", "v1": "new"},
			want: []tag{
				{Target: "v1.2.3", Kind: TagVersion, Digest: "new", Existed: true},
				{Target: "v1.2.3-20261201", Kind: TagDated, Digest: "new", Existed: true},
				{Target: "v1.2", Kind: TagFloating, Digest: "new", Existed: true},
				{Target: "v1", Kind: TagFloating, Digest: "new", Existed: true},
			},
		},
		{
			name: "a dated tag is immutable", version: "v1.2.3", floating: true, dated: true,
			before:  map[string]string{"v1.2.3-20261201": "old"},
			wantErr: true,
			after:   map[string]string{"v1.2.3-20261201": "old", "v1.2.3": "", "v1.2": "", "v1": ""},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			host := regtest.Start(t)
			cfg := configtest.Monorepo(t, `
registry = "`+host+`/acme"
pin_file = "pins.src"
release_pattern = "^(v|release-)[0-9]+\\.[0-9]+\\.[0-9]+(-rc\\.[0-9]+)?$"
image "a" {}
`, "", nil)
			repo := cfg.Images[0].Repository
			digests := map[string]v1.Hash{}
			byDigest := map[string]string{}
			for i, n := range []string{"new", "old", "older"} {
				ref := repo + ":abcdef0"
				if n != "new" {
					ref = repo + ":" + n
				}
				digests[n] = regtest.Push(t, ref, imagetest.Random(t, int64(i), time.Unix(0, 0)))
				byDigest[digests[n].String()] = n
			}
			for tag, n := range tc.before {
				regtest.Tag(t, repo+"@"+digests[n].String(), repo+":"+tag)
			}
			_, tags, err := ReleaseRetag(t.Context(), cfg, tc.version, RetagOptions{
				Commit: "abcdef0123", Floating: tc.floating, Dated: tc.dated, Now: now,
			})
			if tc.wantErr {
				var ce *TagConflictError
				if !errors.As(err, &ce) {
					t.Fatalf("error %v, want a TagConflictError", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			var got []tag
			for _, tg := range tags {
				got = append(got, tag{Target: tg.Target[len(repo)+1:], Kind: tg.Kind, Digest: byDigest[tg.Digest], Kept: tg.Kept, Existed: tg.Existed})
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("taggings (-want +got):\n%s", diff)
			}
			for tag, want := range tc.after {
				d, ok := regtest.Digest(t, repo+":"+tag)
				if gotName := byDigest[d.String()]; ok && gotName != want || !ok && want != "" {
					t.Errorf("%s points at %q (exists %v), want %q", tag, gotName, ok, want)
				}
			}
		})
	}
}
