package config

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"regexp/syntax"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/imgver/imgver/internal/clip"
	"github.com/imgver/imgver/internal/detect"
	"github.com/imgver/imgver/internal/userfile"
)

// FileName is the name Find looks for.
const FileName = "images.hcl"

// Defaults for the optional top-level attributes.
const (
	DefaultPinFile        = "scripts/image_versions.src"
	DefaultSHALength      = 7
	DefaultReleasePattern = `^(v|release-)[0-9]+\.[0-9]+\.[0-9]+$`
)

// Config is a loaded images.hcl.
type Config struct {
	// Path is the absolute path of the file; Dir the directory holding it.
	Path, Dir string
	// SHA256 is the hex sha256 of the file's content: which config a
	// result was made from (detect --shard, apply).
	SHA256 string
	// PinFile is the absolute path of the pin file.
	PinFile string
	// Registry is the repository prefix of images without a repository.
	Registry string
	// SHALength is how many characters of a commit SHA make a version.
	SHALength int
	// ReleasePattern is what a release version must match.
	ReleasePattern *regexp.Regexp
	// Ignore holds global noise globs for change detection.
	Ignore []string
	// IgnoreLabels holds image labels that never make a change.
	IgnoreLabels []string
	// Images in the order they are declared.
	Images []Image
}

// Image is one image block.
type Image struct {
	Name string
	// Var is the shell variable prefix; the pin variable is Var + "_VER".
	Var string
	// Repository is where the image is published, without tag.
	Repository string
	// Dockerfile and Context are absolute paths, or empty.
	Dockerfile, Context string
	// Candidate is where CI's fresh build is found (may hold {name}, {var}, {sha}).
	Candidate string
	// Ignore holds this image's noise globs.
	Ignore []string
	// DeclRange is where the block is declared.
	DeclRange hcl.Range
}

// PinVar is the shell variable that holds the image's version.
func (i Image) PinVar() string { return i.Var + "_VER" }

// Image returns the image named name.
func (c *Config) Image(name string) (*Image, bool) {
	for i := range c.Images {
		if c.Images[i].Name == name {
			return &c.Images[i], true
		}
	}
	return nil, false
}

// Names returns the image names in declaration order.
func (c *Config) Names() []string {
	names := make([]string, len(c.Images))
	for i, im := range c.Images {
		names[i] = im.Name
	}
	return names
}

// UnknownImageError is returned by Lookup for a name no image has.
type UnknownImageError struct {
	Name  string
	Known []string
}

func (e *UnknownImageError) Error() string {
	return fmt.Sprintf("unknown image %q (known: %s)", e.Name, strings.Join(e.Known, ", "))
}

// Lookup returns the images with the given names, in the order given, or an
// *UnknownImageError for the first name no image has.
func (c *Config) Lookup(names ...string) ([]*Image, error) {
	out := make([]*Image, 0, len(names))
	for _, n := range names {
		im, ok := c.Image(n)
		if !ok {
			return nil, &UnknownImageError{Name: n, Known: c.Names()}
		}
		out = append(out, im)
	}
	return out, nil
}

// DiagnosticsError holds every problem found in a config file.
type DiagnosticsError struct {
	Diags hcl.Diagnostics
	Files map[string]*hcl.File
}

func (e *DiagnosticsError) Error() string {
	errs := e.Diags.Errs()
	if len(errs) == 0 {
		return "invalid config"
	}
	var first *hcl.Diagnostic
	for _, d := range e.Diags {
		if d.Severity == hcl.DiagError {
			first = d
			break
		}
	}
	msg := oneLine(first)
	if n := len(errs) - 1; n > 0 {
		msg += fmt.Sprintf(" (and %d more)", n)
	}
	return msg
}

// oneLine renders d as "file:line:col: summary: detail".
func oneLine(d *hcl.Diagnostic) string {
	var b strings.Builder
	if d.Subject != nil {
		fmt.Fprintf(&b, "%s:%d:%d: ", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column)
	}
	b.WriteString(d.Summary)
	if d.Detail != "" {
		b.WriteString(": ")
		b.WriteString(strings.TrimSuffix(d.Detail, "."))
	}
	return b.String()
}

