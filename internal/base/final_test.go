package base

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imgver/imgver/internal/config"
	"github.com/imgver/imgver/internal/imagebuild"
	"github.com/imgver/imgver/internal/regtest"
)

func TestFinalBase(t *testing.T) {
	for _, tc := range []struct{ name, dockerfile, want, err string }{
		{"one stage", "FROM r.example/x:1\n", "r.example/x:1", ""},
		{"last stage counts", "FROM r.example/build:1 AS build\nFROM r.example/run:2\n", "r.example/run:2", ""},
		{"aliases followed", "FROM r.example/a:1 AS one\nFROM one AS two\nFROM two\n", "r.example/a:1", ""},
		{"alias names the latest stage", "FROM r.example/a:1 AS s\nFROM r.example/b:1 AS s\nFROM s\n", "r.example/b:1", ""},
		{"ARG default", "ARG V=3\nFROM r.example/x:$V\n", "r.example/x:3", ""},
		{"scratch", "FROM r.example/build:1 AS b\nFROM scratch\n", "", ""},
		{"alias of scratch", "FROM scratch AS s\nFROM s\n", "", ""},
		{"unset ARG", "ARG V\nFROM r.example/x:$V\n", "", "ARG V has no default"},
		{"no FROM", "RUN true\n", "", "no FROM"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "Dockerfile")
			if err := os.WriteFile(p, []byte(tc.dockerfile), 0o644); err != nil {
				t.Fatal(err)
			}
			rv, err := NewResolver()
			if err != nil {
				t.Fatal(err)
			}
			got, err := rv.FinalBase(&config.Image{Name: "x", Dockerfile: p})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one with %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("FinalBase = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// countingPuller counts the registry requests by reference.
type countingPuller struct {
	p  *remote.Puller
	mu sync.Mutex
	n  map[string]int
}

func (c *countingPuller) Get(ctx context.Context, ref name.Reference) (*remote.Descriptor, error) {
	c.mu.Lock()
	c.n[ref.Name()]++
	c.mu.Unlock()
	return c.p.Get(ctx, ref)
}

// TestResolverOncePerRun: one Resolver reads a Dockerfile once and asks the
// registry about a tag once, whoever asks: the staleness check and the
// cause analysis of the CI flow, for two images built on one base.
func TestResolverOncePerRun(t *testing.T) {
	host := regtest.Start(t)
	b := imagebuild.Build{MTime: time.Unix(1_700_000_000, 0).UTC()}
	baseImg, err := b.Image(nil, imagebuild.Config{}, []imagebuild.File{imagebuild.Reg("/etc/os-release", "ID=test\n")})
	if err != nil {
		t.Fatal(err)
	}
	regtest.Push(t, host+"/base:1", baseImg)
	wantIDs, err := baseImg.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	df := filepath.Join(dir, "Dockerfile")
	if err := os.WriteFile(df, []byte("FROM "+host+"/base:1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := remote.NewPuller()
	if err != nil {
		t.Fatal(err)
	}
	cp := &countingPuller{p: p, n: map[string]int{}}
	rv, err := NewResolver(WithPuller(cp))
	if err != nil {
		t.Fatal(err)
	}
	imgs := []*config.Image{{Name: "a", Dockerfile: df}, {Name: "b", Dockerfile: df}}
	for _, im := range imgs {
		if stale, err := rv.Stale(t.Context(), im); err != nil || stale {
			t.Fatalf("Stale(%s) = %v, %v", im.Name, stale, err)
		}
	}
	// Read once: a change of the file after the first read is not seen.
	if err := os.WriteFile(df, []byte("FROM "+host+"/other:1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, im := range imgs {
		ref, err := rv.FinalBase(im)
		if err != nil || ref != host+"/base:1" {
			t.Fatalf("FinalBase(%s) = %q, %v", im.Name, ref, err)
		}
		ids, err := rv.DiffIDs(t.Context(), ref, "linux/amd64")
		if err != nil || len(ids) != 1 || ids[0] != wantIDs.RootFS.DiffIDs[0].String() {
			t.Fatalf("DiffIDs = %v, %v", ids, err)
		}
	}
	if _, err := rv.Resolve(t.Context(), imgs); err != nil {
		t.Fatal(err)
	}
	tag := host + "/base:1"
	if diff := cmp.Diff(map[string]int{tag: 1}, cp.n); diff != "" {
		t.Errorf("registry requests (-want +got):\n%s", diff)
	}
}
