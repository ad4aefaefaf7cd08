package pinfile

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"os/exec"
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

// bashVars sources the file at path with bash, in an empty environment, and
// returns every NAME_VER variable it set (by prefix, as pinVar reads names).
func bashVars(t *testing.T, path string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	// NUL-separated name and value: values may hold anything.
	script := `source "$1" >/dev/null 2>&1; for v in $(compgen -v); do case $v in *_VER) printf '%s\0%s\0' "$v" "${!v}";; esac; done`
	cmd := exec.CommandContext(ctx, "bash", "-c", script, "bash", path)
	cmd.Env = []string{}
	cmd.Dir = filepath.Dir(path)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bash: %v", err)
	}
	vars := map[string]string{}
	fields := strings.Split(string(out), "\x00")
	for i := 0; i+1 < len(fields); i += 2 {
		if v, ok := pinVar(fields[i]); ok {
			vars[v] = fields[i+1]
		}
	}
	return vars
}

// TestBashEquivalence reads each file with imgver and with bash. Where
// imgver accepts the file, the pins it reads are exactly the NAME_VER
// variables bash sets, with bash's values; where it refuses the file, the
// error names the line. The comment of a case says what bash does.
func TestBashEquivalence(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Fatal("bash is needed to compare with it")
	}
	for _, tc := range []struct {
		name, in string
		owned    []string // with Owned(owned...) when set
		// line and msg: the error; 0 when imgver accepts the file.
		line int
		msg  string
		// kinds of the pins, by var, when the file is accepted.
		kinds map[string]Kind
		// bash: for a refused file, what bash sets, which a line-by-line
		// reading would have got wrong.
		bash map[string]string
	}{
		// Accepted forms.
		{name: "empty", in: ""},
		{name: "comments only", in: "#!/bin/bash\n# a_VER=v1\n  # b_VER=v2\n"},
		{name: "three forms", in: "a_VER=v1\nexport b_VER='v2' # held\n: ${c_VER:=v3}\n",
			kinds: map[string]Kind{"a": Auto, "b": Manual, "c": Manual}},
		{name: "quoted default", in: `: "${a_VER:=v1}"` + "\n", kinds: map[string]Kind{"a": Manual}},
		{name: "default without colon", in: ": ${a_VER=v1}\n", kinds: map[string]Kind{"a": Manual}},
		{name: "default of single quotes", in: ": ${a_VER:='v1'}\n", kinds: map[string]Kind{"a": Manual}},
		{name: "double quotes in quoted default", in: `: "${a_VER:="v1"}"` + "\n", kinds: map[string]Kind{"a": Manual}},
		{name: "single quotes", in: "a_VER='v1.0'\n", kinds: map[string]Kind{"a": Auto}},
		{name: "double quotes", in: `a_VER="v1.0"` + "\n", kinds: map[string]Kind{"a": Auto}},
		{name: "ansi-c quotes", in: `a_VER=$'v\x31.\u0030'` + "\n", kinds: map[string]Kind{"a": Auto}},
		{name: "concatenation", in: `a_VER=v'1'"."$'0'_x` + "\n", kinds: map[string]Kind{"a": Auto}},
		{name: "backslash unquoted", in: `a_VER=v\1\.0` + "\n", kinds: map[string]Kind{"a": Auto}},
		{name: "backslash in double quotes", in: `a_VER="v\$"` + "\n", line: 1, msg: "not a valid image tag"},
		{name: "continuation in a value", in: "a_VER=v\"1\"\\\n.0\n", kinds: map[string]Kind{"a": Auto}},
		{name: "continuation in double quotes", in: "a_VER=\"v1\\\n.0\"\n", kinds: map[string]Kind{"a": Auto}},
		{name: "export continued", in: "export \\\na_VER=v1\n", kinds: map[string]Kind{"a": Manual}},
		{name: "trailing semicolon", in: "a_VER=v1;\n", kinds: map[string]Kind{"a": Auto}},
		{name: "continuation at the end of the file", in: "a_VER=v1\\\n", kinds: map[string]Kind{"a": Auto}},
		{name: "other shell", in: "OTHER=1\nexport A=1 B=2\nexport PATH=\"$PATH:/x\"\nARR=(x \"$OTHER\")\nX+=y\n: ${D:=z}\nexport OTHER\n"},
		{name: "non-pin default after pin", in: "a_VER=v1\n: ${a_VER:-v2}\n", kinds: map[string]Kind{"a": Auto}},
		{name: "heredoc body is data", in: ": <<'EOF'\na_VER=v9\nexport b_VER=v9\nEOF\nc_VER=v1\n", kinds: map[string]Kind{"c": Auto}},
		{name: "unquoted heredoc without expansions", in: ": <<EOF\na_VER=v9 $HOME\nEOF\nc_VER=v1\n", kinds: map[string]Kind{"c": Auto}},
		{name: "empty heredoc", in: ": <<EOF\nEOF\nc_VER=v1\n", kinds: map[string]Kind{"c": Auto}},
		{name: "no prefix is no pin", in: "_VER=x\n__VER=y\n", kinds: map[string]Kind{"_": Auto}},
		{name: "unowned var", in: "CURRENT_RELEASE_VER=\"v3.1.0\"\nCURRENT_RELEASE_VER+=-x\na_VER=v1\n", owned: []string{"a"},
			kinds: map[string]Kind{"a": Auto}},
		{name: "unowned default", in: ": ${X_VER:=a b}\nb_VER=v2\n", owned: []string{"b"}, kinds: map[string]Kind{"b": Auto}},

		// Refused: bash would read something else, or imgver could not
		// edit it safely.
		{name: "append after pin", in: "apigateway_VER=\"v3.3.0\"\napigateway_VER+=\"-rc1\"\n", line: 2, msg: "apigateway_VER+= appends",
			bash: map[string]string{"apigateway": "v3.3.0-rc1"}},
		{name: "pin in if false", in: "a_VER=v1\nif false; then\na_VER=v2\nfi\n", line: 2, msg: "an if statement", bash: map[string]string{"a": "v1"}},
		{name: "pin in case", in: "case x in\ny) a_VER=v2;;\nesac\n", line: 1, msg: "a case statement", bash: map[string]string{}},
		{name: "pin in function", in: "f() {\na_VER=v2\n}\n", line: 1, msg: "a function definition", bash: map[string]string{}},
		{name: "pin in loop", in: "for i in 1; do\na_VER=v2\ndone\n", line: 1, msg: "a for loop"},
		{name: "pin after continuation", in: "echo \\\na_VER=v2\n", line: 1, msg: `command "echo"`, bash: map[string]string{}},
		{name: "heredoc of a command", in: "cat <<EOF\na_VER=v2\nEOF\n", line: 1, msg: "redirection", bash: map[string]string{}},
		{name: "heredoc assigns", in: ": <<EOF\n${a_VER:=v9}\nEOF\n", line: 2, msg: "assigns a variable", bash: map[string]string{"a": "v9"}},
		{name: "heredoc runs", in: ": <<EOF\n$(true)\nEOF\n", line: 2, msg: "command substitution"},
		{name: "eval", in: "eval a_VER=v2\n", line: 1, msg: `command "eval"`},
		{name: "unset", in: "a_VER=v1\nunset a_VER\n", line: 2, msg: `command "unset"`, bash: map[string]string{}},
		{name: "source", in: "source /dev/null\n", line: 1, msg: `command "source"`},
		{name: "set -n", in: "set -n\na_VER=v1\n", line: 1, msg: `command "set"`},
		{name: "declare", in: "declare -x a_VER=v1\n", line: 1, msg: "assignment to a_VER with declare"},
		{name: "readonly other", in: "readonly X=1\n", line: 1, msg: `command "readonly"`},
		{name: "background", in: "a_VER=v1 &\n", line: 1, msg: "background", bash: map[string]string{}},
		{name: "redirection", in: "a_VER=v1 >out\n", line: 1, msg: "redirection"},
		{name: "pipeline", in: "a_VER=v1 | true\n", line: 1, msg: "command list (|)"},
		{name: "and list", in: "true && a_VER=v1\n", line: 1, msg: "command list (&&)"},
		{name: "subshell", in: "(a_VER=v1)\n", line: 1, msg: "a subshell"},
		{name: "assignment before command", in: "a_VER=v1 2\n", line: 1, msg: "cannot read the value of a_VER", bash: map[string]string{}},
		{name: "two pins in one command", in: "a_VER=v1 b_VER=v2\n", line: 1, msg: "alone on its line"},
		{name: "export two pins", in: "export a_VER=v1 b_VER=v2\n", line: 1, msg: "alone on its line"},
		{name: "export pin and other", in: "export a_VER=v1 OTHER=1\n", line: 1, msg: "alone on its line"},
		{name: "two statements on a line", in: "a_VER=v1; b=2\n", line: 1, msg: "alone on its line"},
		{name: "default with more arguments", in: ": ${a_VER:=v1} x\n", line: 1, msg: "alone on its line"},
		{name: "indented", in: "  a_VER=v1\n", line: 1, msg: "indented"},
		{name: "after another statement", in: "b=2; a_VER=v1\n", line: 1, msg: "alone on its line"},
		{name: "export without value", in: "a_VER=v1\nexport a_VER\n", line: 2, msg: "without a value"},
		{name: "export option", in: "export -n a_VER\n", line: 1, msg: "export -n"},
		{name: "export brace", in: "export a{,_VER}=v1\n", line: 1, msg: "export"},
		{name: "export brace value", in: "export X=x{1,2}\n", line: 1, msg: "brace"},
		{name: "second pin", in: "a_VER=v1\n: ${a_VER:=v2}\n", line: 2, msg: "second pin of a_VER (first at line 1)"},
		{name: "command substitution", in: "a_VER=$(echo v1)\n", line: 1, msg: "cannot read the value"},
		{name: "parameter", in: "V=v1\na_VER=$V\n", line: 2, msg: "cannot read the value"},
		{name: "locale string", in: `a_VER=$"v1"` + "\n", line: 1, msg: "cannot read the value"},
		{name: "single quotes in quoted default", in: `: "${a_VER:='v1'}"` + "\n", line: 1, msg: "cannot read the value"},
		{name: "tilde", in: "a_VER=~\n", line: 1, msg: "cannot read the value"},
		{name: "empty", in: "a_VER=\"\"\n", line: 1, msg: "empty version"},
		{name: "nothing", in: "a_VER=\n", line: 1, msg: "empty version"},
		{name: "space in value", in: "a_VER='v1 '\n", line: 1, msg: "not a valid image tag"},
		{name: "array", in: "a_VER=(v1)\n", line: 1, msg: "as an array"},
		{name: "index", in: "a_VER[0]=v1\n", line: 1, msg: "as an array"},
		{name: "assigning expansion elsewhere", in: "X=${a_VER:=v5}\n", line: 1, msg: "assigns a variable"},
		{name: "arithmetic assigns through a name", in: "FOO='a_VER=3'\nN=$((FOO))\n", line: 2, msg: "arithmetic", bash: map[string]string{"a": "3"}},
		{name: "index arithmetic", in: "N=${X[a_VER=3]}\n", line: 1, msg: "arithmetic"},
		{name: "error expansion", in: ": ${X:?unset}\na_VER=v1\n", line: 1, msg: "stops bash"},
		{name: "posix mode", in: "POSIXLY_CORRECT=1\nUID=1\na_VER=v1\n", line: 1, msg: "POSIXLY_CORRECT"},
		{name: "readonly variable", in: "UID=1\n", line: 1, msg: "UID"},
		{name: "crlf", in: "# c\na_VER=\"v3.3.0\"\r\n", line: 2, msg: "CR LF", bash: map[string]string{"a": "v3.3.0\r"}},
		{name: "crlf last line", in: "a_VER=v1\r", line: 1, msg: "CR LF"},
		{name: "invalid utf-8", in: "# x\na_VER=\"v1\xff\"\n", line: 2, msg: "not valid UTF-8"},
		{name: "U+0080", in: "# \u0080\na_VER=v1\n", line: 1, msg: "U+0080", bash: map[string]string{"a": "v1"}},
		{name: "U+0081", in: "a_VER=v1\n# \u0081\n", line: 2, msg: "U+0081"},
		{name: "lone carriage return", in: "a_VER=\"v1\"\r# c\n", line: 1, msg: "carriage return: bash reads it as part of a word", bash: map[string]string{}},
		{name: "syntax error", in: "a_VER=v1\nif then\n", line: 2, msg: "bash cannot parse this", bash: map[string]string{"a": "v1"}},
		{name: "unclosed heredoc", in: ": <<EOF\na_VER=v1\n", line: 1, msg: "bash cannot parse this"},
		{name: "comment ending in backslash", in: ": x # \\\na_VER=v1\n", line: 1, msg: "backslash", bash: map[string]string{"a": "v1"}},
		{name: "unowned var with a command", in: "X_VER=$(date)\n", owned: []string{"a"}, line: 1, msg: "command substitution"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "pins.src")
			if err := os.WriteFile(path, []byte(tc.in), 0o644); err != nil {
				t.Fatal(err)
			}
			var opts []Option
			if tc.owned != nil {
				opts = append(opts, Owned(tc.owned...))
			}
			f, err := Parse("pins.src", []byte(tc.in), opts...)
			if tc.msg != "" {
				var pe *ParseError
				if !errors.As(err, &pe) {
					t.Fatalf("Parse = %v, want a *ParseError", err)
				}
				if pe.Line != tc.line || !strings.Contains(pe.Msg, tc.msg) {
					t.Errorf("error %q, want pins.src:%d: ...%s...", err, tc.line, tc.msg)
				}
				if tc.bash != nil {
					if diff := cmp.Diff(tc.bash, bashVars(t, path)); diff != "" {
						t.Errorf("bash sets (-want +got):\n%s", diff)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := bashVars(t, path)
			got := map[string]string{}
			kinds := map[string]Kind{}
			for _, p := range f.Pins() {
				got[p.Var], kinds[p.Var] = p.Version, p.Kind
			}
			if tc.owned != nil {
				for v := range want {
					if !contains(tc.owned, v) {
						delete(want, v)
					}
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("pins (-bash +imgver):\n%s", diff)
			}
			if tc.kinds == nil {
				tc.kinds = map[string]Kind{}
			}
			if diff := cmp.Diff(tc.kinds, kinds); diff != "" {
				t.Errorf("kinds (-want +got):\n%s", diff)
			}
			if !bytes.Equal(f.Bytes(), []byte(tc.in)) {
				t.Error("no round trip")
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
