package referrer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"

	"github.com/imgver/imgver/internal/imagetest"
	"github.com/imgver/imgver/internal/regtest"
)

const (
	testType      = "application/vnd.imgver.summary.v1"
	testMediaType = types.MediaType("application/vnd.imgver.summary.v1+zstd")
)

// registries are the registries every test runs against: go-containerregistry's
// in-process registry without the referrers API (the tag schema is used) and
// with it, and the real distribution registry of the e2e suite (which has no
// referrers API).
var registries = []struct {
	name      string
	referrers bool // the registry answers the referrers API
	start     func(t *testing.T) string
}{
	{"in-process", false, func(t *testing.T) string { return regtest.Start(t) }},
	{"in-process with referrers API", true, func(t *testing.T) string { return regtest.Start(t, registry.WithReferrersSupport(true)) }},
	{"distribution", false, func(t *testing.T) string { return regtest.Real(t) }},
}

// pushSubject pushes a random image to a fresh repository of addr and returns
// the repository and the image's descriptor.
func pushSubject(t *testing.T, addr string, seed int64) (name.Repository, v1.Descriptor) {
	t.Helper()
	repo, err := name.NewRepository(fmt.Sprintf("%s/referrer/t%d", addr, time.Now().UnixNano()))
	if err != nil {
		t.Fatal(err)
	}
	d := regtest.Push(t, repo.Tag("v1").String(), imagetest.Random(t, seed, time.Unix(0, 0)))
	desc, err := remote.Head(repo.Digest(d.String()))
	if err != nil {
		t.Fatal(err)
	}
	return repo, *desc
}

func TestAttachListFetch(t *testing.T) {
	t.Parallel()
	for _, reg := range registries {
		t.Run(reg.name, func(t *testing.T) {
			t.Parallel()
			addr := reg.start(t)
			ctx := t.Context()
			repo, subject := pushSubject(t, addr, 1)
			sub := repo.Digest(subject.Digest.String())
			a1 := Artifact{ArtifactType: testType, MediaType: testMediaType, Data: []byte("summary one"),
				Annotations: map[string]string{"dev.imgver.summary.options": "v1;packages"}}
			a2 := Artifact{ArtifactType: testType, MediaType: testMediaType, Data: []byte("summary two"),
				Annotations: map[string]string{"dev.imgver.summary.options": "v1"}}

			if got, err := List(ctx, sub, testType); err != nil || len(got) != 0 {
				t.Fatalf("List before Attach = %v, %v; want none", got, err)
			}
			d1, pushed, err := Attach(ctx, repo, subject, a1)
			if err != nil || !pushed {
				t.Fatalf("Attach = %v, %v, want pushed", pushed, err)
			}
			// The same bytes again: the same artifact, already listed.
			again, pushed, err := Attach(ctx, repo, subject, a1)
			if err != nil || pushed || again.Digest != d1.Digest {
				t.Fatalf("Attach again = %v, %v, %v; want %v, not pushed", again.Digest, pushed, err, d1.Digest)
			}
			d2, pushed, err := Attach(ctx, repo, subject, a2)
			if err != nil || !pushed {
				t.Fatalf("Attach of a second artifact = %v, %v, want pushed", pushed, err)
			}

			got, err := List(ctx, sub, testType)
			if err != nil {
				t.Fatal(err)
			}
			want := []v1.Descriptor{d1, d2}
			slices.SortFunc(want, byDigest)
			slices.SortFunc(got, byDigest)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("List (-want +got):\n%s", diff)
			}
			// Another type lists none, except on a registry that lists by
			// config media type, where Fetch refuses them.
			other, err := List(ctx, sub, "application/vnd.example.other")
			if err != nil || !reg.referrers && len(other) != 0 {
				t.Errorf("List of another type = %v, %v; want none", other, err)
			}
			for _, d := range other {
				var ie *InvalidError
				if _, err := Fetch(ctx, sub, d); !errors.As(err, &ie) {
					t.Errorf("Fetch of %s as another type = %v, want an *InvalidError", d.Digest, err)
				}
			}
			for _, c := range []struct {
				d v1.Descriptor
				a Artifact
			}{{d1, a1}, {d2, a2}} {
				f, err := Fetch(ctx, sub, c.d)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(&c.a, f); diff != "" {
					t.Errorf("Fetch (-want +got):\n%s", diff)
				}
			}

			// Without the referrers API, the artifacts are listed by the
			// index tagged sha256-<hex> (the OCI referrers tag schema).
			fallback := repo.Tag("sha256-" + subject.Digest.Hex)
			desc, err := remote.Get(fallback)
			if reg.referrers {
				if err == nil {
					t.Errorf("%s exists on a registry with the referrers API", fallback)
				}
				return
			}
			if err != nil {
				t.Fatalf("the referrers tag: %v", err)
			}
			idx, err := desc.ImageIndex()
			if err != nil {
				t.Fatal(err)
			}
			im, err := idx.IndexManifest()
			if err != nil {
				t.Fatal(err)
			}
			// go-containerregistry sorts them by digest.
			if diff := cmp.Diff([]v1.Descriptor{want[0], want[1]}, im.Manifests); diff != "" {
				t.Errorf("manifests of %s (-want +got):\n%s", fallback, diff)
			}
		})
	}
}

