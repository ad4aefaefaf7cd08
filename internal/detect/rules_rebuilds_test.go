package detect

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestRebuildNoiseRules: the paths two real builds of the Ruby and Node
// cases of scripts/real-rebuilds.sh differed in (testdata/rebuilds/
// FINDINGS.md) are noise under their rules, and what the gem and npm
// installed still counts.
func TestRebuildNoiseRules(t *testing.T) {
	t.Parallel()
	m := newMatcher(defaultOptions())
	for p, want := range map[string]string{
		// Seen in the real builds (Debian's ruby 3.1).
		"/var/lib/gems/3.1.0/cache/fastsum-0.1.0.gem":                                  "gem-caches",
		"/var/lib/gems/3.1.0/extensions/x86_64-linux/3.1.0/fastsum-0.1.0/gem_make.out": "gem-build-logs",
		"/var/lib/gems/3.1.0/extensions/x86_64-linux/3.1.0/fastsum-0.1.0/mkmf.log":     "gem-build-logs",
		"/var/lib/gems/3.1.0/gems/fastsum-0.1.0/ext/fastsum/Makefile":                  "gem-build-logs",
		"/usr/local/bundle/cache/nokogiri-1.16.0.gem":                                  "gem-caches",
		"/usr/local/bundle/extensions/x86_64-linux/3.3.0/nio4r-2.7.0/gem_make.out":     "gem-build-logs",
		"/usr/local/lib/ruby/gems/3.3.0/cache/bundler-2.5.3.gem":                       "gem-caches",
		"/home/app/.gem/ruby/3.1.0/cache/x-1.gem":                                      "gem-caches",
		"/root/.bundle/cache/compact_index/x/versions":                                 "gem-caches",
		"/usr/local/bundle/gems/puma-6.4.2/ext/puma_http11/Makefile":                   "gem-build-logs",
		// npm ci as root, seen in the Node case: covered by npm-yarn-caches.
		"/root/.npm/_cacache/index-v5/17/b4/46a36789ef57047a30da1d77c82b55c0c41972b9e070e7203ec5408033d4": "npm-yarn-caches",
		"/root/.npm/_logs/2026-11-30T06_16_36_408Z-debug-0.log":                                           "npm-yarn-caches",
		"/srv/app/node_modules/.package-lock.json":                                                        "",
		"/srv/app/node_modules/ms/package.json":                                                           "",
		"/var/lib/gems/3.1.0/extensions/x86_64-linux/3.1.0/fastsum-0.1.0/fastsum/fastsum.so":              "",
		"/var/lib/gems/3.1.0/gems/fastsum-0.1.0/lib/fastsum/fastsum.so":                                   "",
		"/var/lib/gems/3.1.0/gems/fastsum-0.1.0/lib/fastsum.rb":                                           "",
		"/var/lib/gems/3.1.0/gems/fastsum-0.1.0/ext/fastsum/fastsum.c":                                    "",
		"/var/lib/gems/3.1.0/gems/fastsum-0.1.0/ext/fastsum/extconf.rb":                                   "",
		"/var/lib/gems/3.1.0/specifications/fastsum-0.1.0.gemspec":                                        "",
		"/var/lib/gems/3.1.0/extensions/x86_64-linux/3.1.0/fastsum-0.1.0/gem.build_complete":              "",
		"/var/lib/gems/3.1.0/cache":                                                                       "",
		"/src/fastsum/fastsum-0.1.0.gem":                                                                  "",
		"/app/Makefile":                                                                                   "",
		"/usr/local/bundle/gems/puma-6.4.2/lib/puma/puma_http11.so":                                       "",
		"/var/lib/gems/3.1.0/gems/fastsum-0.1.0/Makefile":                                                 "",
	} {
		if got := m.match(p); got != want {
			t.Errorf("%s ignored by %q, want %q", p, got, want)
		}
	}
}

// TestRebuildNoiseImages: a rebuild of the Ruby case (other gem cache, build
// logs and Makefile) is the same image; another extension .so is not. A jar
// unpacked into the image (Spring Boot's layers) is the same with another
// Build-Time and build.time, not with another Start-Class.
func TestRebuildNoiseImages(t *testing.T) {
	t.Parallel()
	const (
		ext  = "var/lib/gems/3.1.0/extensions/x86_64-linux/3.1.0/fastsum-0.1.0/"
		gem  = "var/lib/gems/3.1.0/gems/fastsum-0.1.0/"
		boot = "opt/app/exploded/"
	)
	ruby := func(build, so string) spec {
		return base().addLayer(
			file("var/lib/gems/3.1.0/cache/fastsum-0.1.0.gem", "gem built at "+build),
			file(ext+"gem_make.out", "siteconf"+build+".rb"),
			file(ext+"mkmf.log", "cc "+build),
			file(ext+"fastsum/fastsum.so", so),
			file(gem+"ext/fastsum/Makefile", "sitearchdir = ./.gem."+build),
			file(gem+"lib/fastsum/fastsum.so", so),
		)
	}
	jar := func(buildTime, start string) spec {
		return base().addLayer(
			file(boot+"META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\nStart-Class: "+start+"\r\nBuild-Time: "+buildTime+"\r\n\r\n"),
			file(boot+"BOOT-INF/classes/META-INF/build-info.properties", "build.name=demo\nbuild.time="+buildTime+"\n"),
		)
	}
	tests := []struct {
		name string
		a, b spec
		want []string
	}{
		{"ruby rebuilt", ruby("20261130-28805", "ELF 1"), ruby("20261130-13448", "ELF 1"), nil},
		{"ruby extension changed", ruby("20261130-28805", "ELF 1"), ruby("20261130-13448", "ELF 2"), []string{
			"modified /" + ext + "fastsum/fastsum.so content",
			"modified /" + gem + "lib/fastsum/fastsum.so content",
		}},
		{"jar layers rebuilt", jar("2026-11-30T05:24:21Z", "com.example.demo.DemoApplication"), jar("2026-12-01T00:00:00Z", "com.example.demo.DemoApplication"), nil},
		{"jar layers Start-Class", jar("2026-11-30T05:24:21Z", "com.example.demo.DemoApplication"), jar("2026-11-30T05:24:21Z", "com.example.demo.Other"), []string{
			"modified /" + boot + "META-INF/MANIFEST.MF content",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := diff(t, writeOCI(t, tc.a.image(t)), writeOCI(t, tc.b.image(t)))
			if d := cmp.Diff(tc.want, summarise(res)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}
