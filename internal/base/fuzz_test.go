package base

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: Parse never panics; what it accepts, Rewrite with no change
// returns byte-identical, and rewriting an in-place reference changes only
// that reference: the result parses to the same FROMs with the new one.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/rewrite/*.Dockerfile")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		d, err := Parse(src)
		if err != nil {
			return
		}
		same, err := d.Rewrite(nil)
		if err != nil || !bytes.Equal(same, src) {
			t.Fatalf("Rewrite(nil) = %q, %v; want the input", same, err)
		}
		const pin = "r.example/x:1@" + testDigest
		for i, fr := range d.Froms {
			if !fr.InPlace() {
				if _, err := d.Rewrite(map[int]string{i: pin}); err == nil {
					t.Fatalf("FROM %d is not in place but Rewrite took it", i)
				}
				continue
			}
			if !bytes.Equal(src[fr.start:fr.end], []byte(fr.Raw)) {
				t.Fatalf("FROM %d: offsets point at %q, not %q", i, src[fr.start:fr.end], fr.Raw)
			}
			out, err := d.Rewrite(map[int]string{i: pin})
			if err != nil {
				t.Fatal(err)
			}
			d2, err := Parse(out)
			if err != nil {
				t.Fatalf("rewritten file does not parse: %v\n%q", err, out)
			}
			if len(d2.Froms) != len(d.Froms) {
				t.Fatalf("rewritten file has %d FROMs, want %d:\n%q", len(d2.Froms), len(d.Froms), out)
			}
			for j := range d.Froms {
				want := d.Froms[j].Raw
				if j == i {
					want = pin
				}
				if d2.Froms[j].Raw != want || d2.Froms[j].Line != d.Froms[j].Line {
					t.Fatalf("FROM %d after rewriting %d: %q on line %d, want %q on line %d\n%q", j, i, d2.Froms[j].Raw, d2.Froms[j].Line, want, d.Froms[j].Line, out)
				}
			}
		}
	})
}

// FuzzParseReference: parseReference never panics, and what update writes
// for an accepted tagged reference (name:tag@digest) parses back to the
// same repository, tag and digest.
func FuzzParseReference(f *testing.F) {
	for _, s := range []string{"python:3.13-slim", "python", "localhost:5000/a/b:1.2.3", "a:1@" + testDigest, "a@" + testDigest, "python:-slim", "Not:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseReference(s)
		if err != nil || !r.hasTag {
			return
		}
		pinned := r.named + "@" + testDigest
		r2, err := parseReference(pinned)
		if err != nil {
			t.Fatalf("%q: the pinned form %q does not parse: %v", s, pinned, err)
		}
		if r2.repo != r.repo || r2.tag != r.tag && r2.tag.Name() != r.tag.Name() || r2.digest != testDigest || r2.named != r.named {
			t.Fatalf("%q: pinned form %q parses to %+v, want %+v", s, pinned, r2, r)
		}
	})
}