// Render writes every diagnostic with a source snippet, as packer and
// terraform do; a snippet whose lines are longer than maxSnippetLine bytes
// is left out, so that a 30 MB value is not printed.
func (e *DiagnosticsError) Render(w io.Writer) error {
	tw := hcl.NewDiagnosticTextWriter(w, e.Files, 100, false)
	for _, d := range e.Diags {
		if n := e.longestLine(d.Subject); n > maxSnippetLine {
			c := *d
			c.Subject, c.Context = nil, nil
			c.Detail = fmt.Sprintf("On %s line %d (not shown: %d bytes long). %s", d.Subject.Filename, d.Subject.Start.Line, n, d.Detail)
			d = &c
		}
		if err := tw.WriteDiagnostic(d); err != nil {
			return err
		}
	}
	return nil
}

// maxSnippetLine is the longest source line Render shows.
const maxSnippetLine = 500

// longestLine returns the length of the longest source line r touches.
func (e *DiagnosticsError) longestLine(r *hcl.Range) int {
	if r == nil {
		return 0
	}
	f := e.Files[r.Filename]
	if f == nil || r.Start.Byte > len(f.Bytes) || r.End.Byte > len(f.Bytes) || r.Start.Byte > r.End.Byte {
		return 0
	}
	start := bytes.LastIndexByte(f.Bytes[:r.Start.Byte], '\n') + 1
	end := len(f.Bytes)
	if i := bytes.IndexByte(f.Bytes[r.End.Byte:], '\n'); i >= 0 {
		end = r.End.Byte + i
	}
	longest := 0
	for line := range bytes.SplitSeq(f.Bytes[start:end], []byte("\n")) {
		longest = max(longest, len(line))
	}
	return longest
}

// ErrNotFound is returned by Find when no images.hcl is found.
var ErrNotFound = errors.New("no " + FileName + " found in this directory or any parent (use --config)")

// Find looks for images.hcl in dir and its parents, as git looks for .git.
func Find(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, FileName)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		} else if err == nil {
			return "", fmt.Errorf("finding %s: %s is a directory, not a file", FileName, p)
		} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("looking for %s: %w", FileName, err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ErrNotFound
		}
		dir = parent
	}
}

type fileSchema struct {
	PinFile        *string      `hcl:"pin_file,optional"`
	Registry       *string      `hcl:"registry,optional"`
	SHALength      *int         `hcl:"sha_length,optional"`
	ReleasePattern *string      `hcl:"release_pattern,optional"`
	Ignore         []string     `hcl:"ignore,optional"`
	IgnoreLabels   []string     `hcl:"ignore_labels,optional"`
	Images         []imageBlock `hcl:"image,block"`
}

type imageBlock struct {
	Name       string    `hcl:"name,label"`
	Var        *string   `hcl:"var,optional"`
	Repository *string   `hcl:"repository,optional"`
	Dockerfile *string   `hcl:"dockerfile,optional"`
	Context    *string   `hcl:"context,optional"`
	Candidate  *string   `hcl:"candidate,optional"`
	Ignore     []string  `hcl:"ignore,optional"`
	DefRange   hcl.Range `hcl:",def_range"`
}

