package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestCountFetched(t *testing.T) {
	t.Parallel()
	layer := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("a", 64)}
	other := "sha256:" + strings.Repeat("b", 64)
	line := func(method, path, status, size string) string {
		return `127.0.0.1 - - [30/Nov/2026:07:54:58 +0000] "` + method + " " + path + ` HTTP/1.1" ` + status + " " + size + ` "" "go-containerregistry/v0.22.1"`
	}
	for _, tc := range []struct {
		name string
		log  []string
		want fetchCounts
	}{
		{"empty", nil, fetchCounts{}},
		{"layer GET", []string{line("GET", "/v2/bench/svc-00/blobs/"+layer.String(), "200", "1234")},
			fetchCounts{layerBytes: 1234, layerGets: 1, requests: 1}},
		{"range GET", []string{line("GET", "/v2/bench/svc-00/blobs/"+layer.String(), "206", "10")},
			fetchCounts{layerBytes: 10, layerGets: 1, requests: 1}},
		{"HEAD and failed GET are not fetches", []string{
			line("HEAD", "/v2/bench/svc-00/blobs/"+layer.String(), "200", "0"),
			line("GET", "/v2/bench/svc-00/blobs/"+layer.String(), "404", "157"),
			line("GET", "/v2/bench/svc-00/blobs/"+layer.String(), "307", "-"),
		}, fetchCounts{requests: 3}},
		{"config, summary, manifests", []string{
			line("GET", "/v2/bench/svc-00/manifests/v1.0.0", "200", "900"),
			line("GET", "/v2/bench/svc-00/blobs/"+other, "200", "300"),
			line("GET", "/v2/bench/svc-00/blobs/"+other+"?x=1", "200", "5"),
		}, fetchCounts{otherBlobBytes: 305, otherBlobGets: 2, manifestGets: 1, requests: 3}},
		{"the registry's own log lines", []string{
			`time="2026-11-30T07:54:58Z" level=warning msg="no mount" go.version=go1.19`,
			"",
		}, fetchCounts{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := countFetched(strings.NewReader(strings.Join(tc.log, "\n")), map[v1.Hash]bool{layer: true})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(fetchCounts{})); diff != "" {
				t.Errorf("counts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLayoutLayers(t *testing.T) {
	t.Parallel()
	dir := smallMonoGen(t).dir
	got, err := layoutLayers([]string{filepath.Join(dir, "baseline")})
	if err != nil {
		t.Fatal(err)
	}
	// Four base layers shared, four of its own per image.
	if want := 4 + 4*smallMono.images; len(got) != want {
		t.Errorf("%d layers, want %d", len(got), want)
	}
	if _, err := layoutLayers([]string{filepath.Join(dir, "missing")}); err == nil {
		t.Error("a missing layout: no error")
	}
}
