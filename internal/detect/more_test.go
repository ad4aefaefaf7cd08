package detect

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/imgver/imgver/internal/detect/normalise"
)

func TestIgnoreGlobs(t *testing.T) {
	t.Parallel()
	a := writeOCI(t, base().image(t))
	b := writeOCI(t, base().addLayer(file("app/cache/x", "1"), file("app/cache/y", "2"), file("srv/z", "1")).image(t))
	tests := []struct {
		name string
		opts []Option
		want []string
	}{
		{name: "no globs", want: []string{"added /app/cache", "added /app/cache/x", "added /app/cache/y", "added /srv", "added /srv/z"}},
		{name: "glob without slash", opts: []Option{WithIgnore("app/cache/**")}, want: []string{"added /srv", "added /srv/z"}},
		{name: "glob with slash", opts: []Option{WithIgnore("/app/cache/*", "/srv/**")}},
		{name: "without default ignores keeps user globs", opts: []Option{WithoutDefaultIgnores(), WithIgnore("/app/cache/**", "/srv/**")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := diff(t, a, b, tc.opts...)
			if d := cmp.Diff(tc.want, summarise(res)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			if (fingerprint(t, a, tc.opts...) == fingerprint(t, b, tc.opts...)) != (res.Verdict == Same) {
				t.Error("fingerprints disagree with the verdict")
			}
		})
	}
	if _, err := New(WithIgnore("[")); err == nil {
		t.Error("a bad glob is accepted")
	}
}

func TestIgnoredSummary(t *testing.T) {
	t.Parallel()
	a := writeOCI(t, base().image(t))
	b := writeOCI(t, base().addLayer(file("var/lib/apt/lists/a", "1"), file("var/lib/apt/lists/b", "1"), file("var/log/x.log", "1")).
		withConfig(func(c *v1ConfigFile) { c.Config.Labels = map[string]string{"vcs-ref": "x"} }).image(t))
	res := diff(t, a, b)
	want := IgnoredSummary{Paths: 3, Rules: map[string]int{"apt-lists": 2, "logs": 1}, Labels: []string{"vcs-ref"}}
	if d := cmp.Diff(want, res.Platforms[0].Ignored); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestNoiseRules(t *testing.T) {
	t.Parallel()
	// Every glob of every default rule ignores a sample path, and the
	// directory a "/**" glob hangs from is not ignored.
	m := newMatcher(defaultOptions())
	for _, r := range DefaultRules {
		for _, g := range r.Globs {
			sample := strings.NewReplacer("**", "x/y", "*", "x").Replace(g)
			if got := m.match(sample); got != r.Name {
				t.Errorf("%s: %s matched by %q, want %q", g, sample, got, r.Name)
			}
			if root, ok := strings.CutSuffix(g, "/**"); ok {
				root = strings.ReplaceAll(root, "*", "x")
				if got := m.match(root); got != "" {
					t.Errorf("%s: the directory %s itself is ignored by %q", g, root, got)
				}
			}
		}
	}
	for _, p := range []string{"/var/lib/apt", "/etc/passwd", "/etc/ssl/certs/ca-certificates.crt", "/var/lib/dpkg/status", "/home/u/.bashrc", "/usr/lib/x.pyc"} {
		if got := m.match(p); got != "" {
			t.Errorf("%s ignored by %q", p, got)
		}
	}
}

func TestPycacheSource(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"/app/__pycache__/mod.cpython-312.pyc":       "/app/mod.py",
		"/app/__pycache__/mod.cpython-312.opt-1.pyc": "/app/mod.py",
		"/app/mod.pyc":          "/app/mod.py",
		"/app/mod.py":           "",
		"/app/__pycache__/.pyc": "",
	} {
		if got := pycacheSource(in); got != want {
			t.Errorf("pycacheSource(%s) = %q, want %q", in, got, want)
		}
	}
}

func TestLayerIndexes(t *testing.T) {
	t.Parallel()
	a := writeOCI(t, base().image(t))
	b := writeOCI(t, base().addLayer(file("bin/app", "new")).addLayer(f{name: "app/.wh.main.py"}).image(t))
	res := diff(t, a, b)
	var got []string
	for _, p := range res.Platforms {
		for _, c := range append(append(p.Added, p.Removed...), p.Modified...) {
			got = append(got, fmt.Sprintf("%s %d %d", c.Path, c.LayerA, c.LayerB))
		}
	}
	if d := cmp.Diff([]string{"/app/main.py 1 3", "/bin/app 0 2"}, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestTextDiff(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("line\n", MaxTextDiffSize/5+1)
	a := writeOCI(t, base().add(file("app/bin.dat", "\x00\x01"), file("app/big.txt", big)).image(t))
	b := writeOCI(t, base().
		edit("app/config.txt", func(e *f) { e.content = "a=1\nb=20\nc=3\n" }).
		add(file("app/bin.dat", "\x00\x02"), file("app/big.txt", big+"x\n")).image(t))
	res := diff(t, a, b)
	diffs := map[string]string{}
	for _, c := range res.Platforms[0].Modified {
		diffs[c.Path] = c.Diff
	}
	want := map[string]string{
		"/app/bin.dat":    "",
		"/app/big.txt":    "",
		"/app/config.txt": "--- a/app/config.txt\n+++ b/app/config.txt\n@@ -1,3 +1,3 @@\n a=1\n-b=2\n+b=20\n c=3\n",
	}
	if d := cmp.Diff(want, diffs); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestUnifiedDiff(t *testing.T) {
	t.Parallel()
	var a, b strings.Builder
	for i := 1; i <= 30; i++ {
		fmt.Fprintf(&a, "%d\n", i)
		switch i {
		case 5:
			b.WriteString("five\n")
		case 25:
		default:
			fmt.Fprintf(&b, "%d\n", i)
		}
	}
	b.WriteString("end")
	got := unifiedDiff("a/x", "b/x", a.String(), b.String())
	want := `--- a/x
+++ b/x
@@ -2,7 +2,7 @@
 2
 3
 4
-5
+five
 6
 7
 8
@@ -22,9 +22,9 @@
 22
 23
 24
-25
 26
 27
 28
 29
 30
+end
\ No newline at end of file
`
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

// upperNormaliser treats *.up files case-insensitively.
type upperNormaliser struct{ calls atomic.Int32 }

func (n *upperNormaliser) Name() string                    { return "upper" }
func (n *upperNormaliser) Match(p string, size int64) bool { return strings.HasSuffix(p, ".up") }
func (n *upperNormaliser) Digest(r io.Reader) (string, error) {
	n.calls.Add(1)
	// Read only the first 4 bytes: the caller must drain the rest.
	b := make([]byte, 4)
	k, _ := io.ReadFull(r, b)
	if bytes.HasPrefix(b[:k], []byte("BIN")) {
		return "", fmt.Errorf("binary: %w", normalise.ErrNotApplicable)
	}
	h := sha256.Sum256(bytes.ToUpper(b[:k]))
	return "sha256:" + hex.EncodeToString(h[:]), nil
}

func TestNormaliserContract(t *testing.T) {
	t.Parallel()
	img := func(content string) string {
		return writeOCI(t, base().add(file("app/x.up", content), file("app/after", "z")).image(t))
	}
	tests := []struct {
		name string
		a, b string
		opts []Option
		want []string
	}{
		{name: "normalised equal", a: "abcd-rest", b: "ABCD-other and longer"},
		{name: "normalised differ", a: "abcd", b: "abce", want: []string{"modified /app/x.up content"}},
		{name: "not applicable: raw bytes", a: "BIN1", b: "BIN2", want: []string{"modified /app/x.up content"}},
		{name: "not applicable: raw bytes equal", a: "BIN1", b: "BIN1"},
		{name: "switched off", a: "abcd", b: "ABCD", opts: []Option{WithoutNormalisers("upper")}, want: []string{"modified /app/x.up content"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n := &upperNormaliser{}
			opts := append([]Option{WithNormalisers(n)}, tc.opts...)
			a, b := img(tc.a), img(tc.b)
			res := diff(t, a, b, opts...)
			if d := cmp.Diff(tc.want, summarise(res)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			if (fingerprint(t, a, opts...) == fingerprint(t, b, opts...)) != (res.Verdict == Same) {
				t.Error("fingerprints disagree with the verdict")
			}
		})
	}
	if _, err := New(WithoutNormalisers("nope")); err == nil || !strings.Contains(err.Error(), `unknown normaliser "nope"`) {
		t.Errorf("an unknown normaliser name: %v", err)
	}
	// The raw digest is of all the bytes, though the normaliser read 4.
	lr := newLayerReader([]normaliseNormaliser{&upperNormaliser{}}, false)
	s, err := lr.read(bytes.NewReader(tarBytes(t, tarOpts{}, file("x.up", "BIN-long-content"), file("y", "1"))))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("BIN-long-content"))
	if got, want := s.entries[0].Digest, "sha256:"+hex.EncodeToString(sum[:]); got != want {
		t.Errorf("digest %s, want %s", got, want)
	}
	if len(s.entries) != 2 {
		t.Errorf("%d entries, want 2: the rest of x.up was not drained", len(s.entries))
	}
}

func TestLayerReadOnce(t *testing.T) {
	t.Parallel()
	var reads atomic.Int32
	c, err := New(WithProgress(func(Progress) { reads.Add(1) }))
	if err != nil {
		t.Fatal(err)
	}
	a := writeOCI(t, base().image(t))
	b := writeOCI(t, base().addLayer(file("x", "1")).image(t))
	d := writeOCI(t, base().addLayer(file("x", "2")).image(t))
	for _, pair := range [][2]string{{a, b}, {a, d}, {b, d}} {
		if _, err := c.Diff(t.Context(), pair[0], pair[1]); err != nil {
			t.Fatal(err)
		}
	}
	// 2 base layers + 2 upper layers, each read once.
	if got := reads.Load(); got != 4 {
		t.Errorf("%d layer reads, want 4", got)
	}
}

func TestSnapshot(t *testing.T) {
	t.Parallel()
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	s := base().addLayer(file("var/log/x", "1"), f{name: "opt/a", typ: tar.TypeLink, link: "etc/passwd"})
	snaps, err := c.Snapshot(t.Context(), writeOCI(t, s.image(t)))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range snaps[0].Files {
		got = append(got, fmt.Sprintf("%s %s %04o %d:%d link=%s hardlink=%s layer=%d ignored=%s", e.Path, e.Type, e.Mode, e.UID, e.GID, e.Link, e.Hardlink, e.Layer, e.IgnoredBy))
	}
	want := []string{
		"/ dir 0755 0:0 link= hardlink= layer=-1 ignored=",
		"/app dir 0755 0:0 link= hardlink= layer=1 ignored=",
		"/app/config.txt file 0644 0:0 link= hardlink= layer=1 ignored=",
		"/app/main.py file 0644 0:0 link= hardlink= layer=1 ignored=",
		"/bin dir 0755 0:0 link= hardlink= layer=0 ignored=",
		"/bin/app file 0755 0:0 link= hardlink= layer=0 ignored=",
		"/etc dir 0755 0:0 link= hardlink= layer=0 ignored=",
		"/etc/passwd file 0644 0:0 link= hardlink= layer=0 ignored=",
		"/opt dir 0755 0:0 link= hardlink= layer=-1 ignored=",
		"/opt/a file 0644 0:0 link= hardlink=/etc/passwd layer=2 ignored=",
		"/root dir 0700 0:0 link= hardlink= layer=0 ignored=",
		"/tmp dir 1777 0:0 link= hardlink= layer=0 ignored=",
		"/usr dir 0755 0:0 link= hardlink= layer=0 ignored=",
		"/usr/lib dir 0755 0:0 link= hardlink= layer=0 ignored=",
		"/usr/lib/libx.so symlink 0777 0:0 link=libx.so.1 hardlink= layer=0 ignored=",
		"/usr/lib/libx.so.1 file 0644 0:0 link= hardlink= layer=0 ignored=",
		"/var dir 0755 0:0 link= hardlink= layer=0 ignored=",
		"/var/lib dir 0755 0:0 link= hardlink= layer=0 ignored=",
		"/var/lib/apt dir 0755 0:0 link= hardlink= layer=0 ignored=",
		"/var/lib/apt/lists dir 0755 0:0 link= hardlink= layer=0 ignored=",
		"/var/log dir 0755 0:0 link= hardlink= layer=0 ignored=",
		"/var/log/x file 0644 0:0 link= hardlink= layer=2 ignored=logs",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"/bin/app"}, snaps[0].Config.Cmd); d != "" {
		t.Errorf("cmd (-want +got):\n%s", d)
	}
}

func TestReadLayerErrors(t *testing.T) {
	t.Parallel()
	good := tarBytes(t, tarOpts{}, file("a", strings.Repeat("x", 2000)))
	for name, b := range map[string][]byte{
		"truncated tar":  good[:1000],
		"truncated gzip": gzipBytes(t, good)[:100],
		"garbage gzip":   append([]byte{0x1f, 0x8b}, bytes.Repeat([]byte{0xff}, 100)...),
	} {
		_, err := readBlob(bytes.NewReader(b))
		if err == nil {
			t.Errorf("%s: no error", name)
		} else if !errors.Is(err, io.ErrUnexpectedEOF) && !strings.Contains(err.Error(), "gzip") && !strings.Contains(err.Error(), "tar") && !strings.Contains(err.Error(), "flate") {
			t.Errorf("%s: %v", name, err)
		}
	}
}
