package pinfile

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"strings"
	"testing"
	"time"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"
)

// FuzzParse: Parse never panics; whatever it accepts round-trips byte for
// byte and reads as mvdan.cc/sh's interpreter (bash's stand-in, in process:
// TestBashEquivalence compares with bash itself) evaluates it; what imgver
// writes into an accepted file parses again with the pins it meant, and the
// lines it did not mean to touch stay.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "\n", "\r\n", "a_VER=v1", "export a_VER=\"v1\"\n", "# 2026-01-01T00:00:00Z -- v1\na_VER=v1\n",
		"a_VER=v1 2\n", "  a_VER=v1\n", "a_VER='x y'\n", "a_VER=\"v1\" # c\n", "a_VER=v1\na_VER=v2\n",
		": ${a_VER:=v1}\n", ": \"${a_VER:=v1}\"\n", "a_VER=$'v\\x31'\n", "a_VER=v'1'\".\"0\n",
		"export \\\n  a_VER=v1\n", ": <<'EOF'\na_VER=v9\nEOF\nb_VER=v1\n", "a_VER=v1\na_VER+=x\n",
		"if false; then\na_VER=v2\nfi\n", "OTHER=1\nexport A=1 B=2\nARR=(a \"$OTHER\")\n",
		"CURRENT_RELEASE_VER=\"v3.1.0\"\n", "a_VER=v1 # \\\nb=2\n", "a_VER=v\\1\n",
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
		checkInterp(t, data, pf)
		pins := pf.Pins()
		if err := pf.AddBlock(Header(now, "v1.2.3"), []Pin{{Var: "zz_fuzz", Version: "v1.2.3", Kind: Auto}}); err != nil {
			if _, ok := pf.Lookup("zz_fuzz"); !ok {
				t.Fatalf("AddBlock: %v\n%q", err, data)
			}
		}
		if !bytes.HasPrefix(pf.Bytes(), bytes.TrimRight(data, "\n")) {
			t.Fatalf("AddBlock changed what was there: %q -> %q", data, pf.Bytes())
		}
		for _, p := range pins {
			if err := pf.Set(p.Var, "v9", Manual, now); err != nil {
				t.Fatalf("Set %s: %v\n%q", p.Var, err, pf.Bytes())
			}
		}
		out := pf.Bytes()
		g, err := Parse("out", out)
		if err != nil {
			t.Fatalf("written file does not parse: %v\n%q", err, out)
		}
		checkInterp(t, out, g)
		for _, p := range g.Pins() {
			if !g.Remove(p.Var) {
				t.Fatalf("Remove(%s) failed on %q", p.Var, g.Bytes())
			}
		}
		if ps := g.Pins(); len(ps) != 0 {
			t.Fatalf("pins left after removing all: %v", ps)
		}
		if _, err := Parse("out2", g.Bytes()); err != nil {
			t.Fatalf("file after removals does not parse: %v", err)
		}
	})
}

// checkInterp runs data in mvdan.cc/sh's interpreter, with no environment,
// no commands and no files, and checks that the NAME_VER variables it sets
// are exactly f's pins, with their values. The interpreter keeps the
// backslashes of unquoted text (bash removes them), so the value of a pin
// written with one is not compared (TestBashEquivalence covers them).
func checkInterp(t *testing.T, data []byte, f *File) {
	t.Helper()
	file, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(bytes.NewReader(data), "")
	if err != nil {
		t.Fatalf("accepted file does not parse: %v", err)
	}
	refuse := func(context.Context, []string) error { return errors.New("no commands") }
	r, err := interp.New(
		interp.Env(expand.ListEnviron()),
		interp.StdIO(nil, io.Discard, io.Discard),
		interp.ExecHandlers(func(interp.ExecHandlerFunc) interp.ExecHandlerFunc { return refuse }),
		interp.OpenHandler(func(context.Context, string, int, os.FileMode) (io.ReadWriteCloser, error) {
			return nil, errors.New("no files")
		}),
		// No directories either: a glob in an argument of ":" would walk
		// the file system.
		interp.ReadDirHandler2(func(context.Context, string) ([]fs.DirEntry, error) { return nil, nil }),
	)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	// An exit status is a command's result, not a failure to run the file.
	if err := r.Run(ctx, file); err != nil {
		var status interp.ExitStatus
		if !errors.As(err, &status) {
			t.Fatalf("interpreter: %v\n%q", err, data)
		}
	}
	got := map[string]string{}
	for name, v := range r.Vars {
		if p, ok := pinVar(name); ok && v.IsSet() {
			got[p] = v.String()
		}
	}
	want := map[string]string{}
	for _, p := range f.pins {
		want[p.Var] = p.Version
		if bytes.IndexByte(data[p.value[0]:p.value[1]], '\\') >= 0 {
			want[p.Var] = got[p.Var]
		}
	}
	if len(got) != len(want) {
		t.Fatalf("interpreter sets %v, imgver reads %v\n%q", got, want, data)
	}
	for v, val := range want {
		if got[v] != val {
			t.Fatalf("%s_VER: interpreter %q, imgver %q\n%q", v, got[v], val, strings.ToValidUTF8(string(data), "?"))
		}
	}
}
