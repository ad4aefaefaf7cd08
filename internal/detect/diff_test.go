package detect

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// base returns a fresh two-layer image spec every test case changes.
func base() spec {
	app := file("bin/app", "#!/bin/sh\necho hi\n")
	app.mode = 0o755
	tmp := dir("tmp/")
	tmp.mode = 0o1777
	root := dir("root/")
	root.mode = 0o700
	return spec{layers: [][]f{
		{
			dir("bin/"), app, dir("etc/"), file("etc/passwd", "root:x:0:0::/root:/bin/sh\n"),
			tmp, root, dir("var/"), dir("var/log/"), dir("var/lib/"), dir("var/lib/apt/"), dir("var/lib/apt/lists/"),
			dir("usr/"), dir("usr/lib/"), symlink("usr/lib/libx.so", "libx.so.1"), file("usr/lib/libx.so.1", "ELF"),
		},
		{dir("app/"), file("app/config.txt", "a=1\nb=2\nc=3\n"), file("app/main.py", "print('hi')\n")},
	}}
}

// edit changes the entry named name in any layer.
func (s spec) edit(name string, fn func(*f)) spec {
	for _, l := range s.layers {
		for i := range l {
			if l[i].name == name {
				fn(&l[i])
				return s
			}
		}
	}
	panic("no entry " + name)
}

// add appends entries to the last layer.
func (s spec) add(entries ...f) spec {
	s.layers[len(s.layers)-1] = append(s.layers[len(s.layers)-1], entries...)
	return s
}

// addLayer appends a layer.
func (s spec) addLayer(entries ...f) spec {
	s.layers = append(s.layers, entries)
	return s
}

func (s spec) withConfig(fn func(*v1.ConfigFile)) spec {
	s.config = fn
	return s
}

// summarise renders the differences of r as short lines.
func summarise(r *Result) []string {
	var out []string
	for _, p := range r.Platforms {
		if p.OnlyIn != "" {
			out = append(out, fmt.Sprintf("platform %s only in %s", p.Platform, p.OnlyIn))
		}
		for _, c := range p.Added {
			out = append(out, "added "+c.Path)
		}
		for _, c := range p.Removed {
			out = append(out, "removed "+c.Path)
		}
		for _, c := range p.Modified {
			var fs []string
			for _, ch := range c.Changes {
				fs = append(fs, ch.Field)
			}
			out = append(out, "modified "+c.Path+" "+strings.Join(fs, ","))
		}
		for _, c := range p.Config {
			out = append(out, "config "+c.Field)
		}
		if p.HistoryCounts {
			for _, h := range p.History {
				out = append(out, fmt.Sprintf("history %d", h.Index))
			}
		}
	}
	return out
}

