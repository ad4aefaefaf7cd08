package configtest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/imgver/imgver/internal/config"
)

// Monorepo writes images.hcl (hcl), the pin file it names (pins) and files
// (paths relative to the monorepo) to a new temporary directory and loads
// the config.
func Monorepo(t testing.TB, hcl, pins string, files map[string]string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	for p, content := range files {
		p = filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.Parse(filepath.Join(dir, "images.hcl"), []byte(hcl))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg.PinFile, []byte(pins), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}
