package pinfile

import (
	"bytes"
	"testing"
)

// FuzzParse: Parse never panics, round-trips whatever it accepts, and what
// imgver writes into an accepted file parses again.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "\n", "\r\n", "a_VER=v1", "export a_VER=\"v1\"\r\n", "# 2026-01-01T00:00:00Z -- v1\na_VER=v1\n",
		"a_VER=v1 2\n", "  a_VER=v1\n", "a_VER='x y'\n", "a_VER=\"v1\" # c\n", "a_VER=v1\na_VER=v2\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lf, _ := ParseLenient("fuzz", data)
		if !bytes.Equal(lf.Bytes(), data) {
			t.Fatalf("lenient round trip: got %q, want %q", lf.Bytes(), data)
		}
		pf, err := Parse("fuzz", data)
		if err != nil {
			return
		}
		if !bytes.Equal(pf.Bytes(), data) {
			t.Fatalf("round trip: got %q, want %q", pf.Bytes(), data)
		}
		pins := pf.Pins()
		if err := pf.AddBlock(Header(now, "v1.2.3"), []Pin{{Var: "zz_fuzz", Version: "v1.2.3", Kind: Auto}}); err != nil {
			if _, ok := pf.Lookup("zz_fuzz"); !ok {
				t.Fatalf("AddBlock: %v", err)
			}
		}
		for _, p := range pins {
			if err := pf.Set(p.Var, "v9", Manual, now); err != nil {
				t.Fatalf("Set %s: %v", p.Var, err)
			}
		}
		out := pf.Bytes()
		g, err := Parse("out", out)
		if err != nil {
			t.Fatalf("written file does not parse: %v\n%q", err, out)
		}
		for _, p := range g.Pins() {
			g.Remove(p.Var)
		}
		if ps := g.Pins(); len(ps) != 0 {
			t.Fatalf("pins left after removing all: %v", ps)
		}
		if _, err := Parse("out2", g.Bytes()); err != nil {
			t.Fatalf("file after removals does not parse: %v", err)
		}
	})
}
