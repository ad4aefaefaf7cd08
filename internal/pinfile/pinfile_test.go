package pinfile

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

var now = time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestRoundTrip: parsing and printing an untouched file gives its bytes back.
func TestRoundTrip(t *testing.T) {
	files, err := filepath.Glob("testdata/roundtrip/*.src")
	if err != nil || len(files) == 0 {
		t.Fatalf("no round-trip inputs: %v", err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			in := readFile(t, path)
			f, err := Parse(path, in)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(in), string(f.Bytes())); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPins(t *testing.T) {
	f, err := Parse("vro.src", readFile(t, "testdata/roundtrip/vro.src"))
	if err != nil {
		t.Fatal(err)
	}
	want := []Pin{
		{Var: "apigateway", Version: "v3.4.0", Kind: Auto, Line: 3},
		{Var: "postgres", Version: "v3.2.1", Kind: Manual, Line: 4},
	}
	if diff := cmp.Diff(want, f.Pins()); diff != "" {
		t.Errorf("Pins (-want +got):\n%s", diff)
	}
	f, err = Parse("mixed", readFile(t, "testdata/roundtrip/mixed-endings.src"))
	if err != nil {
		t.Fatal(err)
	}
	want = []Pin{
		{Var: "a", Version: "v1", Kind: Auto, Line: 1},
		{Var: "b", Version: "v2", Kind: Auto, Line: 2},
		{Var: "c", Version: "v3", Kind: Auto, Line: 3},
	}
	if diff := cmp.Diff(want, f.Pins()); diff != "" {
		t.Errorf("Pins (-want +got):\n%s", diff)
	}
}

func TestNotPins(t *testing.T) {
	for _, text := range []string{
		`# apigateway_VER="v1.0.0"`,
		`#apigateway_VER="v1.0.0"`,
		`echo apigateway_VER=v1`,
		`apigateway_VERSION=v1`,
		`APIGATEWAY=v1`,
		`declare -x OTHER=v1`,
		`readonly apigateway_VERSION=v1`,
		`: "${apigateway_VER:=v1}"`,
		``,
	} {
		f, err := Parse("f", []byte(text+"\n"))
		if err != nil {
			t.Errorf("Parse(%q): %v", text, err)
			continue
		}
		if ps := f.Pins(); len(ps) != 0 {
			t.Errorf("Parse(%q) = pins %v, want none", text, ps)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		line     int
		msg      string
	}{
		{"unquoted space", "apigateway_VER=v1 2\n", 1, "cannot read the value"},
		{"command substitution", "x\napigateway_VER=$(date)\n", 2, "cannot read the value"},
		{"unterminated quote", `apigateway_VER="v1` + "\n", 1, "cannot read the value"},
		{"trailing command", `apigateway_VER="v1"; echo hi` + "\n", 1, "cannot read the value"},
		{"variable in quotes", `apigateway_VER="$V"` + "\n", 1, "cannot read the value"},
		{"empty", `apigateway_VER=""` + "\n", 1, "empty version"},
		{"not a tag", `apigateway_VER="v1/2"` + "\n", 1, "not a valid image tag"},
		{"indented", "if true; then\n  apigateway_VER=\"v1\"\nfi\n", 2, "indented"},
		{"declare -x", "declare -x apigateway_VER=\"v1\"\n", 1, "assignment to apigateway_VER with declare"},
		{"readonly", "x\nreadonly apigateway_VER=v1\n", 2, "with readonly"},
		{"typeset, indented", "  typeset -r -x apigateway_VER=v1\n", 1, "with typeset"},
		{"duplicate", "apigateway_VER=\"v1\"\n\nexport apigateway_VER=\"v2\"\n", 3, "second pin of apigateway_VER (first at line 1)"},
		{"crlf line numbers", "a\r\nb\r\napigateway_VER=v1 2\r\n", 3, "cannot read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("pins.src", []byte(tc.in))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse error = %v, want a *ParseError", err)
			}
			if pe.File != "pins.src" || pe.Line != tc.line || !strings.Contains(pe.Msg, tc.msg) {
				t.Errorf("error %q, want pins.src:%d: ...%s...", err, tc.line, tc.msg)
			}
			if !strings.HasPrefix(err.Error(), "pins.src:") {
				t.Errorf("error %q does not start with file:line", err)
			}
		})
	}
}

