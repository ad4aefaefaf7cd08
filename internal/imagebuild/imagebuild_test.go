package imagebuild

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/layout"
)

func TestRebuildGivesOtherBytesSameDiffIDsOnlyForSameMTime(t *testing.T) {
	files := []File{Dir("/app"), Exe("/app/run", "#!/bin/sh\necho hi\n"), Symlink("/app/link", "run"), Whiteout("/etc/gone")}
	a, err := Build{MTime: time.Unix(1, 0)}.Image(nil, Config{Cmd: []string{"/app/run"}}, files)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Build{MTime: time.Unix(2, 0), GzipLevel: 9}.Image(nil, Config{Cmd: []string{"/app/run"}}, files)
	if err != nil {
		t.Fatal(err)
	}
	da, _ := a.Digest()
	db, _ := b.Digest()
	if da == db {
		t.Error("a rebuild with another mtime has the same digest")
	}
	dir := filepath.Join(t.TempDir(), "oci")
	if err := WriteLayout(dir, a); err != nil {
		t.Fatal(err)
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	idx, _ := p.ImageIndex()
	m, _ := idx.IndexManifest()
	if len(m.Manifests) != 1 || m.Manifests[0].Digest != da {
		t.Errorf("layout holds %+v, want %v", m.Manifests, da)
	}
	cf, _ := a.ConfigFile()
	if cf.OS != "linux" || cf.Config.Cmd[0] != "/app/run" || len(cf.RootFS.DiffIDs) != 1 {
		t.Errorf("config %+v", cf)
	}
}
