package flow

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/imgver/imgver/internal/clip"
	"github.com/imgver/imgver/internal/config"
	"github.com/imgver/imgver/internal/pinfile"
	"github.com/imgver/imgver/internal/release"
	"github.com/imgver/imgver/internal/userfile"
)

// Shard is part K of N of the images of a config (1 ≤ K ≤ N); the zero
// Shard is all of them. An image belongs to the shard its name chooses by
// rendezvous hashing: of the N shards, the one whose sha256 of (shard
// number, image name) is highest. So an image's shard depends on its name
// and N only: adding or removing images never moves another image, and going
// from N to N+1 shards moves only images into the new shard.
type Shard struct{ K, N int }

var shardRE = regexp.MustCompile(`^[0-9]{1,6}/[0-9]{1,6}$`)

// ParseShard reads "K/N".
func ParseShard(s string) (Shard, error) {
	bad := fmt.Errorf("invalid shard %s: want K/N with 1 <= K <= N, e.g. 2/3", clip.Quote(s))
	if !shardRE.MatchString(s) {
		return Shard{}, bad
	}
	k, n, _ := strings.Cut(s, "/")
	var sh Shard
	sh.K, _ = strconv.Atoi(k)
	sh.N, _ = strconv.Atoi(n)
	if sh.K < 1 || sh.K > sh.N {
		return Shard{}, bad
	}
	return sh, nil
}

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.K, s.N) }

// Has reports whether the image called name belongs to s.
func (s Shard) Has(name string) bool { return s.N == 0 || shardOf(name, s.N) == s.K }

// shardOf returns the shard, 1 to n, of the image called name.
func shardOf(name string, n int) int {
	best, bestK := uint64(0), 1
	for k := 1; k <= n; k++ {
		h := sha256.Sum256(fmt.Appendf(nil, "%d\x00%s", k, name))
		if v := binary.BigEndian.Uint64(h[:8]); k == 1 || v > best {
			best, bestK = v, k
		}
	}
	return bestK
}

// indices returns the indices in cfg.Images of the images of s.
func (s Shard) indices(cfg *config.Config) []int {
	var out []int
	for i, im := range cfg.Images {
		if s.Has(im.Name) {
			out = append(out, i)
		}
	}
	return out
}

// ShardInfo is what the report of one shard (DetectOptions.Shard) carries
// so that Apply can merge it with the others and check that they were all
// made by one run: the same commit (DetectReport.Commit), config, pin file
// content, options and N.
type ShardInfo struct {
	K int `json:"k"`
	N int `json:"n"`
	// Images names the images of the shard, in config order.
	Images []string `json:"images"`
	// PinFileSHA256 and ConfigSHA256 are the hex sha256 of the content of
	// the pin file the shard read and of images.hcl.
	PinFileSHA256 string `json:"pin_file_sha256"`
	ConfigSHA256  string `json:"config_sha256"`
	// Options are the options of Detect that shape a result.
	Options ShardOptions `json:"options"`
}

// ShardOptions are the options of Detect that every shard of one run must
// share.
type ShardOptions struct {
	Platform string `json:"platform"`
	History  bool   `json:"history"`
	NoCheck  bool   `json:"no_check"`
	NoBase   bool   `json:"no_base"`
}

func (o ShardOptions) String() string {
	return fmt.Sprintf("platform=%q history=%t no_check=%t no_base=%t", o.Platform, o.History, o.NoCheck, o.NoBase)
}

// shardInfo describes the shard rep, made from cfg and f with o.
func shardInfo(cfg *config.Config, f *pinfile.File, rep *DetectReport, o DetectOptions) *ShardInfo {
	si := &ShardInfo{K: o.Shard.K, N: o.Shard.N, Images: []string{},
		PinFileSHA256: contentSHA256(f), ConfigSHA256: cfg.SHA256,
		Options: ShardOptions{Platform: o.Platform, History: o.History, NoCheck: o.NoCheck, NoBase: o.NoBase}}
	for _, di := range rep.Images {
		si.Images = append(si.Images, di.Name)
	}
	return si
}

// contentSHA256 is the hex sha256 of the content of the pin file f.
func contentSHA256(f *pinfile.File) string { return fmt.Sprintf("%x", sha256.Sum256(f.Bytes())) }

// ApplyOptions are the knobs of Apply.
type ApplyOptions struct {
	// DryRun writes nothing: the report says what would be unpinned, as
	// Detect without Write does.
	DryRun bool
}

// shardResult is one file given to Apply.
type shardResult struct {
	path string
	rep  *DetectReport
}

