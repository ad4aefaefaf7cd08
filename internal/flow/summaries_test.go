package flow

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imgver/imgver/internal/detect"
	"github.com/imgver/imgver/internal/imagetest"
	"github.com/imgver/imgver/internal/referrer"
	"github.com/imgver/imgver/internal/regtest"
)

// TestSummarizeAndFind: Summarize attaches the summary of a registry image
// once; the finder of detect finds it by its options key, the first of the
// keys asked for that the image has, and nothing for a key it lacks.
func TestSummarizeAndFind(t *testing.T) {
	t.Parallel()
	host := regtest.Start(t)
	ref := host + "/acme/svc:v1.0.0"
	d := regtest.Push(t, ref, imagetest.Random(t, 7, time.Unix(0, 0)))
	ctx := t.Context()

	rep, err := Summarize(ctx, []string{ref}, SummarizeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Images) != 1 || len(rep.Images[0].Summaries) != 1 {
		t.Fatalf("Summarize = %+v, want one summary", rep)
	}
	s := rep.Images[0].Summaries[0]
	if s.Status != summaryAttached || s.Subject != d.String() || s.Bytes == 0 {
		t.Errorf("summary %+v, want attached to %s", s, d)
	}
	again, err := Summarize(ctx, []string{"docker://" + ref}, SummarizeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := s
	want.Status = summaryExists
	if diff := cmp.Diff([]AttachedSummary{want}, again.Images[0].Summaries); diff != "" {
		t.Errorf("Summarize again (-want +got):\n%s", diff)
	}

	c, err := detect.New(detect.WithPackages())
	if err != nil {
		t.Fatal(err)
	}
	key := c.SummaryKey()
	subject, err := name.NewDigest(host + "/acme/svc@" + d.String())
	if err != nil {
		t.Fatal(err)
	}
	f := Summaries(nil)
	data, err := f.FindSummary(ctx, subject, []string{"another key", key})
	if err != nil || len(data) != s.Bytes {
		t.Errorf("FindSummary = %d bytes, %v; want the %d of the summary", len(data), err, s.Bytes)
	}
	if data, err := f.FindSummary(ctx, subject, []string{"another key"}); data != nil || err != nil {
		t.Errorf("FindSummary of another key = %q, %v; want nothing", data, err)
	}
	desc, err := remote.Head(subject)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := referrer.Attach(ctx, subject.Context(), *desc, referrer.Artifact{ArtifactType: detect.SummaryArtifactType,
		MediaType: detect.SummaryMediaType, Data: []byte("other"), Annotations: map[string]string{detect.SummaryOptionsAnnotation: "k2"}}); err != nil {
		t.Fatal(err)
	}
	if data, err := f.FindSummary(ctx, subject, []string{"k2", key}); string(data) != "other" || err != nil {
		t.Errorf("FindSummary(k2 first) = %q, %v; want the summary of k2", data, err)
	}
}

func TestSummarizeNotInRegistry(t *testing.T) {
	t.Parallel()
	_, err := Summarize(t.Context(), []string{"oci:build/svc"}, SummarizeOptions{})
	var nr *NotInRegistryError
	if !errors.As(err, &nr) || nr.Ref != "oci:build/svc" {
		t.Errorf("Summarize(oci:build/svc) = %v, want a *NotInRegistryError", err)
	}
}
