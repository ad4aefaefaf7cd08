package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseDefaults(t *testing.T) {
	src := `
registry = "ghcr.io/acme/monorepo/"

image "api-gateway" {
  dockerfile = "api-gateway/Dockerfile"
  ignore     = ["/srv/*.log"]
}

image "db" {
  var        = "postgres"
  repository = "ghcr.io/acme/postgres"
  candidate  = "oci:build/{name}"
}
`
	dir := t.TempDir()
	c, err := Parse(filepath.Join(dir, "images.hcl"), []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if c.PinFile != filepath.Join(dir, DefaultPinFile) || c.SHALength != 7 || c.ReleasePattern.String() != DefaultReleasePattern {
		t.Errorf("defaults: pin %s sha %d pattern %s", c.PinFile, c.SHALength, c.ReleasePattern)
	}
	type im struct{ Name, Var, Repository, Dockerfile, Candidate string }
	var got []im
	for _, i := range c.Images {
		got = append(got, im{i.Name, i.Var, i.Repository, i.Dockerfile, i.Candidate})
	}
	want := []im{
		{"api-gateway", "api_gateway", "ghcr.io/acme/monorepo/api-gateway", filepath.Join(dir, "api-gateway/Dockerfile"), ""},
		{"db", "postgres", "ghcr.io/acme/postgres", "", "oci:build/{name}"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("images (-want +got):\n%s", diff)
	}
	if got := c.Images[0].PinVar(); got != "api_gateway_VER" {
		t.Errorf("PinVar = %q", got)
	}
	if _, err := c.Lookup("api-gateway", "nope"); err == nil || !strings.Contains(err.Error(), `unknown image "nope" (known: api-gateway, db)`) {
		t.Errorf("Lookup error = %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		want      []string // each a prefix "file:line:col: Summary" of one diagnostic
	}{
		{"unknown attribute", `registry = "r.io/x"
colour = "red"
`, []string{"images.hcl:2:1: Unsupported argument"}},
		{"unknown image attribute", `registry = "r.io/x"
image "a" {
  dockerfiel = "x"
}
`, []string{"images.hcl:3:3: Unsupported argument"}},
		{"duplicate image", `registry = "r.io/x"
image "a" {}
image "a" {}
`, []string{`images.hcl:3:1: Duplicate image block: An image named "a" was already declared at images.hcl:2,1-10`}},
		{"duplicate var", `registry = "r.io/x"
image "a-b" {}
image "a_b" {}
`, []string{`images.hcl:3:1: Duplicate var: Images "a-b" and "a_b" both map to the shell variable a_b_VER`}},
		{"explicit duplicate var", `registry = "r.io/x"
image "a" {}
image "b" {
  var = "a"
}
`, []string{`images.hcl:4:9: Duplicate var`}},
		{"invalid var", `registry = "r.io/x"
image "a" {
  var = "1abc"
}
`, []string{`images.hcl:3:9: Invalid var: var "1abc" is not a valid shell identifier`}},
		{"invalid default var", `registry = "r.io/x"
image "9lives" {}
`, []string{`images.hcl:2:1: Invalid var: The default var "9lives" (from the image name) is not a valid shell identifier`}},
		{"empty image name", `registry = "r.io/x"
image "" {}
`, []string{`images.hcl:2:1: Invalid image name: Image name "" must be`}},
		{"image name with a comma", `image "a,b" {
  repository = "r.io/x"
}
`, []string{`images.hcl:1:1: Invalid image name: Image name "a,b" must be`}},
		{"image name with a newline", `image "a\nchanged=x" {
  repository = "r.io/x"
  var        = "a"
}
`, []string{`images.hcl:1:1: Invalid image name`}},
		{"unknown candidate placeholder", `registry = "r.io/x"
image "a" {
  candidate = "oci:build/{image}"
}
`, []string{`images.hcl:3:15: Invalid candidate: unknown placeholder {image} in candidate "oci:build/{image}"`}},
		{"invalid regexp", `registry = "r.io/x"
release_pattern = "^v[0-9+$"
`, []string{`images.hcl:2:19: Invalid release_pattern`}},
		{"no repository", `image "a" {}
`, []string{`images.hcl:1:1: Missing repository`}},
		{"bad repository", `image "a" {
  repository = "UPPER/Case"
}
`, []string{`images.hcl:2:16: Invalid repository`}},
		{"bad sha_length", `registry = "r.io/x"
sha_length = 2
`, []string{`images.hcl:2:14: Invalid sha_length`}},
		{"relative ignore", `registry = "r.io/x"
ignore = ["var/log/*"]
`, []string{`images.hcl:2:10: Invalid ignore glob`}},
		{"unclosed brace in ignore", `registry = "r.io/x"
ignore = ["/a/{b"]
`, []string{`images.hcl:2:10: Invalid ignore glob`}},
		{"unclosed class in an image's ignore", `registry = "r.io/x"
image "a" {
  ignore = ["/ok/**", "/a/[b"]
}
`, []string{`images.hcl:3:12: Invalid ignore glob`}},
		{"syntax error", `image "a" {
`, []string{`images.hcl:1:11: Unclosed configuration block`}},
		{"all reported at once", `registry = "r.io/x"
image "a" {
  var = "x-y"
}
image "a" {}
sha_length = 99
`, []string{"images.hcl:6:14: Invalid sha_length", "images.hcl:3:9: Invalid var", "images.hcl:5:1: Duplicate image block"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			de := diagnose(t, tc.src)
			var got []string
			for _, d := range de.Diags {
				got = append(got, oneLine(d))
			}
			if len(got) != len(tc.want) {
				t.Fatalf("diagnostics:\n%s\nwant %d", strings.Join(got, "\n"), len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(got[i], w) {
					t.Errorf("diagnostic %d = %q, want prefix %q", i, got[i], w)
				}
			}
			if !strings.HasPrefix(de.Error(), tc.want[0]) || strings.Contains(de.Error(), "\n") {
				t.Errorf("Error() = %q: want one line starting with %q", de, tc.want[0])
			}
			var b strings.Builder
			if err := de.Render(&b); err != nil || !strings.Contains(b.String(), "on images.hcl line") {
				t.Errorf("Render = %q, %v: want a source snippet", b.String(), err)
			}
		})
	}
}

func TestFind(t *testing.T) {
	root := t.TempDir()
	deep := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Find(deep); !errors.Is(err, ErrNotFound) {
		t.Errorf("Find with no file: %v, want ErrNotFound", err)
	}
	p := filepath.Join(root, "a", FileName)
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Find(deep)
	if err != nil || got != p {
		t.Errorf("Find = %q, %v, want %q", got, err, p)
	}
}

// TestDemoConfig: the images.hcl that ships at the repo root loads.
func TestDemoConfig(t *testing.T) {
	c, err := Load("../../images.hcl")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Images) < 4 {
		t.Errorf("demo has %d images", len(c.Images))
	}
	for _, im := range c.Images {
		if _, err := os.Stat(im.Dockerfile); err != nil {
			t.Errorf("image %s: %v", im.Name, err)
		}
	}
}