// Apply merges the reports of the shards of one detect run (the JSON of
// DetectOptions.Shard, in the files at paths) into the report one Detect
// of every image would make, and unpins the changed images as Detect with
// Write does: in one locked write, only if the pin file is still what the
// shards read (else a *release.PinFileChangedError and nothing is written).
// The shards must cover every image of cfg exactly once and agree on the
// commit, cfg, the pin file content, the options and N; a file that is not
// such a result is an error naming it. On any error nothing is written.
func Apply(ctx context.Context, cfg *config.Config, paths []string, o ApplyOptions) (*DetectReport, error) {
	if len(paths) == 0 {
		return nil, errors.New("no shard result given")
	}
	shards := make([]*shardResult, len(paths))
	for i, p := range paths {
		rep, err := readShardResult(p)
		if err != nil {
			return nil, err
		}
		shards[i] = &shardResult{path: p, rep: rep}
	}
	first := shards[0].rep
	for _, c := range []struct {
		what string
		key  func(*DetectReport) string
	}{
		{"commits", func(r *DetectReport) string { return r.Commit }},
		{"shard counts", func(r *DetectReport) string { return "N=" + strconv.Itoa(r.Shard.N) }},
		{"images.hcl contents", func(r *DetectReport) string { return "sha256:" + r.Shard.ConfigSHA256 }},
		{"pin file contents", func(r *DetectReport) string { return "sha256:" + r.Shard.PinFileSHA256 }},
		{"options", func(r *DetectReport) string { return r.Shard.Options.String() }},
	} {
		if err := agree(shards, c.what, c.key); err != nil {
			return nil, err
		}
	}
	if first.Shard.ConfigSHA256 != cfg.SHA256 {
		return nil, fmt.Errorf("applying shard results: they were made from another images.hcl (sha256:%s) than %s (sha256:%s)",
			first.Shard.ConfigSHA256, cfg.Path, cfg.SHA256)
	}
	byName, err := cover(cfg, shards)
	if err != nil {
		return nil, err
	}
	short, f, err := start(cfg, first.Commit, nil)
	if err != nil {
		return nil, err
	}
	if contentSHA256(f) != first.Shard.PinFileSHA256 {
		return nil, &release.PinFileChangedError{File: cfg.PinFile}
	}
	rep := newDetectReport(first.Commit, short, f)
	for _, im := range cfg.Images {
		rep.Images = append(rep.Images, *byName[im.Name])
	}
	if err := sumUp(ctx, cfg, f, rep, !o.DryRun); err != nil {
		return nil, err
	}
	return rep, nil
}

// readShardResult reads the shard result at path.
func readShardResult(path string) (*DetectReport, error) {
	data, err := userfile.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading shard result: %w", err)
	}
	return parseShardResult(path, data)
}

// parseShardResult reads data, the content of the shard result at path.
func parseShardResult(path string, data []byte) (*DetectReport, error) {
	var rep DetectReport
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&rep); err != nil {
		return nil, fmt.Errorf("reading shard result %q: %w", path, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("reading shard result %q: data after the JSON object", path)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("reading shard result %q: %s", path, fmt.Sprintf(format, args...))
	}
	switch {
	case rep.SchemaVersion != DetectSchemaVersion:
		return nil, bad("schema_version %d, want %d: not the result of this imgver detect --shard", rep.SchemaVersion, DetectSchemaVersion)
	case rep.Shard == nil:
		return nil, bad("no shard object: not the result of imgver detect --shard K/N")
	case rep.Shard.N < 1 || rep.Shard.K < 1 || rep.Shard.K > rep.Shard.N:
		return nil, bad("shard %d/%d: want 1 <= K <= N", rep.Shard.K, rep.Shard.N)
	case rep.Written:
		return nil, bad("written is true: a shard never writes the pin file")
	}
	names := make([]string, 0, len(rep.Images))
	for _, di := range rep.Images {
		names = append(names, di.Name)
	}
	if !slices.Equal(names, rep.Shard.Images) {
		return nil, bad("its images (%s) are not the images of its shard (%s)", strings.Join(names, ", "), strings.Join(rep.Shard.Images, ", "))
	}
	return &rep, nil
}

// agree returns an error naming the files of each value when key gives the
// shards different values.
func agree(shards []*shardResult, what string, key func(*DetectReport) string) error {
	files := map[string][]string{}
	var order []string
	for _, s := range shards {
		k := key(s.rep)
		if _, ok := files[k]; !ok {
			order = append(order, k)
		}
		files[k] = append(files[k], s.path)
	}
	if len(order) == 1 {
		return nil
	}
	parts := make([]string, 0, len(order))
	for _, k := range order {
		parts = append(parts, fmt.Sprintf("%s in %s", k, strings.Join(files[k], ", ")))
	}
	return fmt.Errorf("applying shard results: not made by one detect run, different %s: %s", what, strings.Join(parts, "; "))
}

// cover checks that shards hold every image of cfg exactly once and returns
// each image's outcome by name.
func cover(cfg *config.Config, shards []*shardResult) (map[string]*DetectImage, error) {
	byName := map[string]*DetectImage{}
	from := map[string][]string{}
	given := map[int]bool{}
	for _, s := range shards {
		given[s.rep.Shard.K] = true
		for i := range s.rep.Images {
			di := &s.rep.Images[i]
			if _, ok := cfg.Image(di.Name); !ok {
				return nil, fmt.Errorf("applying shard results: image %s of %s is not in %s", di.Name, s.path, cfg.Path)
			}
			byName[di.Name] = di
			from[di.Name] = append(from[di.Name], fmt.Sprintf("%s (shard %d/%d)", s.path, s.rep.Shard.K, s.rep.Shard.N))
		}
	}
	var missing []string
	for _, im := range cfg.Images {
		switch fs := from[im.Name]; {
		case len(fs) == 0:
			missing = append(missing, im.Name)
		case len(fs) > 1:
			return nil, fmt.Errorf("applying shard results: image %s is in more than one: %s", im.Name, strings.Join(fs, ", "))
		}
	}
	if len(missing) > 0 {
		n := shards[0].rep.Shard.N
		var absent []string
		for k := 1; k <= n; k++ {
			if !given[k] {
				absent = append(absent, fmt.Sprintf("%d/%d", k, n))
			}
		}
		var files []string
		for _, s := range shards {
			files = append(files, fmt.Sprintf("%s (shard %d/%d)", s.path, s.rep.Shard.K, s.rep.Shard.N))
		}
		return nil, fmt.Errorf("applying shard results: no result holds image %s (shard %s not given; given: %s)",
			strings.Join(missing, ", "), strings.Join(absent, ", "), strings.Join(files, ", "))
	}
	return byName, nil
}
