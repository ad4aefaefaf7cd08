package configtest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/imgver/imgver/internal/config"
)

// Monorepo writes images.hcl (hcl), the pin file it names (pins) and files
// (paths relative to the monorepo) to a new temporary directory, making the
// directories they need, and loads the config.
func Monorepo(t testing.TB, hcl, pins string, files map[string]string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "images.hcl")
	write(t, path, hcl)
	for p, content := range files {
		write(t, filepath.Join(dir, p), content)
	}
	cfg, err := config.Parse(path, []byte(hcl))
	if err != nil {
		t.Fatal(err)
	}
	write(t, cfg.PinFile, pins)
	return cfg
}

func write(t testing.TB, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
