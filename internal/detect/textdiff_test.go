package detect

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTextDiff(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("line\n", MaxTextDiffSize/5+1)
	a := writeOCI(t, base().add(file("app/bin.dat", "\x00\x01"), file("app/big.txt", big)).image(t))
	b := writeOCI(t, base().
		edit("app/config.txt", func(e *f) { e.content = "a=1\nb=20\nc=3\n" }).
		add(file("app/bin.dat", "\x00\x02"), file("app/big.txt", big+"x\n")).image(t))
	res := diff(t, a, b)
	diffs := map[string]string{}
	for _, c := range res.Platforms[0].Modified {
		diffs[c.Path] = c.Diff
	}
	want := map[string]string{
		"/app/bin.dat":    "",
		"/app/big.txt":    "",
		"/app/config.txt": "--- a/app/config.txt\n+++ b/app/config.txt\n@@ -1,3 +1,3 @@\n a=1\n-b=2\n+b=20\n c=3\n",
	}
	if d := cmp.Diff(want, diffs); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}
