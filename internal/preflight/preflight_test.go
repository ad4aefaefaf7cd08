package preflight

import (
	"archive/tar"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/imgver/imgver/internal/detect"
	ib "github.com/imgver/imgver/internal/imagebuild"
	"github.com/imgver/imgver/internal/imagetest"
)

var build = ib.Build{MTime: time.Unix(1700000000, 0)}

// rootfs is a small base: a shell, bash, env and the account files.
func rootfs() []ib.File {
	return []ib.File{
		ib.Dir("/bin"), ib.Dir("/etc"), ib.Dir("/usr/bin"), ib.Dir("/tmp").WithMode(0o1777),
		ib.Exe("/bin/sh", "\x7fELF sh"), ib.Exe("/usr/bin/env", "\x7fELF env"),
		ib.Reg("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/app:/bin/sh\n"),
		ib.Reg("/etc/group", "root:x:0:\napp:x:1000:\nops:x:2000:app\n"),
	}
}

// run builds an image of rootfs plus app files with cfg and checks it.
func run(t *testing.T, cfg ib.Config, app ...ib.File) []Problem {
	t.Helper()
	return checkImage(t, imagetest.Image(t, build, nil, cfg, rootfs(), app), Options{MaxFileSize: 1 << 20})
}

// checkImage writes img as an OCI layout, checks it and returns the
// problems of its one platform.
func checkImage(t *testing.T, img v1.Image, o Options) []Problem {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "img")
	imagetest.WriteLayout(t, dir, img)
	c, err := detect.New()
	if err != nil {
		t.Fatal(err)
	}
	reports, err := Run(t.Context(), c, "oci:"+dir, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(reports) != 1 {
		t.Fatalf("%d reports", len(reports))
	}
	if reports[0].OK != (len(reports[0].Problems) == 0) {
		t.Errorf("OK = %v with %d problems", reports[0].OK, len(reports[0].Problems))
	}
	ps := reports[0].Problems
	for i := range ps {
		if ps[i].Platform != reports[0].Platform {
			t.Errorf("problem %d: platform %q, want the report's %q", i, ps[i].Platform, reports[0].Platform)
		}
		ps[i].Platform = ""
	}
	return ps
}

