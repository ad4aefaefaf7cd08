package preflight

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/imgver/imgver/internal/detect"
)

// Problem is one thing that is wrong with an image.
type Problem struct {
	Check string `json:"check"`
	// Platform is the platform image the problem is in.
	Platform string `json:"platform,omitempty"`
	Path     string `json:"path,omitempty"`
	Message  string `json:"message"`
}

// Report is the outcome for one platform of an image.
type Report struct {
	Ref      string    `json:"ref"`
	Platform string    `json:"platform"`
	OK       bool      `json:"ok"`
	Problems []Problem `json:"problems"`
}

// Options are the knobs of Run.
type Options struct {
	// MaxFileSize reports files larger than it; 0 turns the check off.
	MaxFileSize int64
}

// defaultPath is the PATH a container gets when the image sets none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// errNotExist is the error of resolve for a path that is not in the image.
var errNotExist = errors.New("does not exist")

// maxLinks bounds symlink resolution, as the kernel's ELOOP does.
const maxLinks = 40

// Run checks every platform of the image ref.
func Run(ctx context.Context, c *detect.Comparer, ref string, o Options) ([]*Report, error) {
	snaps, err := c.Snapshot(ctx, ref)
	if err != nil {
		return nil, err
	}
	var out []*Report
	for _, s := range snaps {
		r, err := Snapshot(ctx, s, o)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Snapshot checks one platform image.
func Snapshot(ctx context.Context, s *detect.Snapshot, o Options) (*Report, error) {
	k := &checker{s: s, r: &Report{Ref: s.Ref, Platform: s.Platform, Problems: []Problem{}}}
	files, err := s.ReadFiles(ctx, []string{"/etc/passwd", "/etc/group"}, 1<<20)
	if err != nil {
		return nil, err
	}
	k.passwd, k.group = parseColonFile(files["/etc/passwd"]), parseColonFile(files["/etc/group"])
	k.checkUser()
	k.checkWorkdir()
	if err := k.checkEntrypoint(ctx); err != nil {
		return nil, err
	}
	k.checkFiles(o)
	k.r.OK = len(k.r.Problems) == 0
	return k.r, nil
}

type checker struct {
	s             *detect.Snapshot
	r             *Report
	passwd, group [][]string
	uid           int
	gids          []int
	userKnown     bool
}

func (k *checker) problem(check, p, format string, args ...any) {
	k.r.Problems = append(k.r.Problems, Problem{Check: check, Platform: k.s.Platform, Path: p, Message: fmt.Sprintf(format, args...)})
}

// parseColonFile splits /etc/passwd or /etc/group into fields.
func parseColonFile(b []byte) [][]string {
	var out [][]string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, strings.Split(l, ":"))
		}
	}
	return out
}

// checkUser resolves User to a uid and its groups as runc does
// (moby/sys/user GetExecUser): the first /etc/passwd entry that matches the
// name, or the uid for a numeric user, gives uid and primary gid; a numeric
// user without an entry gets gid 0. An explicit ":group" replaces the
// primary gid and drops the supplementary groups; otherwise a matched user
// gets those of /etc/group that list its name.
func (k *checker) checkUser() {
	user, group, _ := strings.Cut(k.s.Config.User, ":")
	hasGroup := group != "" // "app:" is "app", as in runc
	k.userKnown = true
	k.uid, k.gids = 0, []int{0}
	var entry []string
	for _, f := range k.passwd {
		if len(f) < 4 {
			continue
		}
		if user == "" && f[2] == "0" || isNumber(user) && f[2] == strconv.Itoa(atoi(user)) || !isNumber(user) && f[0] == user {
			entry = f
			break
		}
	}
	switch {
	case entry != nil:
		k.uid, _ = strconv.Atoi(entry[2])
		if g, err := strconv.Atoi(entry[3]); err == nil {
			k.gids = []int{g}
		}
	case isNumber(user):
		k.uid = atoi(user)
	case user != "":
		k.uid, k.userKnown = -1, false
		k.problem("user", "/etc/passwd", "user %q is not in /etc/passwd", user)
		return
	}
	if hasGroup {
		for _, f := range k.group {
			if len(f) >= 3 && (f[0] == group || isNumber(group) && f[2] == strconv.Itoa(atoi(group))) {
				g, _ := strconv.Atoi(f[2])
				k.gids = []int{g}
				return
			}
		}
		if isNumber(group) {
			k.gids = []int{atoi(group)}
			return
		}
		k.problem("user", "/etc/group", "group %q is not in /etc/group", group)
		return
	}
	if entry == nil {
		return
	}
	for _, f := range k.group {
		if len(f) >= 4 && slices.Contains(strings.Split(f[3], ","), entry[0]) {
			if g, err := strconv.Atoi(f[2]); err == nil {
				k.gids = append(k.gids, g)
			}
		}
	}
}

