package detect

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestPlatformKey(t *testing.T) {
	t.Parallel()
	for _, tc := range [][4]string{
		{"linux", "arm64", "v8", "linux/arm64"},
		{"linux", "arm64", "", "linux/arm64"},
		{"linux", "arm", "v7", "linux/arm/v7"},
		{"linux", "amd64", "", "linux/amd64"},
	} {
		if got := platformKey(tc[0], tc[1], tc[2]); got != tc[3] {
			t.Errorf("platformKey(%q, %q, %q) = %q, want %q", tc[0], tc[1], tc[2], got, tc[3])
		}
	}
}

func TestNormaliseConfig(t *testing.T) {
	t.Parallel()
	a := &v1.ConfigFile{OS: "linux", Architecture: "amd64", Config: v1.Config{
		WorkingDir: "/app/", Volumes: map[string]struct{}{"/data/": {}, "/b": {}},
		ExposedPorts: map[string]struct{}{"80": {}, "53/udp": {}},
		Labels:       map[string]string{"vcs-ref": "1", "team": ""},
	}}
	b := &v1.ConfigFile{OS: "linux", Architecture: "amd64", Config: v1.Config{
		WorkingDir: "/app", Volumes: map[string]struct{}{"/b": {}, "/data": {}},
		ExposedPorts: map[string]struct{}{"53/udp": {}, "80/tcp": {}},
		Labels:       map[string]string{"vcs-ref": "2", "team": ""},
	}}
	ignored := map[string]bool{"vcs-ref": true}
	ca, cb := normaliseConfig(a, ignored), normaliseConfig(b, ignored)
	if d := cmp.Diff(ca.fields(), cb.fields()); d != "" {
		t.Errorf("(-a +b):\n%s", d)
	}
	if _, ok := ca.fields()["labels.team"]; !ok {
		t.Error("an empty label is not compared")
	}
	c := normaliseConfig(&v1.ConfigFile{OS: "linux", Architecture: "amd64"}, ignored)
	if _, ok := c.fields()["labels.team"]; ok {
		t.Error("a missing label is compared as present")
	}
}
