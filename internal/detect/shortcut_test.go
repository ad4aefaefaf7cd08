package detect

import (
	"archive/tar"
	"testing"
)

// TestSharedBaseAgreesWithFullRead checks the shared-base shortcut against
// the fingerprints, which always merge every layer: Diff must say same
// exactly when the fingerprints are equal.
func TestSharedBaseAgreesWithFullRead(t *testing.T) {
	t.Parallel()
	withCache := func() spec {
		return base().add(dir("srv/"), dir("srv/cache/"), file("srv/cache/data", "kept"))
	}
	tests := []struct {
		name string
		a, b spec
		opts []Option
	}{
		{
			// /tmp/x sorts before its target, so the full read names the
			// base file /usr/lib/libx.so.1 as a link to /tmp/x.
			name: "noise hard link into the base",
			a:    base().addLayer(file("srv/a", "1")),
			b:    base().addLayer(file("srv/a", "1"), f{name: "tmp/x", typ: tar.TypeLink, link: "usr/lib/libx.so.1"}),
		},
		{
			// A noise file replacing a base dir removes the dir's
			// contents, which are not noise.
			name: "noise file replaces a base dir",
			a:    withCache().addLayer(file("srv/a", "1")),
			b:    withCache().addLayer(file("srv/a", "1"), file("srv/cache", "x")),
			opts: []Option{WithIgnore("/srv/cache")},
		},
		{
			// Both end with the dir; only a removes the base's contents.
			name: "file then dir over a base dir",
			a:    withCache().addLayer(file("srv/cache", "x")).addLayer(dir("srv/cache/")),
			b:    withCache().addLayer(dir("srv/cache/")).addLayer(dir("srv/cache/")),
		},
		{
			// a links to a removed file (dangling), b copies the base file.
			name: "hard link before or after a whiteout of its target",
			a:    base().addLayer(f{name: "etc/.wh.passwd"}).addLayer(f{name: "srv/p", typ: tar.TypeLink, link: "etc/passwd"}),
			b:    base().addLayer(f{name: "srv/p", typ: tar.TypeLink, link: "etc/passwd"}).addLayer(f{name: "etc/.wh.passwd"}),
		},
		{
			name: "noise whiteout of a base dir",
			a:    withCache().addLayer(file("srv/a", "1")),
			b:    withCache().addLayer(file("srv/a", "1"), f{name: "srv/.wh.cache"}),
			opts: []Option{WithIgnore("/srv/cache")},
		},
		{
			name: "noise opaque dir over a base dir",
			a:    withCache().addLayer(file("srv/a", "1")),
			b:    withCache().addLayer(file("srv/a", "1"), dir("srv/cache/"), f{name: "srv/cache/.wh..wh..opq"}),
			opts: []Option{WithIgnore("/srv/cache")},
		},
		{
			// b's full read turns the base symlink /srv into a directory.
			name: "noise below a base symlink",
			a:    base().add(symlink("srv", "opt")).addLayer(file("app/a", "1")),
			b:    base().add(symlink("srv", "opt")).addLayer(file("app/a", "1"), file("srv/x", "1")),
			opts: []Option{WithIgnore("/srv/**")},
		},
		{
			name: "noise below a base file the uppers both rewrite",
			a:    base().add(file("srv", "f")).addLayer(file("srv", "g")),
			b:    base().add(file("srv", "f")).addLayer(file("srv", "g"), file("srv/x", "1")),
			opts: []Option{WithIgnore("/srv/**")},
		},
		{
			// A link to a path no layer has keeps its own mode.
			name: "dangling hard links of other modes",
			a:    base().addLayer(f{name: "srv/p", typ: tar.TypeLink, link: "nowhere", mode: 0o644}),
			b:    base().addLayer(f{name: "srv/p", typ: tar.TypeLink, link: "nowhere", mode: 0o600}),
		},
		{
			name: "noise hard link, target sorts first",
			a:    base().addLayer(file("srv/a", "1")),
			b:    base().addLayer(file("srv/a", "1"), f{name: "var/log/x", typ: tar.TypeLink, link: "etc/passwd"}),
		},
		{
			name: "noise dir replaces a base file",
			a:    base().add(file("srv", "f")).addLayer(file("app/a", "1")),
			b:    base().add(file("srv", "f")).addLayer(file("app/a", "1"), dir("srv/")),
			opts: []Option{WithIgnore("/srv")},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, b := writeOCI(t, tc.a.image(t)), writeOCI(t, tc.b.image(t))
			res := diff(t, a, b, tc.opts...)
			fa, fb := fingerprint(t, a, tc.opts...), fingerprint(t, b, tc.opts...)
			if (fa == fb) != (res.Verdict == Same) {
				t.Errorf("verdict %s (shortcut %q, %v), but fingerprints equal: %v", res.Verdict, res.Platforms[0].Shortcut, summarise(res), fa == fb)
			}
		})
	}
}

// TestNoiseDirAgreesWithFingerprint checks Diff against the fingerprints
// where a directory is noise on one side only (an implicit directory that
// holds nothing but noise), with no shared base to take a shortcut.
func TestNoiseDirAgreesWithFingerprint(t *testing.T) {
	t.Parallel()
	noDefault := dir("opt/x/")
	noDefault.mode = 0o700
	tests := []struct {
		name string
		a, b spec
		opts []Option
	}{
		{
			name: "symlink vs implicit dir of noise",
			a:    spec{layers: [][]f{{file("bin/app", "1"), symlink("srv", "opt")}}},
			b:    spec{layers: [][]f{{file("bin/app", "1"), file("srv/x.log", "1")}}},
			opts: []Option{WithIgnore("**/*.log")},
		},
		{
			name: "explicit 0700 dir vs implicit dir of noise",
			a:    spec{layers: [][]f{{file("bin/app", "1"), noDefault, file("opt/x/a.log", "1")}}},
			b:    spec{layers: [][]f{{file("bin/app", "1"), file("opt/x/a.log", "1")}}},
			opts: []Option{WithIgnore("**/*.log")},
		},
		{
			name: "explicit 0755 dir vs implicit dir of noise",
			a:    spec{layers: [][]f{{file("bin/app", "1"), dir("opt/"), dir("opt/x/"), file("opt/x/a.log", "1")}}},
			b:    spec{layers: [][]f{{file("bin/app", "1"), file("opt/x/a.log", "1")}}},
			opts: []Option{WithIgnore("**/*.log")},
		},
		{
			name: "empty explicit 0755 dir vs implicit dir of noise",
			a:    spec{layers: [][]f{{file("bin/app", "1"), dir("opt/"), dir("opt/x/")}}},
			b:    spec{layers: [][]f{{file("bin/app", "1"), file("opt/x/a.log", "1")}}},
			opts: []Option{WithIgnore("**/*.log")},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, b := writeOCI(t, tc.a.image(t)), writeOCI(t, tc.b.image(t))
			res := diff(t, a, b, tc.opts...)
			fa, fb := fingerprint(t, a, tc.opts...), fingerprint(t, b, tc.opts...)
			if (fa == fb) != (res.Verdict == Same) {
				t.Errorf("verdict %s (%v), but fingerprints equal: %v", res.Verdict, summarise(res), fa == fb)
			}
		})
	}
}
