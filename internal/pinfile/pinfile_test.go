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
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/imgver/imgver/internal/userfile/userfiletest"
)

var update = flag.Bool("update", false, "rewrite golden files")

var now = time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)

// TestRoundTrip: parsing and printing an untouched file gives its bytes back.
func TestRoundTrip(t *testing.T) {
	files, err := filepath.Glob("testdata/roundtrip/*.src")
	if err != nil || len(files) == 0 {
		t.Fatalf("no round-trip inputs: %v", err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			in := userfiletest.Read(t, path)
			f, err := Parse(path, []byte(in))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(in, string(f.Bytes())); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPins(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []Pin
	}{
		{"vro.src", []Pin{
			{Var: "apigateway", Version: "v3.4.0", Kind: Auto, Line: 3},
			{Var: "postgres", Version: "v3.2.1", Kind: Manual, Line: 4},
		}},
		{"forms.src", []Pin{
			{Var: "apigateway", Version: "v3.4.0", Kind: Auto, Line: 3},
			{Var: "console", Version: "v3.4.0", Kind: Auto, Line: 4},
			{Var: "postgres", Version: "v3.2.1", Kind: Manual, Line: 5},
			{Var: "svc_bip", Version: "v3.2.5", Kind: Manual, Line: 7},
			{Var: "svc_bie", Version: "v3.2.5", Kind: Manual, Line: 8},
			{Var: "CURRENT_RELEASE", Version: "v3.1.0", Kind: Auto, Line: 9},
		}},
		{"other-shell.src", nil},
	} {
		f, err := Parse(tc.file, []byte(userfiletest.Read(t, filepath.Join("testdata/roundtrip", tc.file))))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, f.Pins(), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: Pins (-want +got):\n%s", tc.file, diff)
		}
	}
}

// TestOwned: with Owned, a NAME_VER variable no image owns is no pin, never
// an error, and is listed by Unowned.
func TestOwned(t *testing.T) {
	in := []byte(userfiletest.Read(t, "testdata/roundtrip/forms.src") + "CURRENT_RELEASE_VER+=-rc1\nOLD_VER=$OTHER\n")
	if _, err := Parse("forms.src", in); err == nil {
		t.Fatal("without Owned, an append to a NAME_VER variable is no error")
	}
	f, err := Parse("forms.src", in, Owned("apigateway", "console", "postgres", "svc_bip", "svc_bie"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.Lookup("CURRENT_RELEASE"); ok {
		t.Error("CURRENT_RELEASE_VER is a pin")
	}
	want := []Unowned{{Var: "CURRENT_RELEASE", Line: 9}, {Var: "CURRENT_RELEASE", Line: 10}, {Var: "OLD", Line: 11}}
	if diff := cmp.Diff(want, f.Unowned()); diff != "" {
		t.Errorf("Unowned (-want +got):\n%s", diff)
	}
	if len(f.Pins()) != 5 {
		t.Errorf("pins = %v, want 5", f.Pins())
	}
	// Removing every pin leaves the unowned lines byte for byte.
	for _, p := range f.Pins() {
		if !f.Remove(p.Var) {
			t.Fatalf("Remove(%s) failed", p.Var)
		}
	}
	if !bytes.Contains(f.Bytes(), []byte("CURRENT_RELEASE_VER=\"v3.1.0\"\nCURRENT_RELEASE_VER+=-rc1\nOLD_VER=$OTHER\n")) {
		t.Errorf("unowned lines changed:\n%s", f.Bytes())
	}
	if _, err := Parse("p", nil, Owned("not valid")); err == nil {
		t.Error("Owned with an invalid prefix: no error")
	}
}

func TestNotPins(t *testing.T) {
	for _, text := range []string{
		`# apigateway_VER="v1.0.0"`,
		`#apigateway_VER="v1.0.0"`,
		`apigateway_VERSION=v1`,
		`APIGATEWAY=v1`,
		`export OTHER=v1`,
		`: "${apigateway_VER:-v1}"`,
		`: ${apigateway_VER}`,
		`X="$apigateway_VER"`,
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

// TestParseErrors: errors name the file and line. TestBashEquivalence has
// the table of shell constructs; these are about messages.
func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		line     int
		msg      string
	}{
		{"unquoted space", "apigateway_VER=v1 2\n", 1, "cannot read the value of apigateway_VER: bash runs 2 as a command"},
		{"command substitution", "# x\napigateway_VER=$(date)\n", 2, "cannot read the value of apigateway_VER: want apigateway_VER=\"version\", got $(date)"},
		{"unterminated quote", `apigateway_VER="v1` + "\n", 1, "bash cannot parse this: reached EOF without closing quote"},
		{"trailing command", `apigateway_VER="v1"; echo hi` + "\n", 1, "apigateway_VER shares its line with another command"},
		{"variable in quotes", `apigateway_VER="$V"` + "\n", 1, "cannot read the value"},
		{"empty", `apigateway_VER=""` + "\n", 1, "empty version for apigateway_VER"},
		{"not a tag", `apigateway_VER="v1/2"` + "\n", 1, `version "v1/2" of apigateway_VER is not a valid image tag`},
		{"long value cut", `apigateway_VER="` + strings.Repeat("x", 500) + `/"` + "\n", 1, `…" (501 bytes) of apigateway_VER`},
		{"indented", "\n  apigateway_VER=\"v1\"\n", 2, "indented assignment to apigateway_VER: pins must start at column 0"},
		{"in an if", "if true; then\n  apigateway_VER=\"v1\"\nfi\n", 1, "an if statement: bash may assign variables in it that imgver cannot see"},
		{"declare -x", "declare -x apigateway_VER=\"v1\"\n", 1, "assignment to apigateway_VER with declare"},
		{"readonly", "# x\nreadonly apigateway_VER=v1\n", 2, "with readonly"},
		{"typeset, indented", "  typeset -r -x apigateway_VER=v1\n", 1, "with typeset"},
		{"duplicate", "apigateway_VER=\"v1\"\n\nexport apigateway_VER=\"v2\"\n", 3, "second pin of apigateway_VER (first at line 1)"},
		{"crlf", "a=1\nb=2\r\napigateway_VER=v1\r\n", 2, `the line ends in CR LF (a DOS line ending): bash would read a carriage return into every value ("v1.0.0" would be "v1.0.0\r"); convert the file with: sed -i 's/\r$//' pins.src`},
		{"plus-equals", "apigateway_VER=v1\napigateway_VER+=-rc1\n", 2, "apigateway_VER+= appends to the pin: bash would deploy the joined value"},
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
			if len(err.Error()) > 400 {
				t.Errorf("error is %d bytes long", len(err.Error()))
			}
		})
	}
}

func TestParseLenient(t *testing.T) {
	in := "a_VER=v1\nb_VER=v1 2\na_VER=v2\nc_VER=v3\nif then\nd_VER=v4\n"
	f, errs := ParseLenient("p", []byte(in))
	var lines []int
	for _, e := range errs {
		lines = append(lines, e.Line)
	}
	// Line 5 is a syntax error: bash runs nothing after it, so d is not read.
	if diff := cmp.Diff([]int{5, 2, 3}, lines); diff != "" {
		t.Fatalf("error lines (-want +got):\n%s\n%v", diff, errs)
	}
	want := []Pin{{Var: "a", Version: "v1", Kind: Auto, Line: 1}, {Var: "c", Version: "v3", Kind: Auto, Line: 4}}
	if diff := cmp.Diff(want, f.Pins()); diff != "" {
		t.Errorf("Pins (-want +got):\n%s", diff)
	}
	if got := string(f.Bytes()); got != in {
		t.Errorf("Bytes = %q, want the input", got)
	}
	if err := f.Set("c", "v9", Auto, now); err == nil {
		t.Error("Set on a file read with errors: no error")
	}
	if got := string(f.Bytes()); got != in {
		t.Errorf("after a refused Set, Bytes = %q, want the input", got)
	}
	f, errs = ParseLenient("p", []byte("a_VER=v1\r\n"))
	if len(errs) == 0 || len(f.Pins()) != 0 {
		t.Errorf("CRLF: errs %v, pins %v; want errors and no pin", errs, f.Pins())
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
		{"forms-set-same-kind", "forms.src", []op{set("apigateway", "v4", Auto), set("console", "v4", Auto), set("postgres", "v4", Manual), set("svc_bip", "v4", Manual), set("svc_bie", "v4", Manual)}},
		{"forms-set-other-kind", "forms.src", []op{set("apigateway", "v4", Manual), set("console", "v4", Manual), set("postgres", "v4", Auto), set("svc_bip", "v4", Auto), set("svc_bie", "v4", Auto)}},
		{"forms-remove", "forms.src", []op{remove("postgres"), remove("svc_bie"), remove("apigateway")}},
		{"forms-remove-all", "forms.src", []op{remove("apigateway"), remove("console"), remove("postgres"), remove("svc_bip"), remove("svc_bie"), remove("CURRENT_RELEASE")}},
		{"other-shell-append", "other-shell.src", []op{block("v2.0.0", "b"), set("c", "v2.0.1", Manual)}},
		{"no-final-newline-append", "no-final-newline.src", []op{block("v2.0.0", "b")}},
		{"empty-append", "empty.src", []op{block("v1.0.0", "a", "b")}},
		{"middle-block-removed", "blank-tail.src", []op{block("v9.0.0", "x"), block("v9.1.0", "y"), remove("x")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, err := Parse(tc.in, []byte(userfiletest.Read(t, filepath.Join("testdata/roundtrip", tc.in))))
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
			if diff := cmp.Diff(userfiletest.Read(t, golden), string(got)); diff != "" {
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
	for _, name := range []string{"vro.src", "forms.src", "other-shell.src", "empty.src"} {
		in := userfiletest.Read(t, filepath.Join("testdata/roundtrip", name))
		f, err := Parse(name, []byte(in))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.AddBlock(Header(now, "v9.9.9"), []Pin{{Var: "new1", Version: "v9.9.9", Kind: Auto}, {Var: "new2", Version: "v9.9.9", Kind: Auto}}); err != nil {
			t.Fatal(err)
		}
		f.Remove("new2")
		f.Remove("new1")
		if diff := cmp.Diff(in, string(f.Bytes())); diff != "" {
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
