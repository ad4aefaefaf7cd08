package detect

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/imgver/imgver/internal/imagetest"
	"github.com/imgver/imgver/internal/regtest"
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

func TestParseReference(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ref                   string
		transport, path, tag  string
		digest, name, wantErr string
	}{
		{ref: "oci:out/img", transport: "oci", path: "/base/out/img"},
		{ref: "oci:/abs/img:v1", transport: "oci", path: "/abs/img", tag: "v1"},
		{ref: "oci:img@sha256:" + strings.Repeat("a", 64), transport: "oci", path: "/base/img", digest: "sha256:" + strings.Repeat("a", 64)},
		{ref: "oci:img:sha256:" + strings.Repeat("b", 64), transport: "oci", path: "/base/img", digest: "sha256:" + strings.Repeat("b", 64)},
		{ref: "docker-archive:img.tar", transport: "docker-archive", path: "/base/img.tar"},
		{ref: "docker-daemon:app:v1", transport: "docker", name: "app:v1"},
		{ref: "docker://localhost:5000/app:v1", transport: "docker", name: "localhost:5000/app:v1"},
		{ref: "localhost:5000/app@sha256:" + strings.Repeat("c", 64), transport: "docker", name: "localhost:5000/app@sha256:" + strings.Repeat("c", 64)},
		{ref: "", wantErr: `parsing image reference "": empty reference`},
		{ref: "oci:", wantErr: `parsing image reference "oci:": oci: needs a directory`},
		{ref: "oci:x@sha256:zz", wantErr: `bad digest`},
		{ref: "docker://UPPER/Case", wantErr: `parsing image reference "docker://UPPER/Case"`},
		{ref: "oci-archive:x.tar", wantErr: `transport "oci-archive" is not supported`},
	}
	for _, tc := range tests {
		t.Run(tc.ref, func(t *testing.T) {
			r, err := ParseReference(tc.ref, "/base")
			if tc.wantErr != "" {
				var pe *ParseError
				if err == nil || !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("error %v, want a one-line *ParseError with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := []string{r.Transport, r.Path, r.Tag, r.Digest, ""}
			if r.Name != nil {
				got[4] = r.Name.String()
			}
			if r.Transport == "docker-daemon" {
				got[0] = "docker"
			}
			want := []string{tc.transport, tc.path, tc.tag, tc.digest, tc.name}
			if tc.name != "" {
				want[1] = ""
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func TestTransports(t *testing.T) {
	t.Parallel()
	img := base().image(t)
	oci := writeOCI(t, img)
	archive := writeArchive(t, img)
	host := regtest.Start(t)
	regtest.Push(t, host+"/app:v1", img)
	other := base().edit("bin/app", func(e *f) { e.mode = 0o700 }).image(t)
	otherArchive := writeArchive(t, other)
	tests := []struct {
		name, a, b string
		want       Verdict
	}{
		{"oci vs docker-archive", oci, archive, Same},
		{"docker-archive vs docker-archive", archive, otherArchive, Changed},
		{"oci vs registry", oci, "docker://" + host + "/app:v1", Same},
		{"bare registry reference", host + "/app:v1", archive, Same},
		{"oci by tag", writeOCIWithName(t, img, "v1") + ":v1", oci, Same},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := diff(t, tc.a, tc.b).Verdict; got != tc.want {
				t.Errorf("verdict %s, want %s", got, tc.want)
			}
		})
	}
}

func writeOCIWithName(t *testing.T, img v1.Image, tag string) string {
	t.Helper()
	return writeOCI(t, img, layoutRefName(tag))
}

func TestRelativeOCIPath(t *testing.T) {
	t.Parallel()
	ref := writeOCI(t, base().image(t))
	dir := strings.TrimPrefix(ref, "oci:")
	c := newComparer(t, WithBaseDir(filepath.Dir(dir)))
	res, err := c.Diff(t.Context(), "oci:"+filepath.Base(dir), ref)
	if err != nil || res.Verdict != Same {
		t.Fatalf("Diff = %v, %v", res, err)
	}
}

// index builds a multi-platform index of images keyed by platform.
func index(t *testing.T, adds ...mutate.IndexAddendum) v1.ImageIndex {
	t.Helper()
	return mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
}

func platformAdd(t *testing.T, s spec, p string) mutate.IndexAddendum {
	t.Helper()
	s.platform = p
	pl, err := v1.ParsePlatform(p)
	if err != nil {
		t.Fatal(err)
	}
	return mutate.IndexAddendum{Add: s.image(t), Descriptor: v1.Descriptor{Platform: pl}}
}

func attestation(t *testing.T) mutate.IndexAddendum {
	t.Helper()
	s := spec{layers: [][]f{{file("intoto.json", "{}")}}}
	return mutate.IndexAddendum{Add: s.image(t), Descriptor: v1.Descriptor{
		Platform:    &v1.Platform{OS: "unknown", Architecture: "unknown"},
		Annotations: map[string]string{"vnd.docker.reference.type": "attestation-manifest"},
	}}
}

func TestMultiPlatform(t *testing.T) {
	t.Parallel()
	amd, arm := platformAdd(t, base(), "linux/amd64"), platformAdd(t, base(), "linux/arm64")
	armChanged := platformAdd(t, base().edit("bin/app", func(e *f) { e.content = "arm2" }), "linux/arm64")
	armv7 := platformAdd(t, base(), "linux/arm/v7")
	ab := writeOCIIndex(t, index(t, amd, arm))
	ba := writeOCIIndex(t, index(t, arm, amd))
	withAtt := writeOCIIndex(t, index(t, amd, attestation(t), arm))
	changedArm := writeOCIIndex(t, index(t, amd, armChanged))
	three := writeOCIIndex(t, index(t, amd, arm, armv7))
	single := writeOCI(t, amd.Add.(v1.Image))

	tests := []struct {
		name string
		a, b string
		opts []Option
		want []string
	}{
		{name: "matched by platform, not position", a: ab, b: ba},
		{name: "attestations left out", a: ab, b: withAtt},
		{name: "one platform changed", a: ab, b: changedArm, want: []string{"modified /bin/app size,content"}},
		{name: "platform on one side only", a: ab, b: three, want: []string{"platform linux/arm/v7 only in b"}},
		{name: "WithPlatform picks one", a: ab, b: changedArm, opts: []Option{WithPlatform("linux/amd64")}},
		{name: "WithPlatform the changed one", a: ab, b: changedArm, opts: []Option{WithPlatform("linux/arm64")}, want: []string{"modified /bin/app size,content"}},
		{name: "single image vs index", a: single, b: ab, want: []string{"platform linux/arm64 only in b"}},
		{name: "single image vs index, WithPlatform", a: single, b: ab, opts: []Option{WithPlatform("linux/amd64")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := diff(t, tc.a, tc.b, tc.opts...)
			if d := cmp.Diff(tc.want, summarise(res)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			fa, fb := fingerprint(t, tc.a, tc.opts...), fingerprint(t, tc.b, tc.opts...)
			if (fa == fb) != (res.Verdict == Same) {
				t.Errorf("fingerprints equal: %v, verdict %s", fa == fb, res.Verdict)
			}
		})
	}
	// The platforms are reported by key.
	res := diff(t, ab, withAtt)
	var got []string
	for _, p := range res.Platforms {
		got = append(got, p.Platform)
	}
	if d := cmp.Diff([]string{"linux/amd64", "linux/arm64"}, got); d != "" {
		t.Errorf("platforms (-want +got):\n%s", d)
	}
}

func TestRegistryNotFound(t *testing.T) {
	t.Parallel()
	host := regtest.Start(t)
	regtest.Push(t, host+"/app:v1", base().image(t))
	c := newComparer(t)
	for _, ref := range []string{host + "/app:v2", host + "/nothing:v1", "docker://" + host + "/app@sha256:" + strings.Repeat("0", 64)} {
		_, err := c.Diff(t.Context(), ref, host+"/app:v1")
		if !IsNotFound(err) {
			t.Errorf("Diff(%s): %v, want a NotFoundError", ref, err)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("error not one line: %q", err)
		}
	}
	_, err := c.Fingerprint(t.Context(), "oci:"+t.TempDir())
	if !IsNotFound(err) {
		t.Errorf("Fingerprint of an empty dir: %v, want a NotFoundError", err)
	}
}

func TestRemoteOptions(t *testing.T) {
	t.Parallel()
	host := regtest.Start(t)
	regtest.Push(t, host+"/app:v1", base().image(t))
	var called atomic.Int32 // layers are read in parallel
	c := newComparer(t, WithRemoteOptions(remote.WithTransport(roundTripFunc(func() { called.Add(1) }))))
	if _, err := c.Fingerprint(context.Background(), host+"/app:v1"); err != nil {
		t.Fatal(err)
	}
	if called.Load() == 0 {
		t.Error("the transport given was not used")
	}
}

// corrupt returns a copy of the OCI layout ref with the largest layer blob
// changed by fn (the first layer: the one that differs from "good").
func corrupt(t *testing.T, ref string, fn func(p string)) string {
	t.Helper()
	dir := strings.TrimPrefix(ref, "oci:")
	img, err := (&source{ref: &Reference{raw: ref, Path: dir}}).openAndImage()
	if err != nil {
		t.Fatal(err)
	}
	d := imagetest.LayerDigests(t, img)[0]
	fn(filepath.Join(dir, "blobs", d.Algorithm, d.Hex))
	return d.String()
}

func TestCorruptInput(t *testing.T) {
	t.Parallel()
	// A different image, so that the layers must be read.
	good := writeOCI(t, base().edit("bin/app", func(e *f) { e.mode = 0o700 }).image(t))
	tests := []struct {
		name string
		fn   func(p string)
		want string
	}{
		{"truncated blob", func(p string) {
			b := readFile(t, p)
			if err := os.WriteFile(p, b[:len(b)/2], 0o644); err != nil {
				t.Fatal(err)
			}
		}, "unexpected EOF"},
		{"digest mismatch", func(p string) {
			// The same tar, stored: it decodes fine, only the digest tells.
			zr, err := gzip.NewReader(bytes.NewReader(readFile(t, p)))
			if err != nil {
				t.Fatal(err)
			}
			tarball, err := io.ReadAll(zr)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, gzipBytes(t, tarball, gzip.NoCompression), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "digest mismatch"},
		{"missing blob", func(p string) {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}, "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ref := writeOCI(t, base().image(t))
			blob := corrupt(t, ref, tc.fn)
			c := newComparer(t)
			_, err := c.Diff(t.Context(), good, ref)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			prefix := "reading layer " + blob + " of \"" + ref + "\": "
			if !strings.HasPrefix(msg, prefix) || !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q, want one line starting %q containing %q", msg, prefix, tc.want)
			}
		})
	}
}