// byDigest orders descriptors by digest, as go-containerregistry orders a
// referrers index.
func byDigest(a, b v1.Descriptor) int { return strings.Compare(a.Digest.String(), b.Digest.String()) }

// TestAttachConcurrent: many attaches of different artifacts to one
// subject at the same moment all end up listed, also on a registry without
// the referrers API, whose referrers index is read, changed and written back
// by each of them.
func TestAttachConcurrent(t *testing.T) {
	t.Parallel()
	const n = 16
	for _, reg := range registries {
		t.Run(reg.name, func(t *testing.T) {
			t.Parallel()
			addr := reg.start(t)
			repo, subject := pushSubject(t, addr, 5)
			want := make([]v1.Descriptor, n)
			start := make(chan struct{})
			var g errgroup.Group
			for i := range n {
				g.Go(func() error {
					<-start
					a := Artifact{ArtifactType: testType, MediaType: testMediaType, Data: fmt.Appendf(nil, "summary %d", i)}
					d, pushed, err := Attach(t.Context(), repo, subject, a)
					if err == nil && !pushed {
						err = fmt.Errorf("attach %d: not pushed", i)
					}
					want[i] = d
					return err
				})
			}
			close(start)
			if err := g.Wait(); err != nil {
				t.Fatal(err)
			}
			got, err := List(t.Context(), repo.Digest(subject.Digest.String()), testType)
			if err != nil {
				t.Fatal(err)
			}
			slices.SortFunc(want, byDigest)
			slices.SortFunc(got, byDigest)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("List after %d concurrent attaches (-want +got):\n%s", n, diff)
			}
		})
	}
}

