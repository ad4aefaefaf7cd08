package flow

import (
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imgver/imgver/internal/base"
	"github.com/imgver/imgver/internal/config/configtest"
	"github.com/imgver/imgver/internal/regtest"
)

// countingTransport counts the requests it passes on.
type countingTransport struct{ n atomic.Int64 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

// TestResolveBasesOptions: the bases are resolved with the registry options
// (Remote) and for the platform (Platform) given.
func TestResolveBasesOptions(t *testing.T) {
	t.Parallel()
	host := regtest.Start(t)
	ref := host + "/base:1"
	digest := regtest.Push(t, ref, empty.Image)
	cfg := configtest.Monorepo(t, `pin_file = "pins.src"
image "a" {
  repository = "r.example/a"
  dockerfile = "a/Dockerfile"
}
`, "", map[string]string{"a/Dockerfile": "FROM " + ref + "\n"})
	var ct countingTransport
	reps, err := ResolveBases(t.Context(), cfg, BasesOptions{Platform: "linux/arm64", Remote: []remote.Option{remote.WithTransport(&ct)}})
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		Image, Ref, Platform, Current string
		Status                        base.Status
	}
	var got []result
	for _, rep := range reps {
		for _, r := range rep.Results {
			got = append(got, result{r.Image, r.Ref, r.Platform, r.Current, r.Status})
		}
	}
	want := []result{{"a", ref, "linux/arm64", digest.String(), base.StatusUnpinned}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if ct.n.Load() == 0 {
		t.Error("no request went through the transport given in Remote")
	}
}
