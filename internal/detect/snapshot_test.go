package detect

import (
	"archive/tar"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSnapshot(t *testing.T) {
	t.Parallel()
	c := newComparer(t)
	s := base().addLayer(file("var/log/x", "1"), f{name: "opt/a", typ: tar.TypeLink, link: "etc/passwd"})
	snaps, err := c.Snapshot(t.Context(), writeOCI(t, s.image(t)))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range snaps[0].Files {
		got = append(got, fmt.Sprintf("%s %s %04o %d:%d link=%s hardlink=%s layer=%d ignored=%s", e.Path, e.Type, e.Mode, e.UID, e.GID, e.Link, e.Hardlink, e.Layer, e.IgnoredBy))
	}
	want := []string{
		"/ dir 0755 0:0 link= hardlink= layer=-1 ignored=",
		"/app dir 0755 0:0 link= hardlink= layer=1 ignored=",
		"/app/config.txt file 0644 0:0 link= hardlink= layer=1 ignored=",
		"/app/main.py file 0644 0:0 link= hardlink= layer=1 ignored=",
		"/bin dir 0755 0:0 link= hardlink= layer=0 ignored=",
		"/bin/app file 0755 0:0 link= hardlink= layer=0 ignored=",
		"/etc dir 0755 0:0 link= hardlink= layer=0 ignored=",
		"/etc/passwd file 0644 0:0 link= hardlink= layer=0 ignored=",
		"/opt dir 0755 0:0 link= hardlink= layer=-1 ignored=",
		"/opt/a file 0644 0:0 link= hardlink=/etc/passwd layer=2 ignored=",
		"/root dir 0700 0:0 link= hardlink= layer=0 ignored=",
		"/tmp dir 1777 0:0 link= hardlink= layer=0 ignored=",
		"/usr dir 0755 0:0 link= hardlink= layer=0 ignored=",
		"/usr/lib dir 0755 0:0 link= hardlink= layer=0 ignored=",
		"/usr/lib/libx.so symlink 0777 0:0 link=libx.so.1 hardlink= layer=0 ignored=",
		"/usr/lib/libx.so.1 file 0644 0:0 link= hardlink= layer=0 ignored=",
		"/var dir 0755 0:0 link= hardlink= layer=0 ignored=",
		"/var/lib dir 0755 0:0 link= hardlink= layer=0 ignored=",
		"/var/lib/apt dir 0755 0:0 link= hardlink= layer=0 ignored=",
		"/var/lib/apt/lists dir 0755 0:0 link= hardlink= layer=0 ignored=",
		"/var/log dir 0755 0:0 link= hardlink= layer=0 ignored=",
		"/var/log/x file 0644 0:0 link= hardlink= layer=2 ignored=logs",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"/bin/app"}, snaps[0].Config.Cmd); d != "" {
		t.Errorf("cmd (-want +got):\n%s", d)
	}
}
