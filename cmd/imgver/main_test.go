package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

// result is what one imgver run gave.
type result struct {
	stdout, stderr string
	code           int
}

// imgver runs the command in-process with a fresh root and returns what it
// printed and its exit code. A command that reads layers gets an empty local
// cache of its own unless args name one, so that no run sees what another
// test cached (its JSON would say "cache" where the golden says "layers").
func imgver(t *testing.T, args ...string) result {
	t.Helper()
	args = withCache(t, args)
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), args, strings.NewReader(""), &stdout, &stderr)
	return result{stdout.String(), stderr.String(), code}
}

// withCache adds --cache-dir with a new empty directory after the command
// of args when it has the cache flags and args set none of them.
func withCache(t *testing.T, args []string) []string {
	t.Helper()
	for _, a := range args {
		if strings.HasPrefix(a, "--cache-dir") || strings.HasPrefix(a, "--no-cache") {
			return args
		}
	}
	cmd, _, err := newRootCmd().Find(args)
	if err != nil || cmd.Flags().Lookup("cache-dir") == nil {
		return args
	}
	for i, a := range args {
		if a == cmd.Name() {
			return slices.Concat(args[:i+1], []string{"--cache-dir", t.TempDir()}, args[i+1:])
		}
	}
	return args
}

// monorepo writes a small monorepo to a temp dir and returns the path of its
// images.hcl and of its pin file.
func monorepo(t *testing.T, pins string) (cfg, pinFile string) {
	t.Helper()
	dir := t.TempDir()
	cfg = filepath.Join(dir, "images.hcl")
	writeFile(t, cfg, `registry = "registry.example/acme"

image "api-gateway" {
  var = "apigateway"
}
image "svc-lighthouse-api" {}
image "postgres" {}
image "console" {}
`)
	pinFile = filepath.Join(dir, "scripts", "image_versions.src")
	if err := os.MkdirAll(filepath.Dir(pinFile), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, pinFile, pins)
	return cfg, pinFile
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

const demoPins = `#!/bin/bash
# 2026-10-02T14:03:11Z -- v3.4.0
svc_lighthouse_api_VER="v3.4.0"
postgres_VER="v3.4.0"

# held back by hand
export console_VER="v3.2.1"
`

var timeRE = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`)

// testdata is the package's testdata directory, found before a test
// changes directory.
var testdata = func() string {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	return filepath.Join(wd, "testdata")
}()

// golden compares got with testdata/NAME.golden, rewriting it with -update.
// Times are replaced by TIME.
func golden(t *testing.T, name, got string) {
	t.Helper()
	got = timeRE.ReplaceAllString(got, "TIME")
	path := filepath.Join(testdata, name+".golden")
	if *update {
		writeFile(t, path, got)
	}
	if diff := cmp.Diff(readString(t, path), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

func TestCommands(t *testing.T) {
	const sha = "0123456789abcdef0123456789abcdef01234567"
	for _, tc := range []struct {
		name string
		args []string
		code int
		// pinsGolden: compare the pin file afterwards with this golden;
		// empty: the pin file must be byte-identical.
		pinsGolden string
	}{
		{name: "list", args: []string{"list"}},
		{name: "list-json", args: []string{"list", "--format", "json"}},
		{name: "pin", args: []string{"pin", "api-gateway", "v3.5.0"}, pinsGolden: "pins-after-pin"},
		{name: "pin-replaces", args: []string{"pin", "postgres", "v3.5.0"}, pinsGolden: "pins-after-pin-replaces"},
		{name: "pin-manual", args: []string{"pin", "postgres", "v3.4.1", "--manual"}, pinsGolden: "pins-after-pin-manual"},
		{name: "pin-same", args: []string{"pin", "postgres", "v3.4.0"}},
		{name: "pin-force", args: []string{"pin", "api-gateway", "hotfix-1", "--force"}, pinsGolden: "pins-after-pin-force"},
		{name: "unpin", args: []string{"unpin", "postgres", "console", "api-gateway"}, pinsGolden: "pins-after-unpin"},
		{name: "unpin-empties-block", args: []string{"unpin", "postgres", "svc-lighthouse-api"}, pinsGolden: "pins-after-unpin-block"},
		{name: "release", args: []string{"release", "v3.5.0"}, pinsGolden: "pins-after-release"},
		{name: "release-dry-run", args: []string{"release", "v3.5.0", "--dry-run"}},
		{name: "release-json", args: []string{"release", "v3.5.0", "--dry-run", "--format", "json"}},
		{name: "vars", args: []string{"vars", "--commit", sha}},
		{name: "vars-json", args: []string{"vars", "--commit", sha, "--format", "json"}},
		{name: "vars-github-stdout", args: []string{"vars", "--commit", sha, "--format", "github"}},
		// Bad input: exit 2, one clear line, pin file untouched.
		{name: "err-unknown-image", args: []string{"pin", "nope", "v1.0.0"}, code: 2},
		{name: "err-unknown-unpin", args: []string{"unpin", "postgres", "nope"}, code: 2},
		{name: "err-bad-version", args: []string{"pin", "postgres", "1.2"}, code: 2},
		{name: "err-bad-tag-forced", args: []string{"pin", "postgres", "a b", "--force"}, code: 2},
		{name: "err-release-version", args: []string{"release", "3.5"}, code: 2},
		{name: "err-short-commit", args: []string{"vars", "--commit", "abc"}, code: 2},
		{name: "err-bad-commit", args: []string{"vars", "--commit", "not-a-sha"}, code: 2},
		{name: "err-format", args: []string{"list", "--format", "yaml"}, code: 2},
		{name: "err-args", args: []string{"pin", "postgres"}, code: 2},
		{name: "err-flag", args: []string{"list", "--nope"}, code: 2},
		{name: "err-unknown-subcommand", args: []string{"base", "frob"}, code: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GITHUB_OUTPUT", "")
			cfg, pins := monorepo(t, demoPins)
			r := imgver(t, append([]string{"--config", cfg}, tc.args...)...)
			if r.code != tc.code {
				t.Fatalf("exit code %d, want %d\nstdout: %s\nstderr: %s", r.code, tc.code, r.stdout, r.stderr)
			}
			if tc.code == 0 {
				golden(t, tc.name, r.stdout)
			} else {
				if r.stdout != "" {
					t.Errorf("stdout on error: %q", r.stdout)
				}
				first, _, _ := strings.Cut(r.stderr, "\n")
				golden(t, tc.name, strings.ReplaceAll(first, filepath.Dir(cfg), "DIR")+"\n")
			}
			if tc.pinsGolden == "" {
				if got := readString(t, pins); got != demoPins {
					t.Errorf("pin file changed:\n%s", got)
				}
			} else {
				golden(t, tc.pinsGolden, readString(t, pins))
			}
		})
	}
}

func TestReleaseIdempotent(t *testing.T) {
	cfg, pins := monorepo(t, demoPins)
	if r := imgver(t, "--config", cfg, "release", "v3.5.0"); r.code != 0 {
		t.Fatalf("release: %+v", r)
	}
	after := readString(t, pins)
	r := imgver(t, "--config", cfg, "release", "v3.5.0")
	if r.code != 0 || !strings.Contains(r.stdout, "nothing to pin") {
		t.Fatalf("second release: %+v", r)
	}
	if got := readString(t, pins); got != after {
		t.Errorf("second release changed the pin file:\n%s", got)
	}
}

// TestReleaseJSONNothingToPin: "pinned" is an empty array, not null, when
// every image is pinned already.
func TestReleaseJSONNothingToPin(t *testing.T) {
	cfg, _ := monorepo(t, demoPins+"apigateway_VER=\"v3.4.0\"\n")
	for _, args := range [][]string{{"--dry-run"}, nil} {
		r := imgver(t, append([]string{"--config", cfg, "release", "v3.5.0", "--format", "json"}, args...)...)
		if r.code != 0 || !strings.Contains(r.stdout, `"pinned": []`) {
			t.Errorf("release %v: exit %d, stdout:\n%s\nstderr: %s", args, r.code, r.stdout, r.stderr)
		}
	}
}

// TestBadPinFile: every command that writes or resolves refuses a pin file
// it cannot read, naming file and line, and leaves it byte-identical; list
// warns and goes on.
func TestBadPinFile(t *testing.T) {
	for _, tc := range []struct{ name, pins, msg string }{
		{"unreadable", "postgres_VER=v1 2\n", "image_versions.src:1: cannot read the value of postgres_VER"},
		{"duplicate", "postgres_VER=v1.0.0\npostgres_VER=v1.0.1\n", "image_versions.src:2: second pin of postgres_VER (first at line 1)"},
		{"crlf", "postgres_VER=v1.0.0\r\n", "image_versions.src:1: the line ends in CR LF"},
		{"append", "postgres_VER=v1.0.0\npostgres_VER+=-rc1\n", "image_versions.src:2: postgres_VER+= appends"},
		{"conditional", "if false; then\npostgres_VER=v1.0.0\nfi\n", "image_versions.src:1: an if statement"},
	} {
		for _, args := range [][]string{
			{"pin", "api-gateway", "v1.0.0"},
			{"unpin", "api-gateway"},
			{"release", "v1.0.0"},
			{"release", "v1.0.0", "--dry-run"},
			{"vars", "--commit", "0123456789"},
		} {
			t.Run(tc.name+"/"+args[0], func(t *testing.T) {
				cfg, pins := monorepo(t, tc.pins)
				r := imgver(t, append([]string{"--config", cfg}, args...)...)
				if r.code != 2 || !strings.Contains(r.stderr, tc.msg) {
					t.Errorf("exit %d, stderr %q; want 2 and %q", r.code, r.stderr, tc.msg)
				}
				if got := readString(t, pins); got != tc.pins {
					t.Errorf("pin file changed: %q", got)
				}
			})
		}
		t.Run(tc.name+"/list", func(t *testing.T) {
			cfg, _ := monorepo(t, tc.pins)
			r := imgver(t, "--config", cfg, "list")
			if r.code != 0 || !strings.Contains(r.stderr, "warning: ") || !strings.Contains(r.stdout, "api-gateway") {
				t.Errorf("list: %+v", r)
			}
		})
	}
}

// TestUnknownVar: a _VER variable that no image owns (VRO's own
// CURRENT_RELEASE_VER) is never a reason to refuse the pin file (issue 9):
// every command works, keeps its line byte for byte, and those that report
// the pin file's state (list, vars) warn about it.
func TestUnknownVar(t *testing.T) {
	const line = "CURRENT_RELEASE_VER=\"v3.1.0\"  # VRO's own\n"
	for _, tc := range []struct {
		args []string
		warn bool
	}{
		{args: []string{"pin", "api-gateway", "v1.0.0"}},
		{args: []string{"unpin", "postgres"}},
		{args: []string{"release", "v1.0.0"}},
		{args: []string{"release", "v1.0.0", "--dry-run"}},
		{args: []string{"vars", "--commit", "0123456789"}, warn: true},
		{args: []string{"list"}, warn: true},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			cfg, pins := monorepo(t, "# x\n"+line+"postgres_VER=\"v1.0.0\"\n")
			r := imgver(t, append([]string{"--config", cfg}, tc.args...)...)
			if r.code != 0 {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			if warned := strings.Contains(r.stderr, "image_versions.src:2: CURRENT_RELEASE_VER pins no image of the config"); warned != tc.warn {
				t.Errorf("warned %v, want %v; stderr %q", warned, tc.warn, r.stderr)
			}
			if got := readString(t, pins); !strings.HasPrefix(got, "# x\n"+line) {
				t.Errorf("pin file:\n%s", got)
			}
		})
	}
}

// TestPinFileInMissingDir: a --pin-file in a directory that does not exist
// is an error for every command, not an empty pin file.
func TestPinFileInMissingDir(t *testing.T) {
	cfg, _ := monorepo(t, demoPins)
	missing := filepath.Join(t.TempDir(), "nodir", "pins.src")
	for _, args := range [][]string{
		{"list"},
		{"vars", "--commit", "0123456789"},
		{"release", "v1.0.0", "--dry-run"},
		{"pin", "postgres", "v1.0.0"},
	} {
		r := imgver(t, append([]string{"--config", cfg, "--pin-file", missing}, args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, "nodir") || r.stdout != "" {
			t.Errorf("%v: %+v; want exit 2 naming nodir", args, r)
		}
	}
}

// TestPinFileErrorNamesRelativePath: run inside the monorepo, every command
// names the pin file as the user sees it, as list does.
func TestPinFileErrorNamesRelativePath(t *testing.T) {
	cfg, _ := monorepo(t, "postgres_VER=v1 2\n")
	t.Chdir(filepath.Dir(cfg))
	for _, args := range [][]string{{"unpin", "postgres"}, {"vars", "--commit", "0123456789"}, {"list"}} {
		r := imgver(t, args...)
		if want := filepath.Join("scripts", "image_versions.src") + ":1: "; !strings.Contains(r.stderr, "imgver: "+want) && !strings.Contains(r.stderr, "warning: "+want) {
			t.Errorf("%v: stderr %q, want it to name %s", args, r.stderr, want)
		}
	}
}

// TestMalformedIgnoreGlobFailsAtLoad: a glob detect's matcher cannot use
// fails when images.hcl is loaded, for any command, with exit 2 and an HCL
// diagnostic naming the file and line.
func TestMalformedIgnoreGlobFailsAtLoad(t *testing.T) {
	cfg, pins := monorepo(t, demoPins)
	writeFile(t, cfg, "registry = \"r.io/x\"\nignore = [\"/a/{b\"]\nimage \"a\" {}\n")
	for _, args := range [][]string{{"list"}, {"vars", "--commit", "0123456789"}, {"release", "v1.0.0"}} {
		r := imgver(t, append([]string{"--config", cfg}, args...)...)
		first, _, _ := strings.Cut(r.stderr, "\n")
		if r.code != 2 || !strings.HasPrefix(first, "imgver: "+cfg+":2:10: Invalid ignore glob") {
			t.Errorf("%v: exit %d, first line %q", args, r.code, first)
		}
		if !strings.Contains(r.stderr, "on "+cfg+" line 2") {
			t.Errorf("%v: no HCL diagnostic naming %s line 2:\n%s", args, cfg, r.stderr)
		}
	}
	if got := readString(t, pins); got != demoPins {
		t.Errorf("pin file changed")
	}
}

func TestBadConfig(t *testing.T) {
	cfg, pins := monorepo(t, demoPins)
	writeFile(t, cfg, "registry = \"r.io/x\"\nimage \"a\" {}\nimage \"a\" {}\n")
	r := imgver(t, "--config", cfg, "release", "v1.0.0")
	first, rest, _ := strings.Cut(r.stderr, "\n")
	if r.code != 2 || !strings.HasPrefix(first, "imgver: "+cfg+":3:1: Duplicate image block") {
		t.Errorf("exit %d, first line %q", r.code, first)
	}
	if !strings.Contains(rest, "3: image \"a\" {}") {
		t.Errorf("no source snippet after the first line:\n%s", rest)
	}
	if got := readString(t, pins); got != demoPins {
		t.Errorf("pin file changed")
	}
	r = imgver(t, "--config", filepath.Join(t.TempDir(), "missing.hcl"), "list")
	if r.code != 2 || !strings.Contains(r.stderr, "reading config") {
		t.Errorf("missing config: %+v", r)
	}
}

func TestVarsGitHubOutputAndEnv(t *testing.T) {
	cfg, _ := monorepo(t, demoPins)
	out := filepath.Join(t.TempDir(), "github_output")
	writeFile(t, out, "earlier=1\n")
	t.Setenv("GITHUB_OUTPUT", out)
	t.Setenv("postgres_VER", "v9.9.9")
	r := imgver(t, "--config", cfg, "vars", "--commit", "abcdef0123", "--format", "github", "--env-overrides")
	if r.code != 0 || r.stdout != "" {
		t.Fatalf("%+v", r)
	}
	want := "earlier=1\napigateway_VER=abcdef0\nsvc_lighthouse_api_VER=v3.4.0\npostgres_VER=v9.9.9\nconsole_VER=v3.2.1\n"
	if diff := cmp.Diff(want, readString(t, out)); diff != "" {
		t.Errorf("$GITHUB_OUTPUT (-want +got):\n%s", diff)
	}
	// Without --env-overrides the environment is ignored.
	r = imgver(t, "--config", cfg, "vars", "--commit", "abcdef0123", "--format", "json")
	if strings.Contains(r.stdout, "v9.9.9") {
		t.Errorf("environment used without --env-overrides:\n%s", r.stdout)
	}
	t.Setenv("postgres_VER", "bad tag")
	r = imgver(t, "--config", cfg, "vars", "--commit", "abcdef0123", "--env-overrides")
	if r.code != 2 || !strings.Contains(r.stderr, "postgres_VER") {
		t.Errorf("bad override: %+v", r)
	}
}

func TestByteSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 5 << 20: "5.0 MiB", 3 << 30: "3.0 GiB", 2 << 40: "2.0 TiB"} {
		if got := byteSize(n); got != want {
			t.Errorf("byteSize(%d) = %q, want %q", n, got, want)
		}
	}
}
