package release

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/imgver/imgver/internal/config"
	"github.com/imgver/imgver/internal/config/configtest"
	"github.com/imgver/imgver/internal/pinfile"
)

// testConfig is a config of images a, b and c in registry, with pins as its
// pin file.
func testConfig(t *testing.T, registry, pins string) *config.Config {
	t.Helper()
	return configtest.Monorepo(t, `
registry = "`+registry+`"
pin_file = "pins.src"
image "a" {}
image "b" {}
image "c" {}
`, pins, nil)
}

func TestResolveOrder(t *testing.T) {
	cfg := testConfig(t, "r.example/acme", "a_VER=\"v1.0.0\"\nexport b_VER=\"v0.9.0\"\n")
	f, err := Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"b_VER": "v2.0.0", "c_VER": ""}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	for _, tc := range []struct {
		name string
		env  func(string) (string, bool)
		want []Var
	}{
		{"pins then sha", nil, []Var{
			{"a", "a_VER", "v1.0.0", FromPin}, {"b", "b_VER", "v0.9.0", FromManual}, {"c", "c_VER", "abcdef0", FromCommit}}},
		{"env beats pin; empty env is no override", lookup, []Var{
			{"a", "a_VER", "v1.0.0", FromPin}, {"b", "b_VER", "v2.0.0", FromEnv}, {"c", "c_VER", "abcdef0", FromCommit}}},
	} {
		got, err := Resolve(cfg, f, "abcdef0123456789", tc.env)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}

// TestHeadCommitErrorOneLine: in a repository without commits, git prints
// an error and advice over several lines; HeadCommit's error is one line.
func TestHeadCommitErrorOneLine(t *testing.T) {
	dir := t.TempDir()
	if out, err := exec.Command("git", "init", "-q", dir).CombinedOutput(); err != nil {
		t.Skipf("git init: %v\n%s", err, out)
	}
	_, err := HeadCommit(t.Context(), dir)
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "use --commit") {
		t.Errorf("error %q, want one line that says to use --commit", err)
	}
}

// TestUnknownVars: a variable no image owns is reported, and kept byte for
// byte by every write; it is never a reason to refuse the file (issue 9).
func TestUnknownVars(t *testing.T) {
	const pins = "# x\nCURRENT_RELEASE_VER=\"v3.1.0\"\na_VER=\"v1.0.0\"\n"
	cfg := testConfig(t, "r.example/acme", pins)
	f, err := Load(cfg)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := []*UnknownVarError{{File: cfg.PinFile, Line: 2, Var: "CURRENT_RELEASE"}}
	if diff := cmp.Diff(want, UnknownVars(f)); diff != "" {
		t.Errorf("UnknownVars (-want +got):\n%s", diff)
	}
	if _, err := Unpin(t.Context(), cfg, []string{"a"}); err != nil {
		t.Fatalf("Unpin: %v", err)
	}
	if _, err := Release(t.Context(), cfg, "v1.1.0", false, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)); err != nil {
		t.Fatalf("Release: %v", err)
	}
	data, _ := os.ReadFile(cfg.PinFile)
	if !strings.HasPrefix(string(data), "# x\nCURRENT_RELEASE_VER=\"v3.1.0\"\n\n# 2026-01-02T03:04:05Z -- v1.1.0\n") {
		t.Errorf("pin file:\n%s", data)
	}
}

// TestUnpinIfUnchanged: the pins are removed only when the file is still
// byte for byte what was read; otherwise nothing is written.
func TestUnpinIfUnchanged(t *testing.T) {
	const pins = "a_VER=\"v1.0.0\"\nb_VER=\"v1.0.0\"\n"
	for _, tc := range []struct {
		name, edit string // edit: the file when UnpinIfUnchanged runs; "" for none
		names      []string
		want       string
	}{
		{name: "unchanged", names: []string{"a"}, want: "b_VER=\"v1.0.0\"\n"},
		{name: "unchanged, nothing to unpin", want: pins},
		{name: "another pin removed", edit: "a_VER=\"v1.0.0\"\n", names: []string{"a"}},
		{name: "a comment added", edit: pins + "# x\n", names: []string{"a"}},
		{name: "changed, nothing to unpin", edit: "b_VER=\"v1.0.1\"\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t, "r.example/acme", pins)
			read, err := Load(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if tc.edit != "" {
				if err := os.WriteFile(cfg.PinFile, []byte(tc.edit), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err = UnpinIfUnchanged(t.Context(), cfg, read, tc.names)
			want := tc.want
			if tc.edit != "" {
				var ce *PinFileChangedError
				if !errors.As(err, &ce) {
					t.Fatalf("error %v, want a *PinFileChangedError", err)
				}
				want = tc.edit
			} else if err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(cfg.PinFile); string(b) != want {
				t.Errorf("pin file %q, want %q", b, want)
			}
		})
	}
}

func TestReleaseLeavesManualAndAutoPins(t *testing.T) {
	cfg := testConfig(t, "r.example/acme", "a_VER=\"v1.0.0\"\nexport b_VER=\"v0.9.0\"\n")
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	got, err := Release(t.Context(), cfg, "v1.1.0", false, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != "c" {
		t.Fatalf("Release pinned %+v, want only c", got)
	}
	data, _ := os.ReadFile(cfg.PinFile)
	want := "a_VER=\"v1.0.0\"\nexport b_VER=\"v0.9.0\"\n\n# 2026-01-02T03:04:05Z -- v1.1.0\nc_VER=\"v1.1.0\"\n"
	if diff := cmp.Diff(want, string(data)); diff != "" {
		t.Errorf("pin file (-want +got):\n%s", diff)
	}
	if got, err := Release(t.Context(), cfg, "v1.1.0", false, now); err != nil || len(got) != 0 {
		t.Errorf("second Release = %v, %v; want nothing", got, err)
	}
	var ve *VersionError
	if _, err := Release(t.Context(), cfg, "1.1", false, now); !errors.As(err, &ve) {
		t.Errorf("Release of a bad version: %v", err)
	}
	f, _ := pinfile.Read(cfg.PinFile)
	if n := len(f.Pins()); n != 3 {
		t.Errorf("%d pins", n)
	}
}

// TestUnpinThen: when the other write fails the pin file is not written;
// when it succeeds both are.
func TestUnpinThen(t *testing.T) {
	const pins = "a_VER=\"v1.0.0\"\nb_VER=\"v1.0.0\"\n"
	cfg := testConfig(t, "r.example/acme", pins)
	boom := errors.New("writing the Dockerfiles: disk full")
	if _, err := UnpinThen(t.Context(), cfg, []string{"a"}, func() error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("error = %v, want %v", err, boom)
	}
	if b, _ := os.ReadFile(cfg.PinFile); string(b) != pins {
		t.Errorf("pin file written although the other write failed: %q", b)
	}
	called := false
	if _, err := UnpinThen(t.Context(), cfg, []string{"a"}, func() error { called = true; return nil }); err != nil || !called {
		t.Fatalf("UnpinThen = %v, called %v", err, called)
	}
	if b, _ := os.ReadFile(cfg.PinFile); string(b) != "b_VER=\"v1.0.0\"\n" {
		t.Errorf("pin file = %q", b)
	}
}