var shellIdent = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// imageName is what an image may be called: no comma, space or control
// character, which would break a comma list or a line of $GITHUB_OUTPUT.
var imageName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]*$`)
var notIdentChar = regexp.MustCompile(`[^A-Za-z0-9_]`)

// DefaultVar is the var of an image that sets none.
func DefaultVar(name string) string { return notIdentChar.ReplaceAllString(name, "_") }

// Load reads and validates the config file at path. The name used in
// diagnostics is path as given.
func Load(path string) (*Config, error) {
	// Through userfile: a FIFO or device named as the config is refused
	// before it is opened, never read (an open of a FIFO blocks).
	src, err := userfile.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	return Parse(path, src)
}

// Parse validates src, the content of the config file at path.
func Parse(path string, src []byte) (*Config, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	p := hclparse.NewParser()
	f, diags := p.ParseHCL(src, path)
	fail := func(diags hcl.Diagnostics) error { return &DiagnosticsError{Diags: diags, Files: p.Files()} }
	if diags.HasErrors() {
		return nil, fail(diags)
	}
	var raw fileSchema
	if diags := gohcl.DecodeBody(f.Body, nil, &raw); diags.HasErrors() {
		return nil, fail(diags)
	}
	body, _ := f.Body.(*hclsyntax.Body)
	c := &Config{Path: abs, Dir: filepath.Dir(abs), SHA256: fmt.Sprintf("%x", sha256.Sum256(src)), SHALength: DefaultSHALength, Ignore: raw.Ignore, IgnoreLabels: raw.IgnoreLabels}
	var d hcl.Diagnostics
	attrErr := func(b *hclsyntax.Body, attr string, fallback hcl.Range, summary, detail string) {
		subject := fallback
		if b != nil {
			if a, ok := b.Attributes[attr]; ok {
				subject = a.Expr.Range()
			}
		}
		d = append(d, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: subject.Ptr()})
	}
	fileRange := hcl.Range{Filename: path, Start: hcl.InitialPos, End: hcl.InitialPos}

	pin := DefaultPinFile
	if raw.PinFile != nil {
		pin = *raw.PinFile
		if pin == "" {
			attrErr(body, "pin_file", fileRange, "Invalid pin_file", "pin_file must not be empty.")
		}
	}
	c.PinFile = c.abs(pin)
	if raw.Registry != nil {
		c.Registry = strings.TrimSuffix(*raw.Registry, "/")
		if _, err := name.NewRepository(c.Registry + "/x"); err != nil {
			attrErr(body, "registry", fileRange, "Invalid registry", fmt.Sprintf("%s is not a valid repository prefix: %s.", clip.Quote(*raw.Registry), clip.Reason(err, c.Registry+"/x")))
		}
	}
	if raw.SHALength != nil {
		c.SHALength = *raw.SHALength
		if c.SHALength < 4 || c.SHALength > 40 {
			attrErr(body, "sha_length", fileRange, "Invalid sha_length", fmt.Sprintf("sha_length must be between 4 and 40, not %d.", c.SHALength))
		}
	}
	pattern := DefaultReleasePattern
	if raw.ReleasePattern != nil {
		pattern = *raw.ReleasePattern
	}
	if re, err := regexp.Compile(pattern); err != nil {
		attrErr(body, "release_pattern", fileRange, "Invalid release_pattern", fmt.Sprintf("%s is not a valid regular expression: %s.", clip.Quote(pattern), regexpReason(err)))
	} else {
		c.ReleasePattern = re
	}
	for _, g := range raw.Ignore {
		if problem := globProblem(g); problem != "" {
			attrErr(body, "ignore", fileRange, "Invalid ignore glob", problem)
		}
	}

	byName := map[string]hcl.Range{}
	byVar := map[string]string{}
	for i, ib := range raw.Images {
		var ibody *hclsyntax.Body
		if body != nil {
			ibody = imageBody(body, i)
		}
		im := Image{Name: ib.Name, DeclRange: ib.DefRange, Ignore: ib.Ignore}
		if prev, dup := byName[ib.Name]; dup {
			d = append(d, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate image block",
				Detail:   fmt.Sprintf("An image named %s was already declared at %s.", clip.Quote(ib.Name), prev),
				Subject:  ib.DefRange.Ptr(),
			})
			continue
		}
		byName[ib.Name] = ib.DefRange
		if !imageName.MatchString(ib.Name) {
			d = append(d, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid image name", Detail: fmt.Sprintf("Image name %s must be letters, digits, '.', '_', '-' and '/', starting with a letter or digit (names are command arguments and items of GitHub outputs' comma lists).", clip.Quote(ib.Name)), Subject: ib.DefRange.Ptr()})
			continue
		}
		im.Var = DefaultVar(ib.Name)
		if ib.Var != nil {
			im.Var = *ib.Var
		}
		if !shellIdent.MatchString(im.Var) {
			what := "var " + clip.Quote(im.Var)
			if ib.Var == nil {
				what = fmt.Sprintf("The default var %s (from the image name)", clip.Quote(im.Var))
			}
			attrErr(ibody, "var", ib.DefRange, "Invalid var", fmt.Sprintf("%s is not a valid shell identifier; set var to letters, digits and _ not starting with a digit.", what))
		} else if other, dup := byVar[im.Var]; dup {
			attrErr(ibody, "var", ib.DefRange, "Duplicate var", fmt.Sprintf("Images %q and %q both map to the shell variable %s_VER; give one of them another var.", other, ib.Name, im.Var))
		} else {
			byVar[im.Var] = ib.Name
		}
		switch {
		case ib.Repository != nil:
			im.Repository = *ib.Repository
		case c.Registry != "":
			im.Repository = c.Registry + "/" + ib.Name
		}
		if im.Repository == "" {
			d = append(d, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Missing repository", Detail: fmt.Sprintf("Image %q has no repository: set repository, or registry at the top of the file.", ib.Name), Subject: ib.DefRange.Ptr()})
		} else if _, err := name.NewRepository(im.Repository); err != nil {
			attrErr(ibody, "repository", ib.DefRange, "Invalid repository", fmt.Sprintf("%s is not a valid repository for image %q: %s.", clip.Quote(im.Repository), ib.Name, clip.Reason(err, im.Repository)))
		}
		if ib.Dockerfile != nil {
			im.Dockerfile = c.abs(*ib.Dockerfile)
		}
		if ib.Context != nil {
			im.Context = c.abs(*ib.Context)
		}
		if ib.Candidate != nil {
			im.Candidate = *ib.Candidate
			if _, err := ExpandCandidate(im.Candidate, im.Name, im.Var, "sha"); err != nil {
				attrErr(ibody, "candidate", ib.DefRange, "Invalid candidate", err.Error()+".")
			}
		}
		for _, g := range ib.Ignore {
			if problem := globProblem(g); problem != "" {
				attrErr(ibody, "ignore", ib.DefRange, "Invalid ignore glob", problem)
			}
		}
		c.Images = append(c.Images, im)
	}
	if !d.HasErrors() {
		d = append(d, noImages(raw.Images, fileRange)...)
	}
	if d.HasErrors() {
		return nil, fail(d)
	}
	return c, nil
}

// noImages is the error of a config without image blocks: every command
// would do nothing and exit 0, and CI would take that for "nothing changed".
func noImages(images []imageBlock, fileRange hcl.Range) hcl.Diagnostics {
	if len(images) > 0 {
		return nil
	}
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "No images", Detail: `The file declares no image block; add one per image: image "NAME" { dockerfile = "..." }.`, Subject: fileRange.Ptr()}}
}

// imageBody returns the body of the i-th image block.
func imageBody(body *hclsyntax.Body, i int) *hclsyntax.Body {
	n := 0
	for _, b := range body.Blocks {
		if b.Type != "image" {
			continue
		}
		if n == i {
			return b.Body
		}
		n++
	}
	return nil
}

// globProblem says what is wrong with an ignore glob, or "": it must be
// absolute, and valid for the matcher detect uses (detect.ValidateGlob).
func globProblem(g string) string {
	if !strings.HasPrefix(g, "/") {
		return fmt.Sprintf("ignore glob %s must be an absolute path in the image (start with /).", clip.Quote(g))
	}
	if err := detect.ValidateGlob(g); err != nil {
		return fmt.Sprintf("ignore glob %s is malformed (doublestar syntax: *, **, ?, [class], {a,b}).", clip.Quote(g))
	}
	return ""
}

// regexpReason is what is wrong with a regular expression, without the
// expression, which the message quotes once.
func regexpReason(err error) string {
	var se *syntax.Error
	if errors.As(err, &se) {
		return string(se.Code)
	}
	return clip.String(err.Error())
}

// strayBrace returns an error for a '{' or '}' of the candidate ref that
// makes no placeholder ("oci:build/{name"): no reference holds one.
func strayBrace(ref string) error {
	rest := placeholderRE.ReplaceAllString(ref, "")
	if i := strings.IndexAny(rest, "{}"); i >= 0 {
		return fmt.Errorf("unclosed placeholder or stray %q in candidate %s (placeholders are {name}, {var}, {sha})", rest[i], clip.Quote(ref))
	}
	return nil
}

func (c *Config) abs(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(c.Dir, p)
}

var placeholderRE = regexp.MustCompile(`\{[^{}]*\}`)

// ExpandCandidate replaces {name}, {var} and {sha} in the candidate reference
// ref; any other {placeholder} is an error.
func ExpandCandidate(ref, name, v, sha string) (string, error) {
	var bad string
	out := placeholderRE.ReplaceAllStringFunc(ref, func(p string) string {
		switch p {
		case "{name}":
			return name
		case "{var}":
			return v
		case "{sha}":
			return sha
		}
		bad = p
		return p
	})
	if bad != "" {
		return "", fmt.Errorf("unknown placeholder %s in candidate %s (known: {name}, {var}, {sha})", clip.String(bad), clip.Quote(ref))
	}
	if err := strayBrace(ref); err != nil {
		return "", err
	}
	return out, nil
}