func (k *checker) checkWorkdir() {
	wd := k.s.Config.WorkingDir
	if wd == "" {
		return
	}
	e, p, err := k.resolve("/" + wd)
	switch {
	case errors.Is(err, errNotExist):
		// Docker (moby's SetupWorkingDirectory) and runc create a
		// missing working directory, 0755 root.
	case err != nil:
		k.problem("workdir", wd, "working directory %s: %v", wd, err)
	case e.Type != detect.TypeDir:
		k.problem("workdir", p, "working directory %s is a %s, not a directory", wd, e.Type)
	}
}

// env returns the value of name in the image's Env.
func (k *checker) env(name string) (string, bool) {
	for _, kv := range k.s.Config.Env {
		if n, v, ok := strings.Cut(kv, "="); ok && n == name {
			return v, true
		}
	}
	return "", false
}

// lookPath finds a bare command name in PATH, as exec does.
func (k *checker) lookPath(name string) (string, bool) {
	pathEnv, ok := k.env("PATH")
	if !ok {
		pathEnv = defaultPath
	}
	for _, dir := range strings.Split(pathEnv, ":") {
		if dir == "" {
			dir = "."
		}
		p := "/" + k.s.Config.WorkingDir + "/" + dir + "/" + name
		if path.IsAbs(dir) {
			p = dir + "/" + name
		}
		if e, _, dirs, err := k.walk(p); err == nil && e.Type == detect.TypeFile && k.canExec(e) && k.searchable(dirs) {
			return p, true
		}
	}
	return "", false
}

func (k *checker) checkEntrypoint(ctx context.Context) error {
	argv := append(append([]string{}, k.s.Config.Entrypoint...), k.s.Config.Cmd...)
	if len(argv) == 0 {
		k.problem("entrypoint", "", "the image has neither Entrypoint nor Cmd")
		return nil
	}
	exe, ok := k.executable("entrypoint", argv[0])
	if !ok {
		return nil
	}
	files, err := k.s.ReadFiles(ctx, []string{exe}, 512)
	if err != nil {
		return err
	}
	head, read := files[exe]
	interp, arg, ok, truncated := parseShebang(head)
	if truncated {
		k.problem("interpreter", exe, "%s: the #! line is longer than the kernel's 255 bytes and cuts the interpreter's name: exec fails with \"exec format error\"", exe)
		return nil
	}
	if !ok {
		if read {
			k.checkBinary(exe, head)
		}
		return nil
	}
	if e, _ := k.s.Lookup(exe); e != nil && !k.can(e, 4) {
		// The kernel only needs exec permission; the interpreter then
		// opens the script by name and needs to read it.
		k.problem("entrypoint", exe, "%s is a #! script that %s cannot read (mode %04o, owner %d:%d)", exe, k.who(), e.Mode, e.UID, e.GID)
	}
	if interp == "" {
		k.problem("interpreter", exe, "%s starts with #! but names no interpreter", exe)
		return nil
	}
	// A CRLF line: the "\r" ends the interpreter's name (no such file) or
	// its argument (sh -e\r: invalid option; env: no "python3\r").
	switch {
	case strings.HasSuffix(interp, "\r"):
		k.problem("interpreter", exe, "%s has CRLF line endings: the kernel looks for the interpreter %q", exe, interp)
		return nil
	case strings.HasSuffix(arg, "\r"):
		k.problem("interpreter", exe, "%s has CRLF line endings: the kernel passes %q to %s", exe, arg, interp)
		return nil
	}
	// The kernel opens the interpreter by path, relative to the working
	// directory, without a PATH search.
	if !strings.Contains(interp, "/") {
		interp = path.Join("/", k.s.Config.WorkingDir, interp)
	}
	if _, ok := k.executable("interpreter", interp); ok && path.Base(interp) == "env" {
		if name := envCommand(arg); name != "" {
			k.executable("interpreter", name)
		}
	}
	return nil
}

// elfMachines maps GOARCH names to ELF e_machine values.
var elfMachines = map[string]uint16{
	"386": 3, "amd64": 62, "arm": 40, "arm64": 183, "ppc64le": 21, "ppc64": 21,
	"s390x": 22, "riscv64": 243, "mips64le": 8, "mips64": 8, "loong64": 258,
}

