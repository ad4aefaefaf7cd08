package detect

import (
	"context"
	"testing"
	"time"
)

// TestSharedReadFailsForItsOwnImageOnly: when a Diff joins another
// image's read of a layer with the same diff_id and that read fails (the
// other image's blob is corrupt, or its context was cancelled), the Diff
// reads its own blob instead of failing with the other image's error.
func TestSharedReadFailsForItsOwnImageOnly(t *testing.T) {
	for _, leaderErr := range []error{&DigestMismatchError{Want: "sha256:x", Got: "sha256:y"}, context.Canceled} {
		t.Run(leaderErr.Error(), func(t *testing.T) {
			shared := []f{dir("etc/"), file("etc/os-release", "debian")}
			a := writeOCI(t, spec{layers: [][]f{shared}}.image(t))
			b := writeOCI(t, spec{layers: [][]f{{file("bin/app", "1")}}}.image(t))
			img := spec{layers: [][]f{shared}}.image(t)
			ls, err := img.Layers()
			if err != nil {
				t.Fatal(err)
			}
			d, err := ls[0].DiffID()
			if err != nil {
				t.Fatal(err)
			}
			c, err := New()
			if err != nil {
				t.Fatal(err)
			}
			// Another image's read of the shared layer is under way.
			started, release := make(chan struct{}), make(chan struct{})
			go func() {
				_, _, _ = c.sf.Do(d.String(), func() (any, error) {
					close(started)
					<-release
					return nil, leaderErr
				})
			}()
			<-started
			done := make(chan error, 1)
			go func() {
				_, err := c.Diff(t.Context(), a, b)
				done <- err
			}()
			// Give the Diff time to join the read under way.
			time.Sleep(200 * time.Millisecond)
			close(release)
			if err := <-done; err != nil {
				t.Errorf("Diff failed with another image's error: %v", err)
			}
		})
	}
}
