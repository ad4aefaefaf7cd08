package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/imgver/imgver/internal/pinfile"
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

// runBinary runs the built imgver in dir.
func runBinary(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), cacheDirEnv+"="+t.TempDir()) // a cache of its own, as imgver() gives
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{stdout.String(), stderr.String(), code}
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

// TestBinaryDemo runs the real binary on a temp copy of the bundled demo
// monorepo, as a new user would from the README.
func TestBinaryDemo(t *testing.T) {
	repo := t.TempDir()
	if out, err := exec.Command("cp", "-r", "../../images.hcl", "../../demo", repo).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	if err := os.MkdirAll(filepath.Join(repo, "scripts"), 0o755); err != nil {
		t.Fatal(err)
	}
	pinsPath := filepath.Join(repo, "scripts", "image_versions.src")
	orig := readString(t, "../../scripts/image_versions.src")
	writeFile(t, pinsPath, orig)
	git(t, repo, "init", "-q")
	git(t, repo, "add", "-A")
	git(t, repo, "commit", "-qm", "demo")
	sha := git(t, repo, "rev-parse", "HEAD")
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