// checkBinary reports an executable that is neither a #! script nor an ELF
// file (execve fails with ENOEXEC, "exec format error"), and an ELF file
// built for another architecture than the image's platform.
func (k *checker) checkBinary(exe string, head []byte) {
	if !bytes.HasPrefix(head, []byte("\x7fELF")) {
		k.problem("entrypoint", exe, "%s is neither an ELF binary nor a #! script: exec fails with \"exec format error\"", exe)
		return
	}
	if len(head) < 20 {
		return
	}
	m := binary.LittleEndian.Uint16(head[18:20])
	if head[5] == 2 { // ELFDATA2MSB
		m = binary.BigEndian.Uint16(head[18:20])
	}
	_, rest, _ := strings.Cut(k.s.Platform, "/")
	arch, _, _ := strings.Cut(rest, "/")
	if arch == "amd64" && m == elfMachines["386"] {
		return // IA-32 emulation: on in the kernels of every major distribution
	}
	if want, ok := elfMachines[arch]; ok && m != want {
		k.problem("entrypoint", exe, "%s is an ELF binary for machine %d, not for %s (%d): exec fails with \"exec format error\"", exe, m, arch, want)
	}
}

// parseShebang splits a #! line as Linux's binfmt_script does: the
// interpreter ends at the first space or tab, and everything after it,
// with the surrounding spaces and tabs removed, is one argument. A "\r"
// is not white space to the kernel.
//
// The kernel reads the first 256 bytes (BINPRM_BUF_SIZE): a longer line is
// cut at byte 255, and when that cuts the interpreter's name, exec fails
// (ENOEXEC); truncated is then true.
func parseShebang(head []byte) (interp, arg string, ok, truncated bool) {
	const bufSize = 256
	if !bytes.HasPrefix(head, []byte("#!")) {
		return "", "", false, false
	}
	buf := head[:min(len(head), bufSize)]
	line, _, nl := bytes.Cut(buf[2:], []byte("\n"))
	if !nl && len(head) >= bufSize {
		line = buf[2 : bufSize-1]
		name := bytes.TrimLeft(line, " \t")
		if !bytes.ContainsAny(name, " \t\x00") {
			return string(name), "", true, true
		}
	}
	line, _, _ = bytes.Cut(line, []byte{0})
	l := strings.Trim(string(line), " \t")
	i := strings.IndexAny(l, " \t")
	if i < 0 {
		return l, "", true, false
	}
	return l[:i], strings.TrimLeft(l[i:], " \t"), true, false
}

// envCommand returns the command that "#!/usr/bin/env ARG" runs: ARG as a
// whole (env does not split it), or, for "-S ..."/"--split-string=...", the
// first word that is neither an option nor a VAR=value. It returns "" when
// the command cannot be told (other options, an assignment).
func envCommand(arg string) string {
	var rest string
	switch {
	case arg == "":
		return ""
	case strings.HasPrefix(arg, "-S"):
		rest = arg[2:]
	case strings.HasPrefix(arg, "--split-string="), strings.HasPrefix(arg, "--split-string "):
		rest = arg[len("--split-string="):]
	case strings.HasPrefix(arg, "-") || strings.Contains(arg, "="):
		return ""
	default:
		return arg
	}
	for _, f := range strings.Fields(rest) {
		switch {
		case strings.HasPrefix(f, "-"), strings.Contains(f, "="):
			if f == "-u" || f == "-C" || f == "--unset" || f == "--chdir" {
				return "" // takes an operand: give up
			}
			continue
		case strings.ContainsAny(f, "\\'\"$"):
			return "" // quoting or variables: give up
		}
		return f
	}
	return ""
}

// executable finds the program name as exec would and checks that the
// image's user can run it; it returns the resolved path.
func (k *checker) executable(check, name string) (string, bool) {
	p := name
	switch {
	case strings.Contains(name, "/"):
		if !path.IsAbs(name) {
			p = "/" + k.s.Config.WorkingDir + "/" + name
		}
	default:
		found, ok := k.lookPath(name)
		if !ok {
			k.problem(check, name, "%q is not an executable file in PATH (%s)", name, k.pathValue())
			return "", false
		}
		p = found
	}
	e, target, dirs, err := k.walk(p)
	if err != nil {
		p = path.Clean(p) // to show; the walk took ".." after symlinks
		k.problem(check, p, "%s: %v", p, err)
		return "", false
	}
	if e.Type != detect.TypeFile {
		k.problem(check, target, "%s is a %s, not a regular file", target, e.Type)
		return "", false
	}
	if !k.canExec(e) {
		k.problem(check, target, "%s is not executable by %s (mode %04o, owner %d:%d)", target, k.who(), e.Mode, e.UID, e.GID)
		return "", false
	}
	for _, d := range dirs {
		if de, ok := k.s.Lookup(d); ok && !k.can(de, 1) {
			k.problem(check, d, "directory %s is not searchable by %s (mode %04o, owner %d:%d)", d, k.who(), de.Mode, de.UID, de.GID)
			return "", false
		}
	}
	return target, true
}

