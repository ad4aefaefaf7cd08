package imagebuild

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// File is one entry of a layer.
type File struct {
	Path    string // absolute or relative; "/" is stripped
	Mode    int64  // permission bits; 0644 (file), 0755 (dir) when 0
	Content string
	Dir     bool
	Link    string // symlink target, when set
	UID     int
	GID     int
	// Whiteout makes the entry a whiteout of Path.
	Whiteout bool
}

// Reg, Exe, Dir and Symlink make common entries.
func Reg(p, content string) File        { return File{Path: p, Content: content} }
func Exe(p, content string) File        { return File{Path: p, Content: content, Mode: 0o755} }
func Dir(p string) File                 { return File{Path: p, Dir: true} }
func Symlink(p, target string) File     { return File{Path: p, Link: target} }
func Whiteout(p string) File            { return File{Path: p, Whiteout: true} }
func (f File) Owned(uid, gid int) File  { f.UID, f.GID = uid, gid; return f }
func (f File) WithMode(mode int64) File { f.Mode = mode; return f }

// Build says how layers are written: a different MTime or GzipLevel gives
// different bytes for the same files, as a rebuild does.
type Build struct {
	MTime     time.Time
	GzipLevel int // 1 to 9; 0 is the default level
}

// Tar writes files as a tar stream, in the order given.
func (b Build) Tar(files []File) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		p := path.Clean("/" + f.Path)[1:]
		h := &tar.Header{Name: p, Mode: f.Mode, Uid: f.UID, Gid: f.GID, ModTime: b.MTime, Format: tar.FormatPAX}
		switch {
		case f.Whiteout:
			h.Name, h.Typeflag, h.Mode = path.Join(path.Dir(p), ".wh."+path.Base(p)), tar.TypeReg, 0o644
		case f.Dir:
			h.Typeflag, h.Name = tar.TypeDir, p+"/"
			if h.Mode == 0 {
				h.Mode = 0o755
			}
		case f.Link != "":
			h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, f.Link, 0o777
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.Content))
			if h.Mode == 0 {
				h.Mode = 0o644
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("writing %s: %w", p, err)
		}
		if h.Typeflag == tar.TypeReg && !f.Whiteout {
			if _, err := io.WriteString(tw, f.Content); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Layer makes a gzip layer of files.
func (b Build) Layer(files []File) (v1.Layer, error) {
	data, err := b.Tar(files)
	if err != nil {
		return nil, err
	}
	level := b.GzipLevel
	if level == 0 {
		level = 6
	}
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		tarball.WithCompressionLevel(level))
}

// Config is the runtime config of an image.
type Config struct {
	Entrypoint, Cmd, Env []string
	User, WorkingDir     string
	Labels               map[string]string
}

// Image appends one layer per entry of layers to base (nil: an empty
// linux/amd64 image), with one history entry each, and sets cfg.
func (b Build) Image(base v1.Image, cfg Config, layers ...[]File) (v1.Image, error) {
	img := base
	if img == nil {
		img = empty.Image
	}
	for i, files := range layers {
		l, err := b.Layer(files)
		if err != nil {
			return nil, err
		}
		img, err = mutate.Append(img, mutate.Addendum{Layer: l, History: v1.History{
			Created: v1.Time{Time: b.MTime}, CreatedBy: fmt.Sprintf("imagebuild layer %d", i),
		}})
		if err != nil {
			return nil, err
		}
	}
	return Configure(img, b.MTime, cfg)
}

// Configure sets the creation time of img and the fields of cfg that are set
// (slices not nil, strings not empty, labels added), and linux/amd64 when img
// names no OS.
func Configure(img v1.Image, created time.Time, cfg Config) (v1.Image, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	if cf.OS == "" {
		cf.OS, cf.Architecture = "linux", "amd64"
	}
	cf.Created = v1.Time{Time: created}
	c := &cf.Config
	if cfg.Entrypoint != nil {
		c.Entrypoint = cfg.Entrypoint
	}
	if cfg.Cmd != nil {
		c.Cmd = cfg.Cmd
	}
	if cfg.Env != nil {
		c.Env = cfg.Env
	}
	if cfg.User != "" {
		c.User = cfg.User
	}
	if cfg.WorkingDir != "" {
		c.WorkingDir = cfg.WorkingDir
	}
	if len(cfg.Labels) > 0 {
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		keys := make([]string, 0, len(cfg.Labels))
		for k := range cfg.Labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			c.Labels[k] = cfg.Labels[k]
		}
	}
	return mutate.ConfigFile(img, cf)
}

// WriteLayout writes img as the only image of a new OCI layout at dir, with
// the tag "latest" (org.opencontainers.image.ref.name).
func WriteLayout(dir string, img v1.Image) error {
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("writing OCI layout %s: %w", dir, err)
	}
	return p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "latest"}))
}

// Push pushes img as ref.
func Push(ref string, img v1.Image, opts ...remote.Option) error {
	r, err := name.ParseReference(ref)
	if err != nil {
		return err
	}
	if err := remote.Write(r, img, opts...); err != nil {
		return fmt.Errorf("pushing %s: %w", ref, err)
	}
	return nil
}

// DpkgStatus returns a dpkg status file (/var/lib/dpkg/status) listing the
// packages, each "name=version", as installed.
func DpkgStatus(pkgs ...string) string {
	var b strings.Builder
	for _, p := range pkgs {
		name, version, _ := strings.Cut(p, "=")
		fmt.Fprintf(&b, "Package: %s\nStatus: install ok installed\nVersion: %s\nDescription: %s\n for tests\n\n", name, version, name)
	}
	return b.String()
}
