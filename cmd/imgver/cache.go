package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	units "github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/imgver/imgver/internal/cache"
	"github.com/imgver/imgver/internal/detect"
)

// cacheDirEnv names the cache directory when --cache-dir does not.
const cacheDirEnv = "IMGVER_CACHE_DIR"

// cacheFlags are the flags of the local cache of layer summaries, shared by
// the commands that read layers.
type cacheFlags struct {
	cacheDir string
	noCache  bool
	maxSize  string
}

func (f *cacheFlags) bind(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.cacheDir, "cache-dir", "", "keep layer summaries in `DIR` (default: $"+cacheDirEnv+", else imgver in the user cache directory: $XDG_CACHE_HOME/imgver or ~/.cache/imgver)")
	fl.BoolVar(&f.noCache, "no-cache", false, "neither read nor write the local cache of layer summaries")
	fl.StringVar(&f.maxSize, "cache-max-size", units.BytesSize(float64(cache.DefaultMaxBytes)), "bound of the local cache: the least recently used entries go beyond `SIZE` (e.g. 500MiB, 4GiB)")
}

// open opens the local cache the flags name: nil with --no-cache, and nil
// with a warning on w when it cannot be opened (the run goes on without
// it). done prints the first warning of the cache and closes it. A bad
// --cache-max-size is an error.
func (f *cacheFlags) open(w io.Writer) (c *cache.Cache, done func(), err error) {
	done = func() {}
	if f.noCache {
		return nil, done, nil
	}
	size, err := units.RAMInBytes(f.maxSize)
	if err != nil || size <= 0 {
		return nil, nil, fmt.Errorf("--cache-max-size %q: want a positive size such as 500MiB or 2GiB", f.maxSize)
	}
	dir, err := f.dir()
	if err == nil {
		c, err = cache.Open(dir, size)
	}
	if err != nil {
		warnf(w, "no local cache: %v", err)
		return nil, done, nil
	}
	return c, func() {
		if err := c.Warning(); err != nil {
			warnf(w, "local cache: %v", err)
		}
		c.Close()
	}, nil
}

// dir is the cache directory: --cache-dir, $IMGVER_CACHE_DIR, or imgver in
// the user cache directory.
func (f *cacheFlags) dir() (string, error) {
	if f.cacheDir != "" {
		return f.cacheDir, nil
	}
	if d := os.Getenv(cacheDirEnv); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", errors.New("no --cache-dir, $" + cacheDirEnv + ", $XDG_CACHE_HOME or $HOME")
	}
	return filepath.Join(d, "imgver"), nil
}

var _ detect.LayerCache = (*cache.Cache)(nil)