// TestAttachChecksList: Attach puts the artifact again while the referrers
// list does not name it (a concurrent writer of the index dropped it, or
// the registry briefly lost a blob), up to MaxPuts puts.
func TestAttachChecksList(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// fault answers a PUT of the referrers tag (tag) or of the artifact
		// manifest (n counts them) instead of the registry when it returns true.
		fault   func(w http.ResponseWriter, tag bool, n int64) bool
		wantErr error
		puts    int64
	}{
		{"listed at once", func(http.ResponseWriter, bool, int64) bool { return false }, nil, 1},
		{"dropped once", func(w http.ResponseWriter, tag bool, n int64) bool {
			if tag && n == 1 {
				w.WriteHeader(http.StatusCreated) // a concurrent writer's index replaces this one
				return true
			}
			return false
		}, nil, 2},
		{"blob unknown once", func(w http.ResponseWriter, tag bool, n int64) bool {
			if !tag && n == 1 {
				w.WriteHeader(http.StatusBadRequest)
				_, _ = io.WriteString(w, `{"errors":[{"code":"MANIFEST_BLOB_UNKNOWN","message":"blob unknown to registry"}]}`)
				return true
			}
			return false
		}, nil, 2},
		{"always dropped", func(w http.ResponseWriter, tag bool, _ int64) bool {
			if tag {
				w.WriteHeader(http.StatusCreated)
			}
			return tag
		}, ErrNotListed, MaxPuts},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var puts atomic.Int64
			addr := regtest.StartBehind(t, func(reg http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") {
						ref := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
						tag := strings.HasPrefix(ref, "sha256-")
						n := puts.Load()
						if strings.HasPrefix(ref, "sha256:") {
							n = puts.Add(1)
						}
						if tc.fault(w, tag, n) {
							return
						}
					}
					reg.ServeHTTP(w, r)
				})
			})
			repo, subject := pushSubject(t, addr, 6)
			d, pushed, err := Attach(t.Context(), repo, subject, Artifact{ArtifactType: testType, MediaType: testMediaType, Data: []byte("summary")})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Attach = %v, want %v", err, tc.wantErr)
			}
			if got := puts.Load(); got != tc.puts {
				t.Errorf("Attach put the artifact %d times, want %d", got, tc.puts)
			}
			if tc.wantErr != nil {
				return
			}
			got, err := List(t.Context(), repo.Digest(subject.Digest.String()), testType)
			if err != nil || !pushed || len(got) != 1 || got[0].Digest != d.Digest {
				t.Errorf("after Attach (pushed %v) List = %v, %v; want %v", pushed, got, err, d.Digest)
			}
		})
	}
}

// TestSleep: the wait between puts ends when ctx is done (a sleep that
// ignored it would hang here for an hour).
func TestSleep(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("sleep with a cancelled context = %v, want %v", err, context.Canceled)
	}
	if err := sleep(t.Context(), time.Millisecond); err != nil {
		t.Errorf("sleep = %v, want nil", err)
	}
}

