package pinfile

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

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
