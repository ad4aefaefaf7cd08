package cache

import (
	"bytes"
	"testing"
)

// BenchmarkPut1MB and BenchmarkGet1MB time one entry of 1 MiB (a large
// layer summary) on the test's temporary file system.
func BenchmarkPut1MB(b *testing.B) {
	c := open(b, b.TempDir(), DefaultMaxBytes)
	payload := bytes.Repeat([]byte("layer summary 1M"), 1<<16)
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		c.Put("sha256:layer", payload)
	}
	if c.Warning() != nil {
		b.Fatal(c.Warning())
	}
}

func BenchmarkGet1MB(b *testing.B) {
	c := open(b, b.TempDir(), DefaultMaxBytes)
	payload := bytes.Repeat([]byte("layer summary 1M"), 1<<16)
	c.Put("sha256:layer", payload)
	b.SetBytes(int64(len(payload)))
	for b.Loop() {
		if _, ok := c.Get("sha256:layer"); !ok {
			b.Fatal("miss")
		}
	}
}
