package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imgver/imgver/internal/pinfile"
	"github.com/imgver/imgver/internal/userfile/userfiletest"
)

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
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
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
	mkdirAll(t, filepath.Join(repo, "scripts"))
	pinsPath := filepath.Join(repo, "scripts", "image_versions.src")
	orig := readString(t, "../../scripts/image_versions.src")
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
	if !strings.HasPrefix(readString(t, pinsPath), orig) {
		t.Error("release changed lines it did not mean to touch")
	}
	if r := runBinary(t, sub, nil, "unpin", "console"); r.code != 0 {
		t.Fatalf("unpin: %+v", r)
	}
	if got := readString(t, pinsPath); got != orig {
		t.Errorf("release then unpin of its pins did not restore the file:\n%s", got)
	}
	if r := runBinary(t, t.TempDir(), nil, "list"); r.code != 2 || !strings.Contains(r.stderr, "no images.hcl found") {
		t.Errorf("list outside a monorepo: %+v", r)
	}
}

// TestBinaryConcurrentPins: 20 imgver processes pin 20 images at once and
// every pin survives.
func TestBinaryConcurrentPins(t *testing.T) {
	dir := t.TempDir()
	var hcl strings.Builder
	hcl.WriteString("registry = \"registry.example/acme\"\npin_file = \"pins.src\"\n")
	for i := range 20 {
		fmt.Fprintf(&hcl, "image \"img%d\" {}\n", i)
	}
	writeFile(t, filepath.Join(dir, "images.hcl"), hcl.String())
	writeFile(t, filepath.Join(dir, "pins.src"), "# pins\n")
	bin := binary(t)
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(bin, "pin", fmt.Sprintf("img%d", i), fmt.Sprintf("v1.0.%d", i))
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("pin img%d: %w\n%s", i, err, out)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	f, err := pinfile.Read(filepath.Join(dir, "pins.src"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if p, ok := f.Lookup(fmt.Sprintf("img%d", i)); !ok || p.Version != fmt.Sprintf("v1.0.%d", i) {
			t.Errorf("pin of img%d lost: %+v %v", i, p, ok)
		}
	}
}

// TestDiffBinary runs the built binary: exit codes reach the shell.
func TestDiffBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	detectFixtures(t)
	for _, tc := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"diff", "oci:base", "oci:same"}, exitOK, "SAME\n"},
		{[]string{"diff", "oci:base", "oci:changed"}, exitChanged, "CHANGED\n"},
		{[]string{"diff", "oci:base", "oci:nothing"}, exitError, ""},
	} {
		r := runBinary(t, "", nil, tc.args...)
		if r.code != tc.code || !strings.HasPrefix(r.stdout, tc.out) {
			t.Errorf("imgver %s: exit %d, output %q; want %d, %q", strings.Join(tc.args, " "), r.code, r.stdout, tc.code, tc.out)
		}
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
		if got := readString(t, pins); got != demoPins {
			t.Errorf("the real pin file changed: %q", got)
		}
	})
}