func TestParseLenient(t *testing.T) {
	in := "a_VER=v1\nb_VER=v1 2\na_VER=v2\nc_VER=v3\n"
	f, errs := ParseLenient("p", []byte(in))
	if len(errs) != 2 || errs[0].Line != 2 || errs[1].Line != 3 {
		t.Fatalf("errs = %v, want lines 2 and 3", errs)
	}
	want := []Pin{{Var: "a", Version: "v1", Kind: Auto, Line: 1}, {Var: "c", Version: "v3", Kind: Auto, Line: 4}}
	if diff := cmp.Diff(want, f.Pins()); diff != "" {
		t.Errorf("Pins (-want +got):\n%s", diff)
	}
	if got := string(f.Bytes()); got != in {
		t.Errorf("Bytes = %q, want the input", got)
	}
}

// TestOps applies operations to an input and compares with a golden file.
func TestOps(t *testing.T) {
	type op func(*File) error
	set := func(v, ver string, k Kind) op { return func(f *File) error { return f.Set(v, ver, k, now) } }
	remove := func(v string) op {
		return func(f *File) error {
			if !f.Remove(v) {
				return errors.New("nothing removed: " + v)
			}
			return nil
		}
	}
	block := func(ver string, vars ...string) op {
		return func(f *File) error {
			var ps []Pin
			for _, v := range vars {
				ps = append(ps, Pin{Var: v, Version: ver, Kind: Auto})
			}
			return f.AddBlock(Header(now, ver), ps)
		}
	}
	for _, tc := range []struct {
		name, in string
		ops      []op
	}{
		{"release-block", "vro.src", []op{block("v3.5.0", "console", "svc_bip")}},
		{"set-in-place", "vro.src", []op{set("apigateway", "v3.5.1", Auto)}},
		{"set-manual", "vro.src", []op{set("apigateway", "v3.5.1", Manual)}},
		{"set-keeps-comment", "comments.src", []op{set("apigateway", "v3.5.1", Auto), set("postgres", "v3.5.1", Manual), set("console", "v3.5.1", Auto)}},
		{"manual-to-auto", "vro.src", []op{set("postgres", "v3.5.1", Auto)}},
		{"set-new-adds-header", "vro.src", []op{set("console", "v3.5.1", Auto)}},
		{"remove-keeps-used-header", "vro.src", []op{remove("apigateway")}},
		{"remove-drops-orphan-header", "vro.src", []op{remove("apigateway"), remove("postgres")}},
		{"crlf-append", "crlf.src", []op{block("v2.0.0", "b")}},
		{"crlf-remove", "crlf.src", []op{remove("apigateway")}},
		{"no-final-newline-append", "no-final-newline.src", []op{block("v2.0.0", "b")}},
		{"empty-append", "empty.src", []op{block("v1.0.0", "a", "b")}},
		{"middle-block-removed", "mixed-endings.src", []op{block("v9.0.0", "x"), block("v9.1.0", "y"), remove("x")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, err := Parse(tc.in, readFile(t, filepath.Join("testdata/roundtrip", tc.in)))
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range tc.ops {
				if err := o(f); err != nil {
					t.Fatal(err)
				}
			}
			got := f.Bytes()
			golden := filepath.Join("testdata/ops", tc.name+".golden")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if diff := cmp.Diff(string(readFile(t, golden)), string(got)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", golden, diff)
			}
			// What imgver writes, imgver reads back the same.
			g, err := Parse("out", got)
			if err != nil {
				t.Fatalf("output does not parse: %v", err)
			}
			if !bytes.Equal(g.Bytes(), got) {
				t.Error("output does not round-trip")
			}
		})
	}
}

func TestAddBlockThenRemoveRestores(t *testing.T) {
	for _, name := range []string{"vro.src", "crlf.src", "other-shell.src", "empty.src"} {
		in := readFile(t, filepath.Join("testdata/roundtrip", name))
		f, err := Parse(name, in)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.AddBlock(Header(now, "v9.9.9"), []Pin{{Var: "new1", Version: "v9.9.9", Kind: Auto}, {Var: "new2", Version: "v9.9.9", Kind: Auto}}); err != nil {
			t.Fatal(err)
		}
		f.Remove("new2")
		f.Remove("new1")
		if diff := cmp.Diff(string(in), string(f.Bytes())); diff != "" {
			t.Errorf("%s: add then remove (-want +got):\n%s", name, diff)
		}
	}
}

func TestSetErrors(t *testing.T) {
	f, _ := Parse("p", nil)
	if err := f.Set("a", "bad tag", Auto, now); err == nil {
		t.Error("Set with an invalid tag: no error")
	}
	if err := f.Set("1a", "v1", Auto, now); err == nil {
		t.Error("Set with an invalid var: no error")
	}
	if err := f.AddBlock("# h", []Pin{{Var: "a", Version: "v1", Kind: Auto}, {Var: "a", Version: "v1", Kind: Auto}}); err == nil {
		t.Error("AddBlock with a var twice: no error")
	}
	if len(f.Bytes()) != 0 {
		t.Errorf("failed changes wrote %q", f.Bytes())
	}
}
