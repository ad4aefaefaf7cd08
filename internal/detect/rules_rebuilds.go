package detect

// Globs of the noise rules found by scripts/real-rebuilds.sh's Ruby case
// (testdata/rebuilds/FINDINGS.md); the rules themselves are in DefaultRules.

// gemHomes are where gem installs gems: Debian's ruby, a ruby built into
// /usr/local (the official images' system gems), the official images'
// GEM_HOME, and per-user installs.
var gemHomes = []string{"/var/lib/gems/*", "/usr/local/lib/ruby/gems/*", "/usr/local/bundle", "/root/.gem/ruby/*", "/home/*/.gem/ruby/*"}

// gemCacheGlobs and gemBuildLogGlobs are the globs of the gem-caches and
// gem-build-logs rules under every gem home.
var gemCacheGlobs, gemBuildLogGlobs = func() (cache, build []string) {
	for _, h := range gemHomes {
		cache = append(cache, h+"/cache/**")
		build = append(build, h+"/extensions/*/*/*/gem_make.out", h+"/extensions/*/*/*/mkmf.log", h+"/gems/*/ext/**/Makefile")
	}
	return append(cache, "/root/.bundle/cache/**", "/home/*/.bundle/cache/**"), build
}()
