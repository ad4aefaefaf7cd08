package detect

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestRemovalBelowImplicitDir: a whiteout, an opaque dir or a file
// replacing a dir removes what lies below it also where the layers gave
// the paths in between no entry of their own.
func TestRemovalBelowImplicitDir(t *testing.T) {
	t.Parallel()
	lower := []f{file("bin/app", "1"), file("a/b/c", "x")}
	tests := []struct {
		name string
		a    spec
		b    spec
		want []string
	}{
		{name: "whiteout", a: spec{layers: [][]f{lower, {f{name: ".wh.a"}}}}, b: spec{layers: [][]f{{file("bin/app", "1")}}}},
		{name: "opaque dir", a: spec{layers: [][]f{lower, {dir("a/"), f{name: "a/.wh..wh..opq"}}}}, b: spec{layers: [][]f{{file("bin/app", "1"), dir("a/")}}}},
		{name: "file over dir", a: spec{layers: [][]f{lower, {file("a", "f")}}}, b: spec{layers: [][]f{{file("bin/app", "1"), file("a", "f")}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, b := writeOCI(t, tc.a.image(t)), writeOCI(t, tc.b.image(t))
			res := diff(t, a, b)
			if d := cmp.Diff(tc.want, summarise(res)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			if (fingerprint(t, a) == fingerprint(t, b)) != (res.Verdict == Same) {
				t.Error("fingerprints disagree with the verdict")
			}
		})
	}
}
