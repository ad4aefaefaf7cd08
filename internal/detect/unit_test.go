package detect

import (
	"encoding/json"

	"archive/tar"
	"encoding/base64"
	"testing"

	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestXattrs(t *testing.T) {
	t.Parallel()
	h := &tar.Header{PAXRecords: map[string]string{
		"SCHILY.xattr.security.capability": "\x01\x00",
		"LIBARCHIVE.xattr.user.x":          base64.StdEncoding.EncodeToString([]byte("hi")),
		"mtime":                            "1.5",
	}}
	want := map[string]string{"security.capability": "0100", "user.x": "6869"}
	if d := cmp.Diff(want, xattrs(h)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if got := xattrs(&tar.Header{PAXRecords: map[string]string{"mtime": "1"}}); got != nil {
		t.Errorf("xattrs = %v, want nil", got)
	}
}

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

func TestEntryJSON(t *testing.T) {
	t.Parallel()
	e := Entry{Path: "/bin/su", Type: TypeFile, Mode: 0o4755, Size: 3, Digest: "sha256:x", Layer: 2, Xattrs: map[string]string{"user.a": "01"}}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"path":"/bin/su","type":"file","mode":"4755","uid":0,"gid":0,"size":3,"digest":"sha256:x","xattrs":{"user.a":"01"},"layer":2}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	var back Entry
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(e, back, cmpopts.IgnoreUnexported(Entry{})); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
}
