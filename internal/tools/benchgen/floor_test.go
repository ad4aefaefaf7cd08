package main

import (
	"io"
	"testing"
)

func TestFloor(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := gen(t.Context(), dir, small); err != nil {
		t.Fatal(err)
	}
	dirs := []string{dir + "/a", dir + "/b"}
	var wantLayers int
	var wantBytes int64
	for _, d := range dirs {
		ls, err := readImage(t, d).Layers()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range ls {
			rc, err := l.Uncompressed()
			if err != nil {
				t.Fatal(err)
			}
			n, err := io.Copy(io.Discard, rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			wantLayers++
			wantBytes += n
		}
	}
	jobs, err := floorJobs(dirs)
	if err != nil {
		t.Fatal(err)
	}
	for impl := range gunzips {
		t.Run(impl, func(t *testing.T) {
			r, err := floor(t.Context(), jobs, impl)
			if err != nil {
				t.Fatal(err)
			}
			if r.layers != wantLayers || r.uncompressedBytes != wantBytes {
				t.Errorf("floor read %d layers, %d bytes; want %d, %d", r.layers, r.uncompressedBytes, wantLayers, wantBytes)
			}
		})
	}
	t.Run("wrong diff_id", func(t *testing.T) {
		bad := append([]blobJob(nil), jobs...)
		bad[len(bad)-1].diffID = bad[0].diffID
		if _, err := floor(t.Context(), bad, "klauspost"); err == nil {
			t.Error("floor accepted a layer whose digest does not match its diff_id")
		}
	})
	t.Run("unknown impl", func(t *testing.T) {
		if _, err := floor(t.Context(), jobs, "zlib-ng"); err == nil {
			t.Error("floor accepted an unknown decompressor")
		}
	})
}
