package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/daemon"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"golang.org/x/sys/unix"

	"github.com/imgver/imgver/internal/config/configtest"
	"github.com/imgver/imgver/internal/imagetest"
	"github.com/imgver/imgver/internal/pinfile"
	"github.com/imgver/imgver/internal/regtest"
	"github.com/imgver/imgver/internal/userfile/userfiletest"
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
	return imgverContext(t.Context(), t, args...)
}

// imgverContext is imgver until ctx is done.
func imgverContext(ctx context.Context, t *testing.T, args ...string) result {
	t.Helper()
	args = withCache(t, args)
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, strings.NewReader(""), &stdout, &stderr)
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
	c := configtest.Monorepo(t, `registry = "registry.example/acme"

image "api-gateway" {
  var = "apigateway"
}
image "svc-lighthouse-api" {}
image "postgres" {}
image "console" {}
`, pins, nil)
	return c.Path, c.PinFile
}

// writeFile writes content to path, making the directories it needs.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
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
	if diff := cmp.Diff(userfiletest.Read(t, path), got); diff != "" {
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
				if got := userfiletest.Read(t, pins); got != demoPins {
					t.Errorf("pin file changed:\n%s", got)
				}
			} else {
				golden(t, tc.pinsGolden, userfiletest.Read(t, pins))
			}
		})
	}
}

