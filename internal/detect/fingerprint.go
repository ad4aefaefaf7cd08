package detect

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"maps"
	"slices"
)

// fingerprintVersion changes whenever what goes into a fingerprint does.
const fingerprintVersion = "imgver-fingerprint-v1"

// Fingerprint returns a "sha256:<hex>" digest of the normalised file
// systems and runtime configs of the image ref (all platforms, or the one
// WithPlatform chose). Two images have the same fingerprint exactly when
// Diff with the same options says Same.
func (c *Comparer) Fingerprint(ctx context.Context, ref string) (string, error) {
	snaps, err := c.Snapshot(ctx, ref)
	if err != nil {
		return "", err
	}
	return c.fingerprint(snaps), nil
}

// fingerprint digests the snapshots of an image's platforms, sorted by
// platform.
func (c *Comparer) fingerprint(snaps []*Snapshot) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", fingerprintVersion)
	for _, s := range snaps {
		fmt.Fprintf(h, "platform %s %s\n", s.Platform, c.platformFingerprint(s))
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

func (c *Comparer) platformFingerprint(s *Snapshot) string {
	h := sha256.New()
	h.Write([]byte("fs\n"))
	for _, e := range s.Files {
		if e.IgnoredBy != "" {
			continue
		}
		writeQuoted(h, e.Path)
		a := attrs(e)
		for _, k := range slices.Sorted(maps.Keys(a)) {
			h.Write([]byte(" "))
			writeQuoted(h, k+"="+a[k])
		}
		h.Write([]byte("\n"))
	}
	h.Write([]byte("config\n"))
	f := s.Config.fields()
	for _, k := range slices.Sorted(maps.Keys(f)) {
		writeQuoted(h, k+"="+f[k])
		h.Write([]byte("\n"))
	}
	if c.o.history {
		h.Write([]byte("history\n"))
		for _, l := range s.History {
			writeQuoted(h, l)
			h.Write([]byte("\n"))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func writeQuoted(h hash.Hash, s string) {
	fmt.Fprintf(h, "%q", s)
}