func TestCheck(t *testing.T) {
	ep := ib.Config{Entrypoint: []string{"/containerssh"}}
	for _, tc := range []struct {
		name string
		cfg  ib.Config
		app  []ib.File
		want []Problem // nil: no problem
	}{
		{"entrypoint 0755", ep, []ib.File{ib.Exe("/containerssh", "\x7fELF")}, nil},
		{"entrypoint 0644 (ContainerSSH 2021)", ep, []ib.File{ib.Reg("/containerssh", "\x7fELF")},
			[]Problem{{Check: "entrypoint", Path: "/containerssh", Message: "/containerssh is not executable by root (mode 0644, owner 0:0)"}}},
		{"entrypoint missing", ep, nil,
			[]Problem{{Check: "entrypoint", Path: "/containerssh", Message: "/containerssh: /containerssh does not exist"}}},
		{"entrypoint is a directory", ep, []ib.File{ib.Dir("/containerssh")},
			[]Problem{{Check: "entrypoint", Path: "/containerssh", Message: "/containerssh is a dir, not a regular file"}}},
		{"symlinked entrypoint", ib.Config{Entrypoint: []string{"/usr/local/bin/app"}},
			[]ib.File{ib.Dir("/usr/local/bin"), ib.Dir("/opt/app"), ib.Exe("/opt/app/app-1.2", "\x7fELF"), ib.Symlink("/usr/local/bin/app", "../../../opt/app/app-1.2")}, nil},
		{"symlinked entrypoint to a 0644 file", ib.Config{Entrypoint: []string{"/usr/local/bin/app"}},
			[]ib.File{ib.Dir("/usr/local/bin"), ib.Reg("/opt/app-1.2", "\x7fELF"), ib.Symlink("/usr/local/bin/app", "/opt/app-1.2")},
			[]Problem{{Check: "entrypoint", Path: "/opt/app-1.2", Message: "/opt/app-1.2 is not executable by root (mode 0644, owner 0:0)"}}},
		{"dangling symlink", ib.Config{Entrypoint: []string{"/app"}}, []ib.File{ib.Symlink("/app", "/nowhere")},
			[]Problem{{Check: "entrypoint", Path: "/app", Message: "/app: /nowhere does not exist"}}},
		{"symlink loop", ib.Config{Entrypoint: []string{"/a"}}, []ib.File{ib.Symlink("/a", "/b"), ib.Symlink("/b", "/a")},
			[]Problem{{Check: "entrypoint", Path: "/a", Message: "/a: too many levels of symbolic links at /a"}}},
		{"bare name found in PATH", ib.Config{Cmd: []string{"app", "--serve"}, Env: []string{"PATH=/opt/bin:/usr/bin"}},
			[]ib.File{ib.Dir("/opt/bin"), ib.Exe("/opt/bin/app", "\x7fELF")}, nil},
		{"bare name not in PATH", ib.Config{Cmd: []string{"app"}, Env: []string{"PATH=/usr/bin"}},
			[]ib.File{ib.Dir("/opt/bin"), ib.Exe("/opt/bin/app", "\x7fELF")},
			[]Problem{{Check: "entrypoint", Path: "app", Message: `"app" is not an executable file in PATH (PATH=/usr/bin)`}}},
		{"script whose interpreter is missing", ib.Config{Entrypoint: []string{"/entrypoint.sh"}},
			[]ib.File{ib.Exe("/entrypoint.sh", "#!/bin/bash\nexec app\n")},
			[]Problem{{Check: "interpreter", Path: "/bin/bash", Message: "/bin/bash: /bin/bash does not exist"}}},
		{"script with its interpreter", ib.Config{Entrypoint: []string{"/entrypoint.sh"}},
			[]ib.File{ib.Exe("/entrypoint.sh", "#!/bin/sh -e\nexec app\n")}, nil},
		{"env interpreter missing", ib.Config{Entrypoint: []string{"/run.py"}},
			[]ib.File{ib.Exe("/run.py", "#!/usr/bin/env python3\nprint(1)\n")},
			[]Problem{{Check: "interpreter", Path: "python3", Message: `"python3" is not an executable file in PATH (default PATH)`}}},
		{"user not in /etc/passwd", ib.Config{Entrypoint: []string{"/bin/sh"}, User: "appuser"}, nil,
			[]Problem{{Check: "user", Path: "/etc/passwd", Message: `user "appuser" is not in /etc/passwd`}}},
		{"numeric user", ib.Config{Entrypoint: []string{"/bin/sh"}, User: "4242:4242"}, nil, nil},
		{"empty group after the colon", ib.Config{Entrypoint: []string{"/bin/sh"}, User: "app:"}, nil, nil},
		{"group not in /etc/group", ib.Config{Entrypoint: []string{"/bin/sh"}, User: "app:staff"}, nil,
			[]Problem{{Check: "user", Path: "/etc/group", Message: `group "staff" is not in /etc/group`}}},
		{"owner-only exec, other user", ib.Config{Entrypoint: []string{"/srv/run"}, User: "app"},
			[]ib.File{ib.Dir("/srv"), ib.Reg("/srv/run", "\x7fELF").WithMode(0o700)},
			[]Problem{{Check: "entrypoint", Path: "/srv/run", Message: "/srv/run is not executable by user app (mode 0700, owner 0:0)"}}},
		{"owner-only exec, owner", ib.Config{Entrypoint: []string{"/srv/run"}, User: "app"},
			[]ib.File{ib.Dir("/srv"), ib.Reg("/srv/run", "\x7fELF").WithMode(0o700).Owned(1000, 1000)}, nil},
		{"group exec via supplementary group", ib.Config{Entrypoint: []string{"/srv/run"}, User: "app"},
			[]ib.File{ib.Dir("/srv"), ib.Reg("/srv/run", "\x7fELF").WithMode(0o750).Owned(0, 2000)}, nil},
		{"directory not searchable", ib.Config{Entrypoint: []string{"/srv/run"}, User: "app"},
			[]ib.File{ib.Dir("/srv").WithMode(0o700), ib.Exe("/srv/run", "\x7fELF")},
			[]Problem{{Check: "entrypoint", Path: "/srv", Message: "directory /srv is not searchable by user app (mode 0700, owner 0:0)"}}},
		{"working dir missing: the runtime creates it", ib.Config{Entrypoint: []string{"/bin/sh"}, WorkingDir: "/app"}, nil, nil},
		{"working dir under a file", ib.Config{Entrypoint: []string{"/bin/sh"}, WorkingDir: "/app/data"}, []ib.File{ib.Reg("/app", "x")},
			[]Problem{{Check: "workdir", Path: "/app/data", Message: "working directory /app/data: /app is not a directory"}}},
		{"working dir is a file", ib.Config{Entrypoint: []string{"/bin/sh"}, WorkingDir: "/app"}, []ib.File{ib.Reg("/app", "x")},
			[]Problem{{Check: "workdir", Path: "/app", Message: "working directory /app is a file, not a directory"}}},
		{"relative exec from working dir", ib.Config{Entrypoint: []string{"./run"}, WorkingDir: "/app"},
			[]ib.File{ib.Dir("/app"), ib.Exe("/app/run", "\x7fELF")}, nil},
		{"world-writable file", ib.Config{Entrypoint: []string{"/bin/sh"}},
			[]ib.File{ib.Dir("/etc/app"), ib.Reg("/etc/app/conf", "x").WithMode(0o666), ib.Reg("/tmp/scratch", "x").WithMode(0o666),
				ib.Dir("/var/tmp").WithMode(0o777), ib.Dir("/srv/drop").WithMode(0o1777)},
			[]Problem{{Check: "world-writable", Path: "/etc/app/conf", Message: "/etc/app/conf is writable by everyone (mode 0666)"}}},
		{"file over the size limit", ib.Config{Entrypoint: []string{"/bin/sh"}},
			[]ib.File{ib.Reg("/big", string(make([]byte, 1<<20+1)))},
			[]Problem{{Check: "size", Path: "/big", Message: "/big is 1048577 bytes, over the limit of 1048576"}}},
		{"no entrypoint", ib.Config{}, nil,
			[]Problem{{Check: "entrypoint", Path: "", Message: "the image has neither Entrypoint nor Cmd"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := run(t, tc.cfg, tc.app...)
			if diff := cmp.Diff(tc.want, got); diff != "" && !(tc.want == nil && len(got) == 0) {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// runFS is run with base files of its own instead of rootfs.
func runFS(t *testing.T, cfg ib.Config, files ...ib.File) []Problem {
	t.Helper()
	return checkImage(t, imagetest.Image(t, build, nil, cfg, files), Options{})
}

// TestCheckRuntime holds cases where runc, the kernel's #! loader or env(1)
// decide differently from a naive reading of the config.
func TestCheckRuntime(t *testing.T) {
	app := ib.Config{Entrypoint: []string{"/srv/run"}, User: "app"}
	for _, tc := range []struct {
		name string
		cfg  ib.Config
		app  []ib.File
		want []Problem // nil: no problem
	}{
		{"CRLF shebang: the kernel looks for \"/bin/sh\\r\"", ib.Config{Entrypoint: []string{"/run.sh"}},
			[]ib.File{ib.Exe("/run.sh", "#!/bin/sh\r\necho hi\r\n")},
			[]Problem{{Check: "interpreter", Path: "/run.sh", Message: `/run.sh has CRLF line endings: the kernel looks for the interpreter "/bin/sh\r"`}}},
		{"CRLF shebang with an argument", ib.Config{Entrypoint: []string{"/run.sh"}},
			[]ib.File{ib.Exe("/run.sh", "#!/bin/sh -e\r\necho hi\r\n")},
			[]Problem{{Check: "interpreter", Path: "/run.sh", Message: `/run.sh has CRLF line endings: the kernel passes "-e\r" to /bin/sh`}}},
		{"tab after the interpreter", ib.Config{Entrypoint: []string{"/run.sh"}},
			[]ib.File{ib.Exe("/run.sh", "#! /bin/sh\t-e  \nexec app\n")}, nil},
		{"env gets \"python3 -u\" as one argument", ib.Config{Entrypoint: []string{"/run.py"}},
			[]ib.File{ib.Exe("/usr/bin/python3", "\x7fELF"), ib.Exe("/run.py", "#!/usr/bin/env python3 -u\nprint(1)\n")},
			[]Problem{{Check: "interpreter", Path: "python3 -u", Message: `"python3 -u" is not an executable file in PATH (default PATH)`}}},
		{"env -S splits its argument", ib.Config{Entrypoint: []string{"/run.py"}},
			[]ib.File{ib.Exe("/usr/bin/python3", "\x7fELF"), ib.Exe("/run.py", "#!/usr/bin/env -S python3 -u\nprint(1)\n")}, nil},
		{"env -S with a missing command", ib.Config{Entrypoint: []string{"/run.py"}},
			[]ib.File{ib.Exe("/run.py", "#!/usr/bin/env -S VAR=1 python3 -u\nprint(1)\n")},
			[]Problem{{Check: "interpreter", Path: "python3", Message: `"python3" is not an executable file in PATH (default PATH)`}}},
		{"env that is a busybox symlink", ib.Config{Entrypoint: []string{"/run.py"}},
			[]ib.File{ib.Exe("/bin/busybox", "\x7fELF"), ib.Symlink("/usr/local/bin/env", "/bin/busybox"),
				ib.Exe("/run.py", "#!/usr/local/bin/env python3\nprint(1)\n")},
			[]Problem{{Check: "interpreter", Path: "python3", Message: `"python3" is not an executable file in PATH (default PATH)`}}},
		{"bare #! interpreter is opened from the working dir, not PATH", ib.Config{Entrypoint: []string{"/run.sh"}},
			[]ib.File{ib.Exe("/run.sh", "#!sh\necho\n")},
			[]Problem{{Check: "interpreter", Path: "/sh", Message: "/sh: /sh does not exist"}}},
		{"script the user cannot read", app,
			[]ib.File{ib.Dir("/srv"), ib.Reg("/srv/run", "#!/bin/sh\necho\n").WithMode(0o711)},
			[]Problem{{Check: "entrypoint", Path: "/srv/run", Message: "/srv/run is a #! script that user app cannot read (mode 0711, owner 0:0)"}}},
		{"binary the user cannot read is fine", app,
			[]ib.File{ib.Dir("/srv"), ib.Reg("/srv/run", "\x7fELF").WithMode(0o711)}, nil},
		{"numeric user without passwd entry has gid 0 (runc)", ib.Config{Entrypoint: []string{"/srv/run"}, User: "65532"},
			[]ib.File{ib.Dir("/srv"), ib.Reg("/srv/run", "\x7fELF").WithMode(0o750)}, nil},
		{"numeric user with passwd entry has its gid", ib.Config{Entrypoint: []string{"/srv/run"}, User: "1000"},
			[]ib.File{ib.Dir("/srv"), ib.Reg("/srv/run", "\x7fELF").WithMode(0o750)},
			[]Problem{{Check: "entrypoint", Path: "/srv/run", Message: "/srv/run is not executable by user 1000 (mode 0750, owner 0:0)"}}},
		{"explicit group drops supplementary groups (runc)", ib.Config{Entrypoint: []string{"/srv/run"}, User: "app:app"},
			[]ib.File{ib.Dir("/srv"), ib.Reg("/srv/run", "\x7fELF").WithMode(0o750).Owned(0, 2000)},
			[]Problem{{Check: "entrypoint", Path: "/srv/run", Message: "/srv/run is not executable by user app:app (mode 0750, owner 0:2000)"}}},
		{"directory reached through a symlink must be searchable", ib.Config{Entrypoint: []string{"/usr/local/bin/app"}, User: "app"},
			[]ib.File{ib.Exe("/opt/app", "\x7fELF"), ib.Dir("/usr/local/bin").WithMode(0o700), ib.Symlink("/usr/local/bin/app", "/opt/app")},
			[]Problem{{Check: "entrypoint", Path: "/usr/local/bin", Message: "directory /usr/local/bin is not searchable by user app (mode 0700, owner 0:0)"}}},
		{"link in a parent directory", ib.Config{Entrypoint: []string{"/app/bin/run"}},
			[]ib.File{ib.Dir("/opt/app-1/bin"), ib.Exe("/opt/app-1/bin/run", "\x7fELF"), ib.Symlink("/app", "opt/app-1")}, nil},
		{"absolute link resolves inside the image, .. stops at /", ib.Config{Entrypoint: []string{"/usr/bin/run"}},
			[]ib.File{ib.Exe("/run", "\x7fELF"), ib.Symlink("/usr/bin/run", "../../../../run")}, nil},
		{"shell form: /bin/sh -c is what runs", ib.Config{Entrypoint: []string{"/bin/sh", "-c", "exec missing-app"}}, nil, nil},
		{"Entrypoint + Cmd: Cmd[0] is an argument", ib.Config{Entrypoint: []string{"/bin/sh"}, Cmd: []string{"missing"}}, nil, nil},
		{"Cmd alone runs Cmd[0]", ib.Config{Cmd: []string{"/missing", "--serve"}}, nil,
			[]Problem{{Check: "entrypoint", Path: "/missing", Message: "/missing: /missing does not exist"}}},
		{".. after a symlinked directory is the target's parent", ib.Config{Entrypoint: []string{"/opt/cur/../bin/app"}},
			[]ib.File{ib.Dir("/srv/v2"), ib.Dir("/srv/bin"), ib.Exe("/srv/bin/app", "\x7fELF"), ib.Dir("/opt"), ib.Symlink("/opt/cur", "/srv/v2")}, nil},
		{"link target with .. after a symlink", ib.Config{Entrypoint: []string{"/usr/local/bin/app"}, WorkingDir: "/w"},
			[]ib.File{ib.Dir("/srv/v2"), ib.Dir("/srv/bin"), ib.Exe("/srv/bin/app", "\x7fELF"), ib.Dir("/opt"), ib.Symlink("/opt/cur", "/srv/v2"),
				ib.Dir("/usr/local/bin"), ib.Symlink("/usr/local/bin/app", "/opt/cur/../bin/app")}, nil},
		{"relative exec missing, shown clean", ib.Config{Entrypoint: []string{"./run"}, WorkingDir: "/app"}, []ib.File{ib.Dir("/app")},
			[]Problem{{Check: "entrypoint", Path: "/app/run", Message: "/app/run: /app/run does not exist"}}},
		{"working dir /", ib.Config{Entrypoint: []string{"/bin/sh"}, WorkingDir: "/"}, nil, nil},
		{"world-writable symlink and sticky /run/lock are fine", ib.Config{Entrypoint: []string{"/bin/sh"}},
			[]ib.File{ib.Dir("/run/lock").WithMode(0o1777), ib.Symlink("/var/lock", "/run/lock").WithMode(0o777)}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := run(t, tc.cfg, tc.app...)
			if diff := cmp.Diff(tc.want, got); diff != "" && !(tc.want == nil && len(got) == 0) {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCheckDistroless: distroless-style image, numeric user, no /etc/passwd
// or /etc/group at all, static binary owned by root.
func TestCheckDistroless(t *testing.T) {
	got := runFS(t, ib.Config{Entrypoint: []string{"/app"}, User: "65532:65532", WorkingDir: "/home/nonroot"},
		ib.Dir("/home/nonroot").Owned(65532, 65532).WithMode(0o700), ib.Exe("/app", "\x7fELF"),
		ib.Dir("/tmp").WithMode(0o1777))
	if len(got) != 0 {
		t.Errorf("problems: %+v", got)
	}
}

// TestCheckLookPathSkipsUnsearchable: exec's PATH search skips a directory
// the user cannot search and takes the next match.
func TestCheckLookPathSkipsUnsearchable(t *testing.T) {
	got := run(t, ib.Config{Cmd: []string{"app"}, User: "app", Env: []string{"PATH=/opt/bin:/usr/bin"}},
		ib.Dir("/opt/bin").WithMode(0o700), ib.Exe("/opt/bin/app", "\x7fELF"), ib.Exe("/usr/bin/app", "\x7fELF"))
	if len(got) != 0 {
		t.Errorf("problems: %+v", got)
	}
}

// elf is the start of an ELF header for machine m (little-endian).
func elf(m uint16) string {
	h := []byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00")
	h[18], h[19] = byte(m), byte(m>>8)
	return string(h)
}

func TestCheckExecFormat(t *testing.T) {
	ep := ib.Config{Entrypoint: []string{"/app"}}
	for _, tc := range []struct {
		name string
		app  ib.File
		want []Problem
	}{
		{"amd64 binary", ib.Exe("/app", elf(62)), nil},
		{"386 binary in an amd64 image", ib.Exe("/app", elf(3)), nil},
		{"arm64 binary in an amd64 image", ib.Exe("/app", elf(183)),
			[]Problem{{Check: "entrypoint", Path: "/app", Message: `/app is an ELF binary for machine 183, not for amd64 (62): exec fails with "exec format error"`}}},
		{"script without #!", ib.Exe("/app", "set -e\nexec server\n"),
			[]Problem{{Check: "entrypoint", Path: "/app", Message: `/app is neither an ELF binary nor a #! script: exec fails with "exec format error"`}}},
		{"empty file", ib.Exe("/app", ""),
			[]Problem{{Check: "entrypoint", Path: "/app", Message: `/app is neither an ELF binary nor a #! script: exec fails with "exec format error"`}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := run(t, ep, tc.app)
			if diff := cmp.Diff(tc.want, got); diff != "" && !(tc.want == nil && len(got) == 0) {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckLongShebang(t *testing.T) {
	ep := ib.Config{Entrypoint: []string{"/run"}}
	long := "/opt/" + strings.Repeat("x", 300)
	got := run(t, ep, ib.Exe("/run", "#!"+long+"\necho\n"))
	want := []Problem{{Check: "interpreter", Path: "/run", Message: `/run: the #! line is longer than the kernel's 255 bytes and cuts the interpreter's name: exec fails with "exec format error"`}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("long interpreter (-want +got):\n%s", diff)
	}
	// Only the argument is cut: the kernel runs /bin/sh.
	if got := run(t, ep, ib.Exe("/run", "#!/bin/sh -e "+strings.Repeat("x", 300)+"\necho\n")); len(got) != 0 {
		t.Errorf("long argument: %+v", got)
	}
}

func FuzzParseShebang(f *testing.F) {
	f.Fuzz(func(t *testing.T, head []byte) {
		interp, arg, ok, truncated := parseShebang(head)
		if !ok && (interp != "" || arg != "" || truncated) {
			t.Errorf("not a #! file but %q %q %v", interp, arg, truncated)
		}
		if strings.ContainsAny(interp, " \t\n") || strings.HasPrefix(arg, " ") || strings.HasSuffix(arg, "\t") {
			t.Errorf("split %q into %q %q", head, interp, arg)
		}
	})
}

// TestCheckDevNodes: device nodes (debootstrap-made roots carry /dev/null,
// 0666) are not world-writable files, and /dev is a tmpfs at run time.
func TestCheckDevNodes(t *testing.T) {
	hdrs := []*tar.Header{
		{Name: "dev/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "dev/null", Typeflag: tar.TypeChar, Mode: 0o666, Devmajor: 1, Devminor: 3},
		{Name: "dev/shm/", Typeflag: tar.TypeDir, Mode: 0o777},
		{Name: "srv/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "srv/null", Typeflag: tar.TypeChar, Mode: 0o666, Devmajor: 1, Devminor: 3},
	}
	for _, h := range hdrs {
		h.ModTime, h.Format = time.Unix(1700000000, 0), tar.FormatPAX
	}
	base, err := mutate.AppendLayers(empty.Image, imagetest.Layer(t, hdrs...))
	if err != nil {
		t.Fatal(err)
	}
	img := imagetest.Image(t, build, base, ib.Config{Entrypoint: []string{"/bin/sh"}}, rootfs())
	if got := checkImage(t, img, Options{}); len(got) != 0 {
		t.Errorf("problems: %+v", got)
	}
}

// TestCheckCommonBases: the shapes of debian (merged /usr, /bin -> usr/bin,
// sh -> dash), alpine (busybox symlinks, env is busybox) and distroless
// (no shell, numeric nonroot user) raise nothing.
func TestCheckCommonBases(t *testing.T) {
	etc := []ib.File{ib.Dir("/etc"), ib.Reg("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnonroot:x:65532:65532::/home/nonroot:/sbin/nologin\n"),
		ib.Reg("/etc/group", "root:x:0:\nnonroot:x:65532:\n"), ib.Dir("/tmp").WithMode(0o1777), ib.Dir("/var/tmp").WithMode(0o1777)}
	for _, tc := range []struct {
		name  string
		cfg   ib.Config
		files []ib.File
	}{
		{"debian", ib.Config{Cmd: []string{"bash"}, Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}},
			[]ib.File{ib.Dir("/usr/bin"), ib.Symlink("/bin", "usr/bin"), ib.Exe("/usr/bin/dash", elf(62)), ib.Symlink("/usr/bin/sh", "dash"),
				ib.Exe("/usr/bin/bash", elf(62)), ib.Dir("/run/lock").WithMode(0o1777), ib.Symlink("/var/lock", "/run/lock")}},
		{"debian script", ib.Config{Entrypoint: []string{"docker-entrypoint.sh"}, Cmd: []string{"postgres"}, User: "nonroot"},
			[]ib.File{ib.Dir("/usr/bin"), ib.Symlink("/bin", "usr/bin"), ib.Exe("/usr/bin/dash", elf(62)), ib.Symlink("/usr/bin/sh", "dash"),
				ib.Exe("/usr/bin/env", elf(62)), ib.Dir("/usr/local/bin"), ib.Exe("/usr/local/bin/docker-entrypoint.sh", "#!/usr/bin/env sh\nexec \"$@\"\n")}},
		{"alpine", ib.Config{Cmd: []string{"/bin/sh"}},
			[]ib.File{ib.Dir("/bin"), ib.Exe("/bin/busybox", elf(62)), ib.Symlink("/bin/sh", "/bin/busybox"), ib.Dir("/usr/bin"),
				ib.Symlink("/usr/bin/env", "/bin/busybox"), ib.Exe("/entry.sh", "#!/usr/bin/env sh\nexec app\n")}},
		{"alpine env script", ib.Config{Entrypoint: []string{"/entry.sh"}, User: "65532"},
			[]ib.File{ib.Dir("/bin"), ib.Exe("/bin/busybox", elf(62)), ib.Symlink("/bin/sh", "/bin/busybox"), ib.Dir("/usr/bin"),
				ib.Symlink("/usr/bin/env", "/bin/busybox"), ib.Exe("/entry.sh", "#!/usr/bin/env sh\nexec app\n")}},
		{"distroless", ib.Config{Entrypoint: []string{"/app"}, User: "65532", WorkingDir: "/home/nonroot"},
			[]ib.File{ib.Dir("/home/nonroot").Owned(65532, 65532).WithMode(0o700), ib.Exe("/app", elf(62))}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := runFS(t, tc.cfg, append(append([]ib.File{}, etc...), tc.files...)...); len(got) != 0 {
				t.Errorf("problems: %+v", got)
			}
		})
	}
}
