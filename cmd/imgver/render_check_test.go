package main

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/imgver/imgver/internal/preflight"
)

// TestRenderProblem: a problem's platform, when it has one, leads its
// message, as it did when it was glued into it.
func TestRenderProblem(t *testing.T) {
	for _, tc := range []struct {
		p    preflight.Problem
		want string
	}{
		{preflight.Problem{Check: "entrypoint", Message: "/app/run does not exist"}, "  entrypoint     /app/run does not exist\n"},
		{preflight.Problem{Check: "user", Platform: "linux/arm64", Message: `user "app" is not in /etc/passwd`}, "  user           linux/arm64: user \"app\" is not in /etc/passwd\n"},
	} {
		var b bytes.Buffer
		renderProblem(&b, tc.p)
		if diff := cmp.Diff(tc.want, b.String()); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	}
}
