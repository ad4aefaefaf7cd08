package detect

import (
	"archive/tar"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSharedBase(t *testing.T) {
	t.Parallel()
	upper := []f{file("srv/a", "1"), file("srv/b", "2")}
	tmp := dir("tmp/")
	tmp.mode = 0o1777
	parents := []f{dir("var/"), dir("var/log/"), tmp}
	tests := []struct {
		name         string
		a, b         spec
		wantShortcut string
		wantReads    int32
		want         []string
	}{
		// Without their parent dirs in the upper, /var/log and /tmp might be
		// base symlinks or files a full read turns into dirs: read the base.
		{name: "noise layer on top", a: base(), b: base().addLayer(file("var/log/x", "1"), file("tmp/y", "2")),
			wantReads: 3},
		{name: "noise in uppers with their parent dirs", a: base().addLayer(parents...), b: base().addLayer(append(parents, file("var/log/x", "1"), file("tmp/y", "2"))...),
			wantShortcut: "shared-base", wantReads: 2},
		{name: "uppers split differently", a: base().addLayer(upper...), b: base().addLayer(upper[:1]...).addLayer(upper[1:]...),
			wantShortcut: "shared-base", wantReads: 3},
		{name: "upper rewrites a base file unchanged", a: base(), b: base().addLayer(file("etc/passwd", "root:x:0:0::/root:/bin/sh\n")),
			wantReads: 3},
		{name: "upper whiteout", a: base(), b: base().addLayer(f{name: "etc/.wh.passwd"}),
			wantReads: 3, want: []string{"removed /etc/passwd"}},
		{name: "hard link into the base vs copy", a: base().addLayer(f{name: "srv/p", typ: tar.TypeLink, link: "etc/passwd"}),
			b:         base().addLayer(file("srv/p", "root:x:0:0::/root:/bin/sh\n")),
			wantReads: 4, want: []string{"modified /srv/p hardlink"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var reads atomic.Int32
			c := newComparer(t, WithProgress(func(Progress) { reads.Add(1) }))
			a, b := writeOCI(t, tc.a.image(t)), writeOCI(t, tc.b.image(t))
			res := diffWith(t, c, a, b)
			if d := cmp.Diff(tc.want, summarise(res)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			if got := res.Platforms[0].Shortcut; got != tc.wantShortcut {
				t.Errorf("shortcut %q, want %q", got, tc.wantShortcut)
			}
			if got := reads.Load(); got != tc.wantReads {
				t.Errorf("%d layers read, want %d", got, tc.wantReads)
			}
			if (fingerprint(t, a) == fingerprint(t, b)) != (res.Verdict == Same) {
				t.Error("fingerprints disagree with the verdict")
			}
		})
	}
}