func TestReleaseIdempotent(t *testing.T) {
	cfg, pins := monorepo(t, demoPins)
	if r := imgver(t, "--config", cfg, "release", "v3.5.0"); r.code != 0 {
		t.Fatalf("release: %+v", r)
	}
	after := userfiletest.Read(t, pins)
	r := imgver(t, "--config", cfg, "release", "v3.5.0")
	if r.code != 0 || !strings.Contains(r.stdout, "nothing to pin") {
		t.Fatalf("second release: %+v", r)
	}
	if got := userfiletest.Read(t, pins); got != after {
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
				if got := userfiletest.Read(t, pins); got != tc.pins {
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
			if got := userfiletest.Read(t, pins); !strings.HasPrefix(got, "# x\n"+line) {
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
	if got := userfiletest.Read(t, pins); got != demoPins {
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
	if got := userfiletest.Read(t, pins); got != demoPins {
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
	if diff := cmp.Diff(want, userfiletest.Read(t, out)); diff != "" {
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

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds the imgver binary once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "imgver-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "imgver")
		cmd := exec.Command("go", "build", "-o", binPath, ".")
		cmd.Dir = filepath.Dir(testdata) // a test may have changed directory
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	// No test reads or fills the user's cache; runs that do not name a
	// cache (the binaries the tests start) share this one.
	cacheDir, err := os.MkdirTemp("", "imgver-test-cache")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Setenv(cacheDirEnv, cacheDir)
	code := m.Run()
	os.RemoveAll(cacheDir)
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// gitHubFiles are a new $GITHUB_OUTPUT and $GITHUB_STEP_SUMMARY, and env,
// the environment that names them, for a run of the built binary.
type gitHubFiles struct {
	output, summary string
	env             []string
}

func newGitHubFiles(t *testing.T) gitHubFiles {
	t.Helper()
	dir := t.TempDir()
	f := gitHubFiles{output: filepath.Join(dir, "output"), summary: filepath.Join(dir, "summary")}
	f.env = []string{"GITHUB_OUTPUT=" + f.output, "GITHUB_STEP_SUMMARY=" + f.summary}
	return f
}

// binaryCmd is one run of the built imgver, its output captured.
type binaryCmd struct {
	*exec.Cmd
	stdout, stderr strings.Builder
}

// newBinaryCmd prepares the built imgver with args, to run in dir (""
// the test's working directory) with env added to the environment; ctx
// kills it.
func newBinaryCmd(ctx context.Context, t *testing.T, dir string, env []string, args ...string) *binaryCmd {
	t.Helper()
	c := &binaryCmd{Cmd: exec.CommandContext(ctx, binary(t), args...)}
	c.Dir = dir
	c.Env = append(os.Environ(), cacheDirEnv+"="+t.TempDir()) // a cache of its own, as imgver() gives
	c.Env = append(c.Env, env...)
	c.Stdout, c.Stderr = &c.stdout, &c.stderr
	return c
}

// result is what the run that ended with err (from Run or Wait) gave.
func (c *binaryCmd) result(t *testing.T, err error) result {
	t.Helper()
	return result{c.stdout.String(), c.stderr.String(), exitCode(t, err)}
}

// exitCode is the exit code of a process that ended with err (from Wait).
func exitCode(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return 0
}

// runBinary runs the built imgver in dir.
func runBinary(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	return runBinaryContext(t.Context(), t, dir, env, args...)
}

// runBinaryContext runs the built imgver in dir until it ends or ctx is done.
func runBinaryContext(ctx context.Context, t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	c := newBinaryCmd(ctx, t, dir, env, args...)
	return c.result(t, c.Run())
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false"}, args...)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// gitCommit makes dir a git repository with one commit of paths (every
// file when none are named) and returns its SHA.
func gitCommit(t *testing.T, dir, msg string, paths ...string) string {
	t.Helper()
	if len(paths) == 0 {
		paths = []string{"-A"}
	}
	git(t, dir, "init", "-q")
	git(t, dir, append([]string{"add"}, paths...)...)
	git(t, dir, "commit", "-qm", msg)
	return git(t, dir, "rev-parse", "HEAD")
}

// TestBinaryDemo runs the real binary on a temp copy of the bundled demo
// monorepo, as a new user would from the README.
func TestBinaryDemo(t *testing.T) {
	repo := t.TempDir()
	if out, err := exec.Command("cp", "-r", "../../images.hcl", "../../demo", repo).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	pinsPath := filepath.Join(repo, "scripts", "image_versions.src")
	orig := userfiletest.Read(t, "../../scripts/image_versions.src")
	writeFile(t, pinsPath, orig)
	sha := gitCommit(t, repo, "demo")
	sub := filepath.Join(repo, "demo", "api-gateway") // images.hcl is found in a parent

	r := runBinary(t, sub, nil, "list")
	if r.code != 0 || !strings.Contains(r.stdout, "api-gateway") || !strings.Contains(r.stdout, "manual") {
		t.Fatalf("list: %+v", r)
	}

	// vars is sourceable by bash and resolves unpinned images to the short SHA.
	r = runBinary(t, sub, nil, "vars")
	if r.code != 0 {
		t.Fatalf("vars: %+v", r)
	}
	varsFile := filepath.Join(t.TempDir(), "vars.sh")
	writeFile(t, varsFile, r.stdout)
	out, err := exec.Command("bash", "-c", `source "$1" && echo "$apigateway_VER $console_VER $svc_bie_kafka_VER $postgres_VER"`, "bash", varsFile).CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	if got, want := strings.TrimSpace(string(out)), "v3.3.0 "+sha[:7]+" v3.2.1 v3.4.0"; got != want {
		t.Errorf("sourced vars = %q, want %q", got, want)
	}
	// The pin file itself is sourceable too.
	out, err = exec.Command("bash", "-c", `source "$1" && echo "$postgres_VER"`, "bash", pinsPath).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "v3.4.0" {
		t.Errorf("sourcing the pin file: %q, %v", out, err)
	}

	r = runBinary(t, sub, nil, "release", "v3.5.0")
	if r.code != 0 || r.stdout != "pinned console to v3.5.0\n" {
		t.Fatalf("release: %+v", r)
	}
	pins, err := pinfile.Read(pinsPath)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := pins.Lookup("svc_bie_kafka"); p.Kind != pinfile.Manual || p.Version != "v3.2.1" {
		t.Errorf("release touched the manual pin: %+v", p)
	}
	if !strings.HasPrefix(userfiletest.Read(t, pinsPath), orig) {
		t.Error("release changed lines it did not mean to touch")
	}
	if r := runBinary(t, sub, nil, "unpin", "console"); r.code != 0 {
		t.Fatalf("unpin: %+v", r)
	}
	if got := userfiletest.Read(t, pinsPath); got != orig {
		t.Errorf("release then unpin of its pins did not restore the file:\n%s", got)
	}
	if r := runBinary(t, t.TempDir(), nil, "list"); r.code != 2 || !strings.Contains(r.stderr, "no images.hcl found") {
		t.Errorf("list outside a monorepo: %+v", r)
	}
}

// TestBinarySpecialPinFile runs the built binary on a pin file (or a
// config) that is a FIFO, a socket or a character device: every command
// exits 2 at once with one line naming the file, and the file stays what it
// was. Before, a FIFO blocked every command in open() and a device was
// replaced by a regular file.
func TestBinarySpecialPinFile(t *testing.T) {
	cfg, pins := monorepo(t, demoPins)
	dir := filepath.Dir(pins)
	specials := userfiletest.Specials(t, dir)
	for _, path := range specials {
		for _, args := range [][]string{
			{"--pin-file", path, "list"},
			{"--pin-file", path, "vars", "--commit", "0123456789"},
			{"--pin-file", path, "release", "v1.0.0", "--dry-run"},
			{"--pin-file", path, "pin", "postgres", "v1.0.0"},
			{"--pin-file", path, "unpin", "console"},
			{"--config", path, "list"}, // the later --config wins
		} {
			t.Run(filepath.Base(path)+"/"+args[0]+"/"+args[2], func(t *testing.T) {
				t.Parallel() // nothing is written when the test passes
				before, err := os.Lstat(path)
				if err != nil {
					t.Fatal(err)
				}
				// A run takes milliseconds; one blocked in open() is killed
				// after 5 s, a margin for a loaded machine (no timed
				// assertion beyond that: the speed is not what is tested).
				ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
				defer cancel()
				start := time.Now()
				r := runBinaryContext(ctx, t, "", nil, append([]string{"--config", cfg}, args...)...)
				took := time.Since(start)
				if ctx.Err() != nil || r.code != 2 {
					t.Fatalf("after %v: exit %d (context %v), stderr %q; want exit 2", took, r.code, ctx.Err(), r.stderr)
				}
				msg := r.stderr
				if strings.Count(msg, "\n") != 1 || !strings.Contains(msg, path) || !strings.Contains(msg, "not a regular file") {
					t.Errorf("stderr %q, want one line naming %s, not a regular file", msg, path)
				}
				after, err := os.Lstat(path)
				if err != nil || after.Mode() != before.Mode() || !os.SameFile(before, after) {
					t.Errorf("%s changed: %v -> %v (%v)", path, before.Mode(), after.Mode(), err)
				}
			})
		}
	}
	t.Cleanup(func() {
		if got := userfiletest.Read(t, pins); got != demoPins {
			t.Errorf("the real pin file changed: %q", got)
		}
	})
}

// silentRegistry listens on 127.0.0.1, accepts connections and never
// answers. accepted gets a value per connection.
func silentRegistry(t *testing.T) (host string, accepted <-chan struct{}) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan struct{}, 100)
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		l.Close()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String(), ch
}

// signalled runs the binary in dir, waits for ready, sends sig and returns
// how the process ended. A process still running 5 s after the signal is
// killed and fails the test: the hang guard.
func signalled(t *testing.T, dir string, env []string, sig syscall.Signal, ready func(pid int), args ...string) (result, time.Duration) {
	t.Helper()
	cmd := newBinaryCmd(t.Context(), t, dir, env, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	ready(cmd.Process.Pid)
	start := time.Now()
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signalling: %v (stderr %q)", err, cmd.stderr.String())
	}
	var err error
	select {
	case err = <-done:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		err = <-done
		t.Fatalf("imgver %s still running 5s after %v (killed: %v); stderr %q", strings.Join(args, " "), sig, err, cmd.stderr.String())
	}
	took := time.Since(start)
	return cmd.result(t, err), took
}

// waitOpened waits until process pid has path open (by /proc/PID/fd).
func waitOpened(t *testing.T, pid int, path string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
		for _, fd := range fds {
			if l, err := os.Readlink(fd); err == nil && l == path {
				return
			}
		}
	}
	t.Errorf("process %d never opened %s", pid, path)
}

// waitBlockedInOpen waits until a thread of process pid sits in openat(2)
// (syscall 257 on amd64, 56 on arm64), as /proc/PID/task/TID/syscall tells.
func waitBlockedInOpen(t *testing.T, pid int) {
	t.Helper()
	nr, ok := map[string]string{"amd64": "257 ", "arm64": "56 "}[runtime.GOARCH]
	if !ok {
		t.Skipf("no openat syscall number for %s", runtime.GOARCH)
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/syscall", pid))
		for _, f := range files {
			if b, err := os.ReadFile(f); err == nil && strings.HasPrefix(string(b), nr) {
				return
			}
		}
	}
	t.Errorf("process %d never blocked in open", pid)
}

// TestSignal: SIGTERM and SIGINT end a command promptly whatever it waits
// on, exit 2 with one line, and leave the pin file as it was.
func TestSignal(t *testing.T) {
	t.Parallel()
	host, accepted := silentRegistry(t)
	waitRegistry := func(int) {
		select {
		case <-accepted:
		case <-time.After(30 * time.Second):
			t.Error("imgver never reached the registry")
		}
	}
	tests := []struct {
		name  string
		sig   syscall.Signal
		setup func(t *testing.T, dir string) (ready func(pid int))
		env   []string
		args  []string
		want  string
	}{
		{
			// An unpinned image: detect checks its candidate and looks
			// up its base in a registry that never answers. Before, it
			// turned the cancelled base lookup into a warning and said
			// "publish" with exit 0.
			name: "detect, registry silent", sig: syscall.SIGTERM,
			setup: func(*testing.T, string) func(int) { return waitRegistry },
			args:  []string{"detect", "--commit", "abcdef0", "--write", "--no-check"},
			want:  "imgver: interrupted: terminated signal received\n",
		},
		{
			name: "base check, registry silent", sig: syscall.SIGINT,
			setup: func(*testing.T, string) func(int) { return waitRegistry },
			args:  []string{"base", "check"},
			want:  "imgver: interrupted: interrupt signal received\n",
		},
		{
			name: "pin, lock held", sig: syscall.SIGTERM,
			setup: func(t *testing.T, dir string) func(int) {
				scripts := filepath.Join(dir, "scripts")
				d, err := os.Open(scripts)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { d.Close() })
				if err := unix.Flock(int(d.Fd()), unix.LOCK_EX); err != nil {
					t.Fatal(err)
				}
				return func(pid int) { waitOpened(t, pid, scripts) }
			},
			args: []string{"pin", "a", "v2.0.0"},
			want: "imgver: interrupted: terminated signal received\n",
		},
		{
			// open(2) of a FIFO blocks where no context reaches: the
			// process exits anyway, grace after the signal. $GITHUB_OUTPUT
			// may be a FIFO or a device (/dev/stdout); the config and the
			// pin file may not (userfile refuses them unopened).
			name: "GITHUB_OUTPUT that is a FIFO", sig: syscall.SIGTERM,
			setup: func(t *testing.T, dir string) func(int) {
				fifo := filepath.Join(dir, "fifo.out")
				if err := unix.Mkfifo(fifo, 0o644); err != nil {
					t.Fatal(err)
				}
				// Nobody reads it: imgver's open for writing blocks.
				return func(pid int) { waitBlockedInOpen(t, pid) }
			},
			env:  []string{"GITHUB_OUTPUT=fifo.out"},
			args: []string{"vars", "--commit", "abcdef0", "--format", "github"},
			want: "imgver: interrupted (terminated signal received) and still blocked 2s later: exiting\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pins := "#!/bin/bash\n# keep\n"
			c := configtest.Monorepo(t, fmt.Sprintf(`registry = "%[1]s/acme"
image "a" {
  dockerfile = "Dockerfile"
  candidate  = "%[1]s/acme/a:{sha}"
}
`, host), pins, map[string]string{"Dockerfile": "FROM " + host + "/library/base:1.2.3\n"})
			dir, pinFile := c.Dir, c.PinFile
			ready := tc.setup(t, dir)
			r, took := signalled(t, dir, tc.env, tc.sig, ready, tc.args...)
			t.Logf("exit %d %s after %v", r.code, strings.TrimSpace(r.stderr), took)
			if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 and %q", r.code, r.stderr, tc.want)
			}
			if got := userfiletest.Read(t, pinFile); got != pins {
				t.Errorf("pin file changed:\n%s", got)
			}
		})
	}
}

// pushLayout pushes the image of the OCI layout dir as ref, as CI's
// "skopeo copy oci:build/NAME docker://REF" does.
func pushLayout(t *testing.T, dir, ref string) v1.Hash {
	t.Helper()
	img, d := layoutImage(t, dir)
	regtest.Push(t, ref, img)
	return d
}

// layoutImage returns the one image of the OCI layout dir and its digest.
func layoutImage(t *testing.T, dir string) (v1.Image, v1.Hash) {
	t.Helper()
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil || len(m.Manifests) != 1 {
		t.Fatalf("layout %s: %v %v", dir, m, err)
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	return img, m.Manifests[0].Digest
}

// e2eDockerHost returns the DOCKER_HOST of the real Docker engine
// scripts/test.sh starts (IMGVER_E2E_DOCKER_HOST, from scripts/dockerd.sh).
func e2eDockerHost(t *testing.T) string {
	t.Helper()
	host := os.Getenv("IMGVER_E2E_DOCKER_HOST")
	if host == "" {
		t.Skip("IMGVER_E2E_DOCKER_HOST is not set; scripts/test.sh starts a Docker engine and sets it")
	}
	t.Setenv("DOCKER_HOST", host)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if _, err := daemon.Image(name.MustParseReference("imgver-e2e/none:none"), daemon.WithContext(ctx)); err != nil && !strings.Contains(err.Error(), "No such image") && !strings.Contains(err.Error(), "no such image") {
		t.Fatalf("IMGVER_E2E_DOCKER_HOST=%s does not answer: %v", host, err)
	}
	return host
}

// dockerLoad loads img into the Docker engine of e2eDockerHost as repo,
// tagged with the test's name, and returns the tag.
func dockerLoad(t *testing.T, repo string, img v1.Image) name.Tag {
	t.Helper()
	tag, err := name.NewTag(repo + ":" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := daemon.Write(tag, img, daemon.WithContext(t.Context())); err != nil {
		t.Fatalf("loading the image into the engine: %v", err)
	}
	return tag
}

// layoutDigest is the manifest digest of the one image of the OCI layout dir.
func layoutDigest(t *testing.T, dir string) v1.Hash {
	t.Helper()
	_, d := layoutImage(t, dir)
	return d
}

// binaryJSON runs the binary with args and --format json, wants exit 0, and
// decodes its output as a T.
func binaryJSON[T any](t *testing.T, dir string, args ...string) (*T, result) {
	t.Helper()
	res := runBinary(t, dir, nil, append(slices.Clip(args), "--format", "json")...)
	if res.code != 0 {
		t.Fatalf("%v --format json: exit %d\n%s%s", args, res.code, res.stdout, res.stderr)
	}
	v := new(T)
	if err := json.Unmarshal([]byte(res.stdout), v); err != nil {
		t.Fatalf("%v --format json: %v\n%s", args, err, res.stdout)
	}
	return v, res
}

// registryImage returns the image ref of a registry.
func registryImage(t *testing.T, ref string) v1.Image {
	t.Helper()
	img, err := crane.Pull(ref, crane.WithContext(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// ownLayers returns the layers of img that none of others has: the blobs
// only a read of img fetches.
func ownLayers(t *testing.T, img v1.Image, others ...v1.Image) []v1.Hash {
	t.Helper()
	var theirs []v1.Hash
	for _, o := range others {
		theirs = append(theirs, imagetest.LayerDigests(t, o)...)
	}
	var out []v1.Hash
	for _, d := range imagetest.LayerDigests(t, img) {
		if !slices.Contains(theirs, d) {
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		t.Fatal("the image has no layer of its own")
	}
	return out
}

// referrersTag returns the index the referrers tag schema keeps for the
// manifest d of repo (sha256-<hex>): what a registry without the referrers
// API, such as distribution 2.8, lists the summaries of d by.
func referrersTag(t *testing.T, repo, digest string) *v1.IndexManifest {
	t.Helper()
	b, err := crane.Manifest(repo+":"+strings.Replace(digest, ":", "-", 1), crane.WithContext(t.Context()))
	if err != nil {
		t.Fatalf("the referrers tag of %s@%s: %v", repo, digest, err)
	}
	m, err := v1.ParseIndexManifest(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return m
}
