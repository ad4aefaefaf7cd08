package packages

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// Ecosystem names a kind of package.
type Ecosystem string

// The ecosystems read, in the order changes are listed.
const (
	Deb    Ecosystem = "deb"
	Apk    Ecosystem = "apk"
	Python Ecosystem = "python"
	Npm    Ecosystem = "npm"
	Gem    Ecosystem = "gem"
	Maven  Ecosystem = "maven"
	Go     Ecosystem = "go"
)

var ecosystemOrder = []Ecosystem{Deb, Apk, Python, Npm, Gem, Maven, Go}

func ecosystemRank(e Ecosystem) int {
	if i := slices.Index(ecosystemOrder, e); i >= 0 {
		return i
	}
	return len(ecosystemOrder)
}

// Package is one installed package.
type Package struct {
	Ecosystem Ecosystem
	Name      string
	Version   string
}

// The kinds of Change.
const (
	Upgraded   = "upgraded"
	Downgraded = "downgraded"
	Added      = "added"
	Removed    = "removed"
)

// Change is one package that differs between two images. Its JSON form is
// {ecosystem, name, change, before, after}; Before is "" for an added
// package, After "" for a removed one.
type Change struct {
	Ecosystem Ecosystem `json:"ecosystem"`
	Name      string    `json:"name"`
	// Change is Upgraded, Downgraded, Added or Removed.
	Change string `json:"change"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// String renders the change as "deb: libssl3 3.0.15-1~deb12u1 -> 3.0.16-1~deb12u1",
// "npm: qs 6.11.0 -> 6.10.3 (downgraded)", "npm: left-pad added 1.3.0" or
// "gem: rake removed 13.0.6".
func (c Change) String() string {
	switch c.Change {
	case Added:
		return string(c.Ecosystem) + ": " + c.Name + " added " + c.After
	case Removed:
		return string(c.Ecosystem) + ": " + c.Name + " removed " + c.Before
	case Downgraded:
		return string(c.Ecosystem) + ": " + c.Name + " " + c.Before + " -> " + c.After + " (downgraded)"
	}
	return string(c.Ecosystem) + ": " + c.Name + " " + c.Before + " -> " + c.After
}

type key struct {
	eco  Ecosystem
	name string
}

// compareKeys orders packages by ecosystem, in the order of the constants,
// then by name.
func compareKeys(x, y key) int {
	return cmp.Or(cmp.Compare(ecosystemRank(x.eco), ecosystemRank(y.eco)), strings.Compare(string(x.eco), string(y.eco)), strings.Compare(x.name, y.name))
}

// CompareChanges orders changes as Diff lists them: by ecosystem, then name.
func CompareChanges(x, y Change) int {
	return compareKeys(key{x.Ecosystem, x.Name}, key{y.Ecosystem, y.Name})
}

// versions maps each package to its versions, sorted by the ecosystem's
// rules and without duplicates.
func versions(ps []Package) map[key][]string {
	m := map[key][]string{}
	for _, p := range ps {
		k := key{p.Ecosystem, p.Name}
		m[k] = append(m[k], p.Version)
	}
	for k, vs := range m {
		slices.SortFunc(vs, func(a, b string) int { return cmp.Or(Compare(k.eco, a, b), strings.Compare(a, b)) })
		m[k] = slices.Compact(vs)
	}
	return m
}

// Diff lists the packages whose versions differ between a and b, by
// ecosystem (in the order of the constants) and name.
func Diff(a, b []Package) []Change {
	va, vb := versions(a), versions(b)
	keys := make([]key, 0, len(va)+len(vb))
	for k := range va {
		keys = append(keys, k)
	}
	for k := range vb {
		if _, ok := va[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, compareKeys)
	out := []Change{}
	for _, k := range keys {
		onlyA, onlyB := minus(va[k], vb[k]), minus(vb[k], va[k])
		c := Change{Ecosystem: k.eco, Name: k.name, Before: strings.Join(onlyA, ", "), After: strings.Join(onlyB, ", ")}
		switch {
		case len(onlyA) == 0 && len(onlyB) == 0:
			continue
		case len(onlyA) == 0:
			c.Change = Added
		case len(onlyB) == 0:
			c.Change = Removed
		case Compare(k.eco, onlyA[len(onlyA)-1], onlyB[len(onlyB)-1]) > 0:
			c.Change = Downgraded
		default:
			c.Change = Upgraded
		}
		out = append(out, c)
	}
	return out
}

// minus returns the versions of a that b lacks, in a's order.
func minus(a, b []string) []string {
	var out []string
	for _, v := range a {
		if !slices.Contains(b, v) {
			out = append(out, v)
		}
	}
	return out
}

// Summary says in one line what changed in cs, for a summary that leads
// with it: the first most changes joined with "; ", then how many more
// ("deb: libssl3 3.0.15-1~deb12u1 -> 3.0.16-1~deb12u1; 2 more packages");
// "" when cs is empty.
func Summary(cs []Change, most int) string {
	var parts []string
	for i, c := range cs {
		if i == most {
			n := len(cs) - most
			if n == 1 {
				parts = append(parts, "1 more package")
			} else {
				parts = append(parts, strconv.Itoa(n)+" more packages")
			}
			break
		}
		parts = append(parts, c.String())
	}
	return strings.Join(parts, "; ")
}