func (k *checker) pathValue() string {
	if v, ok := k.env("PATH"); ok {
		return "PATH=" + v
	}
	return "default PATH"
}

func (k *checker) who() string {
	if k.s.Config.User == "" {
		return "root"
	}
	return "user " + k.s.Config.User
}

// searchable reports whether the user may search all of dirs.
func (k *checker) searchable(dirs []string) bool {
	for _, d := range dirs {
		if de, ok := k.s.Lookup(d); ok && !k.can(de, 1) {
			return false
		}
	}
	return true
}

// canExec: root may run a file with any exec bit.
func (k *checker) canExec(e *detect.Entry) bool {
	if k.uid == 0 && k.userKnown {
		return e.Mode&0o111 != 0
	}
	return k.can(e, 1)
}

// can reports whether the user has permission bit (4 r, 2 w, 1 x) on e.
func (k *checker) can(e *detect.Entry, bit detect.Mode) bool {
	if k.uid == 0 && k.userKnown {
		return true
	}
	switch {
	case e.UID == k.uid:
		return e.Mode>>6&bit != 0
	case slices.Contains(k.gids, e.GID):
		return e.Mode>>3&bit != 0
	}
	return e.Mode&bit != 0
}

// resolve follows symlinks in every component of p, inside the image.
func (k *checker) resolve(p string) (*detect.Entry, string, error) {
	e, target, _, err := k.walk(p)
	return e, target, err
}

// walk is resolve that also returns every directory the lookup searched,
// those reached through symlinks included, as the kernel's path walk does.
// It takes p component by component, as the kernel does: ".." is the
// parent of the directory reached so far (a symlink's target, not the
// link's), and goes no higher than /.
func (k *checker) walk(p string) (*detect.Entry, string, []string, error) {
	var dirs []string
	links := 0
	todo := strings.Split(p, "/")
	cur := "/"
	for len(todo) > 0 {
		part := todo[0]
		todo = todo[1:]
		switch part {
		case "", ".":
			continue
		case "..":
			cur = path.Dir(cur)
			continue
		}
		dirs = append(dirs, cur)
		next := path.Join(cur, part)
		e, ok := k.s.Lookup(next)
		if !ok {
			return nil, next, nil, fmt.Errorf("%s %w", next, errNotExist)
		}
		if e.Type == detect.TypeSymlink {
			if links++; links > maxLinks {
				return nil, next, nil, fmt.Errorf("too many levels of symbolic links at %s", next)
			}
			if path.IsAbs(e.Link) {
				cur = "/"
			}
			todo = append(strings.Split(e.Link, "/"), todo...)
			continue
		}
		if e.Type != detect.TypeDir && slices.ContainsFunc(todo, func(s string) bool { return s != "" && s != "." }) {
			return nil, next, nil, fmt.Errorf("%s is not a directory", next)
		}
		cur = next
	}
	e, ok := k.s.Lookup(cur)
	if !ok {
		return nil, cur, nil, fmt.Errorf("%s %w", cur, errNotExist)
	}
	return e, cur, dirs, nil
}

func (k *checker) checkFiles(o Options) {
	for _, e := range k.s.Files {
		// Symlinks' modes mean nothing; device nodes are governed by the
		// container's device cgroup; /dev is a tmpfs at run time.
		if e.Type != detect.TypeSymlink && e.Type != detect.TypeChar && e.Type != detect.TypeBlock &&
			e.Mode&0o002 != 0 && !(e.Type == detect.TypeDir && e.Mode&0o1000 != 0) &&
			!under(e.Path, "/tmp") && !under(e.Path, "/var/tmp") && !under(e.Path, "/dev") {
			k.problem("world-writable", e.Path, "%s is writable by everyone (mode %04o)", e.Path, e.Mode)
		}
		if o.MaxFileSize > 0 && e.Type == detect.TypeFile && e.Size > o.MaxFileSize {
			k.problem("size", e.Path, "%s is %d bytes, over the limit of %d", e.Path, e.Size, o.MaxFileSize)
		}
	}
}

func under(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

func isNumber(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil && s != ""
}
