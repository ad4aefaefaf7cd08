package detect

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
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
