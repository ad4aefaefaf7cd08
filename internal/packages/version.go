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
		va, erra := deb.NewVersion(a)
		vb, errb := deb.NewVersion(b)
		if erra != nil || errb != nil {
			return 0, false
		}
		return va.Compare(vb), true
	case Apk:
		va, erra := apk.NewVersion(a)
		vb, errb := apk.NewVersion(b)
		if erra != nil || errb != nil || !apk.Valid(a) || !apk.Valid(b) {
			return 0, false
		}
		return va.Compare(vb), true
	case Python:
		va, erra := pep440.Parse(a)
		vb, errb := pep440.Parse(b)
		if erra != nil || errb != nil {
			return 0, false
		}
		return va.Compare(vb), true
	case Npm:
		va, erra := npm.NewVersion(a)
		vb, errb := npm.NewVersion(b)
		if erra != nil || errb != nil {
			return 0, false
		}
		return va.Compare(vb), true
	case Gem:
		va, erra := gem.NewVersion(a)
		vb, errb := gem.NewVersion(b)
		if erra != nil || errb != nil {
			return 0, false
		}
		return va.Compare(vb), true
	case Maven:
		va, erra := mvn.NewVersion(a)
		vb, errb := mvn.NewVersion(b)
		if erra != nil || errb != nil {
			return 0, false
		}
		return va.Compare(vb), true
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

func goSemver(v string) string {
	if strings.HasPrefix(v, "v") {
		return v
	}
	return "v" + v
}