func TestDiffPairs(t *testing.T) {
	t.Parallel()
	withApp := func(content string) spec {
		return base().edit("bin/app", func(e *f) { e.content = content })
	}
	pycache := func(py, pyc string) spec {
		return base().add(file("app/__pycache__/main.cpython-312.pyc", pyc)).edit("app/main.py", func(e *f) { e.content = py })
	}
	hardlinked := func(order []string, target string) spec {
		s := base()
		var l []f
		for _, n := range order {
			if n == target {
				l = append(l, file(n, "shared"))
			} else {
				l = append(l, f{name: n, typ: tar.TypeLink, link: target})
			}
		}
		return s.addLayer(l...)
	}
	tests := []struct {
		name string
		a, b spec
		opts []Option
		want []string // nil: same
	}{
		// Same.
		{name: "identical", a: base(), b: base()},
		{name: "new mtimes", a: base(), b: func() spec { s := base(); s.tar.mtime = epoch.Add(48 * time.Hour); return s }()},
		{name: "uname and gname", a: base(), b: func() spec {
			s := base().edit("bin/app", func(e *f) { e.gname = "wheel" })
			s.tar.uname = "builder"
			return s
		}()},
		{name: "layer split", a: base(), b: func() spec {
			s := base()
			s.layers = [][]f{s.layers[0][:5], append(s.layers[0][5:], s.layers[1]...)}
			return s
		}()},
		{name: "one layer", a: base(), b: func() spec {
			s := base()
			s.layers = [][]f{append(s.layers[0], s.layers[1]...)}
			return s
		}()},
		{name: "tar entry order", a: base(), b: func() spec {
			s := base()
			for _, l := range s.layers {
				slices.Reverse(l)
			}
			return s
		}()},
		{name: "PAX vs GNU", a: func() spec { s := base(); s.tar.format = tar.FormatGNU; return s }(), b: func() spec { s := base(); s.tar.format = tar.FormatPAX; return s }()},
		{name: "USTAR vs PAX", a: func() spec { s := base(); s.tar.format = tar.FormatUSTAR; return s }(), b: func() spec { s := base(); s.tar.format = tar.FormatPAX; return s }()},
		{name: "gzip level", a: base(), b: func() spec { s := base(); s.kind = gzBest; return s }()},
		{name: "gzip vs uncompressed", a: base(), b: func() spec { s := base(); s.kind = plain; return s }()},
		{name: "gzip vs zstd", a: base(), b: func() spec { s := base(); s.kind = zst; return s }()},
		// Equal diff_ids answer the three above without reading a layer;
		// these read them (the Fingerprint check reads them in any case).
		{name: "zstd, other split", a: base(), b: func() spec {
			s := base()
			s.kind = zst
			s.layers = [][]f{append(s.layers[0], s.layers[1]...)}
			return s
		}()},
		{name: "uncompressed, new mtimes", a: base(), b: func() spec {
			s := base()
			s.kind = plain
			s.tar.mtime = epoch.Add(time.Hour)
			return s
		}()},
		{name: "apt lists, logs, tmp, pip cache", a: base(), b: base().addLayer(
			file("var/lib/apt/lists/deb_InRelease", "x"), file("var/log/dpkg.log", "installed"), dir("var/log/apt/"),
			file("tmp/build.sh", "make"), file("var/tmp/x", "y"), file("root/.cache/pip/http/ab", "wheel"),
			file("var/cache/apt/pkgcache.bin", "bin"), file("etc/passwd-", "old"),
		)},
		{name: "runtime mounts and buildah label", a: base().withConfig(func(c *v1.ConfigFile) {
			c.Config.Labels = map[string]string{"io.buildah.version": "1.28.2"}
		}), b: base().add(f{name: "etc/hosts", mode: 0o755}, file("etc/hostname", "builder\n"), file("etc/resolv.conf", "nameserver 10.0.0.1\n")).withConfig(func(c *v1.ConfigFile) {
			c.Config.Labels = map[string]string{"io.buildah.version": "1.33.0"}
		})},
		{name: "created timestamps", a: base(), b: base().withConfig(func(c *v1.ConfigFile) {
			c.Created = v1.Time{Time: time.Now()}
			// docker build still writes docker_version; ggcr's field for
			// it is deprecated, so it is set as the JSON says it.
			if err := json.Unmarshal([]byte(`{"docker_version":"27.0"}`), c); err != nil {
				panic(err)
			}
			c.Container = "abc"
			c.Config.Hostname = "buildkitsandbox"
			for i := range c.History {
				c.History[i].Created = v1.Time{Time: time.Now()}
			}
		})},
		{name: "ignored labels", a: base().withConfig(func(c *v1.ConfigFile) {
			c.Config.Labels = map[string]string{"org.opencontainers.image.revision": "abc", "org.opencontainers.image.created": "2024", "team": "x"}
		}), b: base().withConfig(func(c *v1.ConfigFile) {
			c.Config.Labels = map[string]string{"org.opencontainers.image.revision": "def", "build-date": "2025", "vcs-ref": "1", "team": "x"}
		})},
		{name: "history created_by alone", a: base(), b: func() spec { s := base(); s.history = []string{"RUN x"}; return s }()},
		{name: "path forms", a: base(), b: func() spec {
			s := base()
			for i := range s.layers[0] {
				s.layers[0][i].name = "./" + s.layers[0][i].name
			}
			for i := range s.layers[1] {
				s.layers[1][i].name = "/" + strings.TrimSuffix(s.layers[1][i].name, "/")
			}
			return s
		}()},
		{name: "implicit parent dir", a: base(), b: func() spec {
			s := base()
			s.layers[1] = slices.DeleteFunc(s.layers[1], func(e f) bool { return e.name == "app/" })
			return s
		}()},
		{name: "hardlink tar order", a: hardlinked([]string{"opt/a", "opt/b"}, "opt/a"), b: hardlinked([]string{"opt/b", "opt/a"}, "opt/b")},
		{name: "pyc with unchanged py", a: pycache("print(1)\n", "pyc-1"), b: pycache("print(1)\n", "pyc-2")},
		{name: "Env order kept, same Env", a: base(), b: base().withConfig(func(c *v1.ConfigFile) { c.Config.Env = []string{"PATH=/usr/bin:/bin"} })},
		{name: "exposed port without protocol", a: base().withConfig(func(c *v1.ConfigFile) { c.Config.ExposedPorts = map[string]struct{}{"80": {}} }), b: base().withConfig(func(c *v1.ConfigFile) { c.Config.ExposedPorts = map[string]struct{}{"80/tcp": {}} })},

		// Changed.
		{name: "permission bit", a: base(), b: base().edit("bin/app", func(e *f) { e.mode = 0o644 }), want: []string{"modified /bin/app mode"}},
		{name: "setuid bit", a: base(), b: base().edit("bin/app", func(e *f) { e.mode = 0o4755 }), want: []string{"modified /bin/app mode"}},
		{name: "sticky bit on a removed tree's root", a: base(), b: base().edit("tmp/", func(e *f) { e.mode = 0o777 }), want: []string{"modified /tmp mode"}},
		{name: "one content byte", a: withApp("abc"), b: withApp("abcd"), want: []string{"modified /bin/app size,content"}},
		{name: "same size other content", a: withApp("abc"), b: withApp("abd"), want: []string{"modified /bin/app content"}},
		{name: "uid", a: base(), b: base().edit("etc/passwd", func(e *f) { e.uid = 1000 }), want: []string{"modified /etc/passwd uid"}},
		{name: "gid", a: base(), b: base().edit("etc/passwd", func(e *f) { e.gid = 42 }), want: []string{"modified /etc/passwd gid"}},
		{name: "added empty dir", a: base(), b: base().add(dir("data/")), want: []string{"added /data"}},
		{name: "implicit parent with other mode", a: base(), b: base().edit("app/", func(e *f) { e.mode = 0o700 }), want: []string{"modified /app mode"}},
		{name: "whiteout", a: base(), b: base().addLayer(f{name: "app/.wh.config.txt"}), want: []string{"removed /app/config.txt"}},
		{name: "opaque dir", a: base(), b: base().addLayer(f{name: "app/.wh..wh..opq"}, file("app/new.txt", "n")),
			want: []string{"added /app/new.txt", "removed /app/config.txt", "removed /app/main.py"}},
		{name: "dir replaced by file", a: base(), b: base().addLayer(file("app", "now a file")),
			want: []string{"removed /app/config.txt", "removed /app/main.py", "modified /app type,mode,size,content"}},
		{name: "symlink target", a: base(), b: base().edit("usr/lib/libx.so", func(e *f) { e.link = "libx.so.2" }), want: []string{"modified /usr/lib/libx.so link"}},
		{name: "hardlink target", a: hardlinked([]string{"opt/a", "opt/b", "opt/c"}, "opt/a"), b: func() spec {
			s := base()
			return s.addLayer(file("opt/a", "shared"), file("opt/b", "shared"), f{name: "opt/c", typ: tar.TypeLink, link: "opt/b"})
		}(), want: []string{"modified /opt/b hardlink", "modified /opt/c hardlink"}},
		{name: "capability xattr", a: base(), b: base().edit("bin/app", func(e *f) {
			e.xattrs = map[string]string{"security.capability": "\x01\x00\x00\x02\x00\x04\x00\x00"}
		}), want: []string{"modified /bin/app xattr.security.capability"}},
		{name: "device numbers", a: base().add(f{name: "dev/null", typ: tar.TypeChar, mode: 0o666, devmaj: 1, devmin: 3}),
			b: base().add(f{name: "dev/null", typ: tar.TypeChar, mode: 0o666, devmaj: 1, devmin: 5}), want: []string{"modified /dev/null device"}},
		{name: "Env", a: base(), b: base().withConfig(func(c *v1.ConfigFile) { c.Config.Env = append(c.Config.Env, "DEBUG=1") }), want: []string{"config env"}},
		{name: "Cmd", a: base(), b: base().withConfig(func(c *v1.ConfigFile) { c.Config.Cmd = []string{"/bin/app", "-v"} }), want: []string{"config cmd"}},
		{name: "Entrypoint", a: base(), b: base().withConfig(func(c *v1.ConfigFile) { c.Config.Entrypoint = []string{"/bin/sh"} }), want: []string{"config entrypoint"}},
		{name: "User", a: base(), b: base().withConfig(func(c *v1.ConfigFile) { c.Config.User = "1000" }), want: []string{"config user"}},
		{name: "WorkingDir", a: base(), b: base().withConfig(func(c *v1.ConfigFile) { c.Config.WorkingDir = "/app" }), want: []string{"config working_dir"}},
		{name: "ExposedPorts", a: base(), b: base().withConfig(func(c *v1.ConfigFile) { c.Config.ExposedPorts = map[string]struct{}{"8080/tcp": {}} }), want: []string{"config exposed_ports"}},
		{name: "label", a: base(), b: base().withConfig(func(c *v1.ConfigFile) { c.Config.Labels = map[string]string{"team": "y"} }), want: []string{"config labels.team"}},
		{name: "architecture", a: base(), b: func() spec { s := base(); s.platform = "linux/arm64"; return s }(), want: []string{"config architecture"}},
		{name: "pyc with changed py", a: pycache("print(1)\n", "pyc-1"), b: pycache("print(2)\n", "pyc-2"),
			want: []string{"modified /app/__pycache__/main.cpython-312.pyc content", "modified /app/main.py content"}},
		{name: "pyc without py", a: base().add(file("app/x.pyc", "1")), b: base().add(file("app/x.pyc", "2")), want: []string{"modified /app/x.pyc content"}},
		{name: "apt lists without default ignores", a: base(), b: base().addLayer(file("var/lib/apt/lists/deb_InRelease", "x")),
			opts: []Option{WithoutDefaultIgnores()}, want: []string{"added /var/lib/apt/lists/deb_InRelease"}},
		{name: "history with WithHistory", a: base(), b: func() spec { s := base(); s.history = []string{"RUN x"}; return s }(),
			opts: []Option{WithHistory()}, want: []string{"history 0"}},
		{name: "ignored label counts without default ignores", a: base(), b: base().withConfig(func(c *v1.ConfigFile) {
			c.Config.Labels = map[string]string{"org.opencontainers.image.revision": "abc"}
		}), opts: []Option{WithoutDefaultIgnores()}, want: []string{"config labels.org.opencontainers.image.revision"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := writeOCI(t, tc.a.image(t))
			b := writeOCI(t, tc.b.image(t))
			res := diff(t, a, b, tc.opts...)
			if d := cmp.Diff(tc.want, summarise(res)); d != "" {
				t.Errorf("differences (-want +got):\n%s", d)
			}
			wantVerdict := Same
			if tc.want != nil {
				wantVerdict = Changed
			}
			if res.Verdict != wantVerdict {
				t.Errorf("verdict %s, want %s", res.Verdict, wantVerdict)
			}
			// The fingerprints agree with the verdict.
			fa, fb := fingerprint(t, a, tc.opts...), fingerprint(t, b, tc.opts...)
			if (fa == fb) != (res.Verdict == Same) {
				t.Errorf("fingerprints %s and %s, but verdict %s", fa, fb, res.Verdict)
			}
		})
	}
}

func TestDiffShortcuts(t *testing.T) {
	t.Parallel()
	img := base().image(t)
	a := writeOCI(t, img)
	b := writeOCI(t, img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "x"}))
	res := diff(t, a, b)
	if res.Verdict != Same || res.Platforms[0].Shortcut != "manifest-digest" {
		t.Errorf("equal manifests: verdict %s shortcut %q", res.Verdict, res.Platforms[0].Shortcut)
	}
	// Other manifest annotations: different manifest digest, same diff_ids.
	img2 := mutate.Annotations(img, map[string]string{"org.opencontainers.image.source": "x"}).(v1.Image)
	c := writeOCI(t, img2)
	res = diff(t, a, c)
	if res.Verdict != Same || res.Platforms[0].Shortcut != "diff-ids" {
		t.Errorf("annotations: verdict %s shortcut %q", res.Verdict, res.Platforms[0].Shortcut)
	}
	if fingerprint(t, a) != fingerprint(t, c) {
		t.Error("annotations change the fingerprint")
	}
}
