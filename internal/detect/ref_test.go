package detect

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseReference: ParseReference never panics; what it rejects is a
// ParseError, and what it accepts has an absolute path (oci:,
// docker-archive:) or a name, and round-trips: written back in the same
// syntax it parses to the same reference. Seeds:
// testdata/fuzz/FuzzParseReference.
func FuzzParseReference(f *testing.F) {
	f.Add("oci:build/api:v1")
	f.Fuzz(func(t *testing.T, ref string) {
		r, err := ParseReference(ref, "/base")
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Ref != ref {
				t.Fatalf("error %T does not name %q: %v", err, ref, err)
			}
			return
		}
		if r.String() != ref {
			t.Errorf("String() = %q, want %q", r.String(), ref)
		}
		var again string
		switch r.Transport {
		case TransportOCI, TransportDockerArchive:
			if !filepath.IsAbs(r.Path) {
				t.Fatalf("%q: path %q is not absolute", ref, r.Path)
			}
			if strings.ContainsAny(r.Path, ":@") {
				return // the syntax cannot write such a path back
			}
			again = r.Transport + ":" + r.Path
			switch {
			case r.Digest != "":
				again += "@" + r.Digest
			case r.Tag != "":
				again += ":" + r.Tag
			}
		case TransportDockerDaemon:
			again = TransportDockerDaemon + ":" + r.Name.String()
		case TransportDocker:
			again = "docker://" + r.Name.String()
		default:
			t.Fatalf("%q: transport %q", ref, r.Transport)
		}
		r2, err := ParseReference(again, "/elsewhere")
		if err != nil {
			t.Fatalf("%q written back as %q does not parse: %v", ref, again, err)
		}
		if key(r2) != key(r) {
			t.Errorf("%q written back as %q parses to %s, not %s", ref, again, key(r2), key(r))
		}
	})
}

// key is what a parsed reference says, apart from how it was written.
func key(r *Reference) string {
	n := ""
	if r.Name != nil {
		n = r.Name.String()
	}
	return strings.Join([]string{r.Transport, r.Path, r.Tag, r.Digest, n}, "|")
}
