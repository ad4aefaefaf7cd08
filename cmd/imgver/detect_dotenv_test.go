package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDetectDotenv: detect --format dotenv prints the GitHub outputs as
// KEY=value lines for GitLab, and nothing else.
func TestDetectDotenv(t *testing.T) {
	r := newDetectRepo(t, nil)
	res := r.detect(t, "--format", "dotenv", "--write")
	if res.code != 0 {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	h := r.host + "/acme/"
	want := "short_sha=0123456\nchanged=b,c\npublish=" +
		`[{"name":"b","repository":"` + h + `b","tag":"0123456"},{"name":"c","repository":"` + h + `c","tag":"0123456"},{"name":"u","repository":"` + h + `u","tag":"0123456"}]` + "\nbroken=\nbase_stale=\n"
	if diff := cmp.Diff(want, res.stdout); diff != "" {
		t.Errorf("stdout (-want +got):\n%s", diff)
	}
}
