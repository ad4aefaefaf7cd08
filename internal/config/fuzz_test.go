package config

import (
	"errors"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/imgver/imgver/internal/detect"
)

// FuzzParse: Parse never panics; what it rejects is a DiagnosticsError, and
// what it accepts keeps the rules it validates (unique names and vars,
// shell-identifier vars, valid repositories, globs detect can match), so
// that every command can trust a loaded Config. Seeds: testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add([]byte("registry = \"r.io/x\"\nimage \"a\" {}\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		c, err := Parse("/repo/images.hcl", src)
		if err != nil {
			var de *DiagnosticsError
			if !errors.As(err, &de) {
				t.Fatalf("error %T is not a DiagnosticsError: %v", err, err)
			}
			return
		}
		vars := map[string]bool{}
		for _, g := range c.Ignore {
			if problem := globProblem(g); problem != "" {
				t.Errorf("accepted %s", problem)
			}
		}
		for i := range c.Images {
			im := &c.Images[i]
			if got, ok := c.Image(im.Name); !ok || got.Name != im.Name {
				t.Errorf("image %q: Image(%q) does not find it", im.Name, im.Name)
			}
			if !imageName.MatchString(im.Name) || !shellIdent.MatchString(im.Var) {
				t.Errorf("image %q: accepted name or var %q", im.Name, im.Var)
			}
			if vars[im.Var] {
				t.Errorf("image %q: var %q accepted twice", im.Name, im.Var)
			}
			vars[im.Var] = true
			if _, err := name.NewRepository(im.Repository); err != nil {
				t.Errorf("image %q: accepted repository %q: %v", im.Name, im.Repository, err)
			}
			for _, g := range im.Ignore {
				if err := detect.ValidateGlob(g); err != nil {
					t.Errorf("image %q: accepted %v", im.Name, err)
				}
			}
		}
	})
}
