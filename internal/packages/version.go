package packages

import (
	"cmp"
	"strings"

	gem "github.com/aquasecurity/go-gem-version"
	npm "github.com/aquasecurity/go-npm-version/pkg"
	pep440 "github.com/aquasecurity/go-pep440-version"
	apk "github.com/knqyf263/go-apk-version"
	deb "github.com/knqyf263/go-deb-version"
	mvn "github.com/masahiro331/go-mvn-version"
	"golang.org/x/mod/semver"
)

// Compare orders two versions of a package of ecosystem e by that
// ecosystem's rules: -1 when a is lower, 0 when equal, +1 when higher. A
// version the rules cannot parse is compared as a string.
func Compare(e Ecosystem, a, b string) int {
	if a == b {
		return 0
	}
	if c, ok := compare(e, a, b); ok {
		return cmp.Compare(c, 0) // some libraries return a distance
	}
	return strings.Compare(a, b)
}

// compare is Compare when both versions parse.
func compare(e Ecosystem, a, b string) (int, bool) {
	switch e {
	case Deb:
		return parsed(a, b, deb.NewVersion, func(x, y deb.Version) int { return x.Compare(y) })
	case Apk:
		if !apk.Valid(a) || !apk.Valid(b) {
			return 0, false
		}
		return parsed(a, b, apk.NewVersion, apk.Version.Compare)
	case Python:
		return parsed(a, b, pep440.Parse, pep440.Version.Compare)
	case Npm:
		return parsed(a, b, npm.NewVersion, npm.Version.Compare)
	case Gem:
		return parsed(a, b, gem.NewVersion, gem.Version.Compare)
	case Maven:
		return parsed(a, b, mvn.NewVersion, mvn.Version.Compare)
	case Go:
		// Module versions are semver with a "v"; the toolchain's are
		// "1.22.5" once "go" is cut off.
		sa, sb := goSemver(a), goSemver(b)
		if !semver.IsValid(sa) || !semver.IsValid(sb) {
			return 0, false
		}
		return semver.Compare(sa, sb), true
	}
	return 0, false
}

// parsed compares a and b with cmp once parse has read both.
func parsed[V any](a, b string, parse func(string) (V, error), cmp func(V, V) int) (int, bool) {
	va, err := parse(a)
	if err != nil {
		return 0, false
	}
	vb, err := parse(b)
	if err != nil {
		return 0, false
	}
	return cmp(va, vb), true
}

func goSemver(v string) string {
	if strings.HasPrefix(v, "v") {
		return v
	}
	return "v" + v
}
