package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ib "github.com/imgver/imgver/internal/imagebuild"
)

// checkImage writes an OCI layout of one image and returns its oci: ref.
func checkImage(t *testing.T, cfg ib.Config, files ...ib.File) string {
	t.Helper()
	img, err := ib.Build{MTime: time.Unix(1700000000, 0)}.Image(nil, cfg, files)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "img")
	if err := ib.WriteLayout(dir, img); err != nil {
		t.Fatal(err)
	}
	return "oci:" + dir
}

func TestCheckCmd(t *testing.T) {
	t.Parallel()
	good := checkImage(t, ib.Config{Entrypoint: []string{"/app"}, User: "65532"}, ib.Exe("/app", "\x7fELF"))
	bad := checkImage(t, ib.Config{Entrypoint: []string{"/run.sh"}},
		ib.Dir("/bin"), ib.Exe("/bin/sh", "\x7fELF"), ib.Exe("/run.sh", "#!/bin/sh\r\nexec /app\r\n"))

	got := imgver(t, "check", good)
	if got.code != 0 || !strings.HasPrefix(got.stdout, "OK "+good+" (linux/amd64)") {
		t.Errorf("good image: %+v", got)
	}
	got = imgver(t, "check", bad)
	if got.code != 1 || !strings.Contains(got.stdout, "PROBLEMS "+bad+" (linux/amd64): 1\n  interpreter    /run.sh has CRLF line endings: the kernel looks for the interpreter \"/bin/sh\\r\"\n") {
		t.Errorf("CRLF script: %+v", got)
	}
	got = imgver(t, "check", "--format", "json", bad)
	var reps []struct {
		OK       bool
		Problems []struct{ Check, Path string }
	}
	if err := json.Unmarshal([]byte(got.stdout), &reps); err != nil || got.code != 1 || len(reps) != 1 || reps[0].OK ||
		len(reps[0].Problems) != 1 || reps[0].Problems[0].Path != "/run.sh" {
		t.Errorf("json: %v %+v", err, got)
	}
	for _, args := range [][]string{{"check", "--max-file-size", "-1", good}, {"check", "--format", "yaml", good}, {"check"}} {
		if got := imgver(t, args...); got.code != 2 || got.stderr == "" {
			t.Errorf("%q: %+v", args, got)
		}
	}
}
