package textdiff

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestUnified(t *testing.T) {
	t.Parallel()
	old := "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n16\n"
	var thirty, edited strings.Builder
	for i := 1; i <= 30; i++ {
		fmt.Fprintf(&thirty, "%d\n", i)
		switch i {
		case 5:
			edited.WriteString("five\n")
		case 25:
		default:
			fmt.Fprintf(&edited, "%d\n", i)
		}
	}
	edited.WriteString("end")
	tests := []struct{ name, a, b, want string }{
		{"same", old, old, ""},
		{"two hunks", old, strings.Replace(strings.Replace(old, "2\n", "two\n", 1), "15\n", "fifteen\n", 1),
			"--- a/f\n+++ b/f\n@@ -1,5 +1,5 @@\n 1\n-2\n+two\n 3\n 4\n 5\n@@ -12,5 +12,5 @@\n 12\n 13\n 14\n-15\n+fifteen\n 16\n"},
		{"one hunk when close", old, strings.Replace(strings.Replace(old, "2\n", "two\n", 1), "8\n", "eight\n", 1),
			"--- a/f\n+++ b/f\n@@ -1,11 +1,11 @@\n 1\n-2\n+two\n 3\n 4\n 5\n 6\n 7\n-8\n+eight\n 9\n 10\n 11\n"},
		{"no newline at end", old, old + "17", "--- a/f\n+++ b/f\n@@ -14,3 +14,4 @@\n 14\n 15\n 16\n+17\n\\ No newline at end of file\n"},
		{"one line is its number alone", "x\n", "y\n", "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-x\n+y\n"},
		{"an empty range is the line before it", "", "x\n", "--- a/f\n+++ b/f\n@@ -0,0 +1 @@\n+x\n"},
		{"a removal, a hunk later on, the last line without newline", thirty.String(), edited.String(), `--- a/f
+++ b/f
@@ -2,7 +2,7 @@
 2
 3
 4
-5
+five
 6
 7
 8
@@ -22,9 +22,9 @@
 22
 23
 24
-25
 26
 27
 28
 29
 30
+end
\ No newline at end of file
`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, Unified("a/f", "b/f", tc.a, tc.b)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