// TestManifestDeterministic: the artifact manifest depends on the subject
// and the artifact only (no time, no machine): its bytes and digest are
// fixed here.
func TestManifestDeterministic(t *testing.T) {
	t.Parallel()
	subject := v1.Descriptor{MediaType: types.OCIManifestSchema1, Size: 42, Digest: sha256Hash([]byte("subject")),
		Annotations: map[string]string{"dropped": "a subject descriptor has no annotations"}}
	a := Artifact{ArtifactType: testType, MediaType: testMediaType, Data: []byte("summary"),
		Annotations: map[string]string{"dev.imgver.summary.options": "v1"}}
	raw, desc, err := manifest(subject, a)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
		`"config":{"mediaType":"application/vnd.oci.empty.v1+json","size":2,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},` +
		`"layers":[{"mediaType":"application/vnd.imgver.summary.v1+zstd","size":7,"digest":"sha256:` + sha256Hash([]byte("summary")).Hex + `"}],` +
		`"annotations":{"dev.imgver.summary.options":"v1"},` +
		`"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":42,"digest":"sha256:` + sha256Hash([]byte("subject")).Hex + `"},` +
		`"artifactType":"application/vnd.imgver.summary.v1"}`
	if diff := cmp.Diff(want, string(raw)); diff != "" {
		t.Errorf("manifest (-want +got):\n%s", diff)
	}
	if desc.Digest != sha256Hash([]byte(want)) || desc.Size != int64(len(want)) || desc.ArtifactType != testType {
		t.Errorf("descriptor %+v does not describe the manifest", desc)
	}
	if _, _, err := manifest(subject, Artifact{MediaType: testMediaType}); err == nil {
		t.Error("an artifact without a type made a manifest")
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// putManifest uploads the blobs and puts raw (whose subject, if any, gets
// it in its referrers tag) by digest, as a forger with push access could.
func putManifest(t *testing.T, repo name.Repository, raw []byte, blobs ...[]byte) v1.Descriptor {
	t.Helper()
	for _, b := range append(blobs, emptyJSON) {
		if err := remote.WriteLayer(repo, static.NewLayer(b, testMediaType)); err != nil {
			t.Fatal(err)
		}
	}
	d := sha256Hash(raw)
	if err := remote.Put(repo.Digest(d.String()), rawManifest{raw}); err != nil {
		t.Fatal(err)
	}
	return v1.Descriptor{MediaType: types.OCIManifestSchema1, Size: int64(len(raw)), Digest: d, ArtifactType: testType}
}

// TestFetchInvalid: an artifact that is not what Attach writes is an
// *InvalidError, never bytes.
func TestFetchInvalid(t *testing.T) {
	t.Parallel()
	addr := regtest.Start(t)
	repo, subject := pushSubject(t, addr, 2)
	_, other := pushSubject(t, addr, 3)
	sub := repo.Digest(subject.Digest.String())
	good := Artifact{ArtifactType: testType, MediaType: testMediaType, Data: []byte("summary")}
	withManifest := func(edit func(m *v1.Manifest)) func(t *testing.T) v1.Descriptor {
		return func(t *testing.T) v1.Descriptor {
			raw, _, err := manifest(subject, good)
			if err != nil {
				t.Fatal(err)
			}
			var m v1.Manifest
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			edit(&m)
			return putManifest(t, repo, mustMarshal(t, m), good.Data, []byte("more"))
		}
	}
	for _, tc := range []struct {
		name   string
		make   func(t *testing.T) v1.Descriptor
		reason string
	}{
		{"another subject", withManifest(func(m *v1.Manifest) { m.Subject = &other }), "does not name"},
		{"no subject", withManifest(func(m *v1.Manifest) { m.Subject = nil }), "does not name"},
		{"another type", withManifest(func(m *v1.Manifest) { m.ArtifactType = "application/vnd.example.other" }), "its type is"},
		{"two blobs", withManifest(func(m *v1.Manifest) {
			m.Layers = append(m.Layers, v1.Descriptor{MediaType: testMediaType, Size: 4, Digest: sha256Hash([]byte("more"))})
		}), "2 blobs"},
		{"no blob", withManifest(func(m *v1.Manifest) { m.Layers = nil }), "0 blobs"},
		{"too large", withManifest(func(m *v1.Manifest) { m.Layers[0].Size = MaxSize + 1 }), "not between"},
		{"not a manifest", func(t *testing.T) v1.Descriptor {
			return putManifest(t, repo, []byte(`{"schemaVersion":2,"layers":"nope"}`))
		}, "not a manifest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			desc := tc.make(t)
			_, err := Fetch(t.Context(), sub, desc)
			var ie *InvalidError
			if !errors.As(err, &ie) || !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("Fetch = %v, want an *InvalidError saying %q", err, tc.reason)
			}
		})
	}
}

// TestFetchCorruptBlob: a blob whose bytes are not its digest's is an
// error, never bytes.
func TestFetchCorruptBlob(t *testing.T) {
	t.Parallel()
	var corrupt atomic.Bool
	addr := regtest.StartBehind(t, func(reg http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !corrupt.Load() || r.Method != http.MethodGet || !strings.Contains(r.URL.Path, "/blobs/") {
				reg.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			reg.ServeHTTP(rec, r)
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(bytes.ToUpper(rec.Body.Bytes()))
		})
	})
	repo, subject := pushSubject(t, addr, 4)
	desc, _, err := Attach(t.Context(), repo, subject, Artifact{ArtifactType: testType, MediaType: testMediaType, Data: []byte("summary")})
	if err != nil {
		t.Fatal(err)
	}
	corrupt.Store(true)
	if a, err := Fetch(t.Context(), repo.Digest(subject.Digest.String()), desc); err == nil {
		t.Errorf("Fetch of a corrupt blob = %q, want an error", a.Data)
	}
}
