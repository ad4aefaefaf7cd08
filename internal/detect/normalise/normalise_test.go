package normalise

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// pairCase is two inputs whose digests must be equal or must differ.
type pairCase struct {
	name  string
	a, b  []byte
	equal bool
}

// runPairs checks each pair, and that both inputs of it are applicable.
func runPairs(t *testing.T, n Normaliser, cases []pairCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			da := mustDigest(t, n, tc.a)
			db := mustDigest(t, n, tc.b)
			if tc.equal && da != db {
				t.Errorf("digests differ, want equal:\n a: %s\n b: %s", da, db)
			}
			if !tc.equal && da == db {
				t.Errorf("digests equal (%s), want different", da)
			}
		})
	}
}

func mustDigest(t *testing.T, n Normaliser, b []byte) string {
	t.Helper()
	d, err := n.Digest(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s Digest: %v", n.Name(), err)
	}
	if !strings.HasPrefix(d, "sha256:") || len(d) != len("sha256:")+64 {
		t.Fatalf("%s Digest = %q, want sha256:<64 hex>", n.Name(), d)
	}
	// Streaming must not depend on how the reader splits its input.
	d1, err := n.Digest(iotest.OneByteReader(bytes.NewReader(b)))
	if err != nil || d1 != d {
		t.Fatalf("%s Digest one byte at a time = %q, %v; want %q", n.Name(), d1, err, d)
	}
	return d
}

// runNotApplicable checks that each input gives an error wrapping
// ErrNotApplicable.
func runNotApplicable(t *testing.T, n Normaliser, cases map[string][]byte) {
	t.Helper()
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			d, err := n.Digest(bytes.NewReader(in))
			if !errors.Is(err, ErrNotApplicable) {
				t.Errorf("Digest = %q, %v; want an error wrapping ErrNotApplicable", d, err)
			}
		})
	}
}

var errBoom = errors.New("boom")

// testReadError checks that a failing reader gives its error back, not
// ErrNotApplicable: the content is unknown, not foreign. (Cut in the middle:
// a normaliser may stop before EOF.)
func testReadError(t *testing.T, n Normaliser, valid []byte) {
	t.Helper()
	for _, cut := range []int{0, len(valid) / 2} {
		r := io.MultiReader(bytes.NewReader(valid[:cut]), iotest.ErrReader(errBoom))
		_, err := n.Digest(r)
		if !errors.Is(err, errBoom) || errors.Is(err, ErrNotApplicable) {
			t.Errorf("after %d bytes: Digest error = %v, want one wrapping errBoom and not ErrNotApplicable", cut, err)
		}
	}
}

// testTruncated checks that every proper prefix of valid gives an error (or,
// where the prefix happens to be complete content, a digest), never a panic.
func testTruncated(t *testing.T, n Normaliser, valid []byte, wantErr func(cut int) bool) {
	t.Helper()
	for cut := range len(valid) {
		_, err := n.Digest(bytes.NewReader(valid[:cut]))
		if wantErr(cut) && !errors.Is(err, ErrNotApplicable) {
			t.Fatalf("truncated to %d of %d bytes: err = %v, want ErrNotApplicable", cut, len(valid), err)
		}
	}
}

type matchCase struct {
	path string
	size int64
	want bool
}

// TestMatch: which paths and sizes each normaliser takes.
func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		n     Normaliser
		cases []matchCase
	}{
		{Pyc(), []matchCase{
			{"/usr/lib/python3.12/__pycache__/os.cpython-312.pyc", 100, true},
			{"/app/x.pyo", 100, true},
			{"/app/X.PYC", 100, true},
			{"/app/x.py", 100, false},
			{"/app/x.pyc", 7, false},
			{"/app/pyc", 100, false},
		}},
		{Zip(), []matchCase{
			{"/app/app.jar", 100, true},
			{"/srv/ROOT.war", 100, true},
			{"/srv/app.ear", 100, true},
			{"/tmp/x.zip", 100, true},
			{"/wheels/x-1.0-py3-none-any.whl", 100, true},
			{"/libs/x.aar", 100, true},
			{"/app/APP.JAR", 100, true},
			{"/lib/apk/db/x.apk", 100, false},
			{"/app/app.jar", 21, false},
			{"/app/jar", 100, false},
		}},
		{Gzip(), []matchCase{
			{"/usr/share/man/man1/ls.1.gz", 100, true},
			{"/app/x.tar.gz", 100, true},
			{"/app/x.tgz", 100, true},
			{"/app/X.GZ", 100, true},
			{"/app/x.gz", 17, false},
			{"/app/x.gzip", 100, false},
			{"/app/x.zip", 100, false},
		}},
		{Shadow(), []matchCase{
			{"/etc/shadow", 100, true},
			{"/etc/shadow-", 100, true},
			{"etc/shadow", 100, true},
			{"/etc/gshadow", 100, false},
			{"/etc/shadow.bak", 100, false},
			{"/opt/etc/shadow", 100, false},
		}},
	} {
		for _, c := range tc.cases {
			if got := tc.n.Match(c.path, c.size); got != c.want {
				t.Errorf("%s Match(%q, %d) = %v, want %v", tc.n.Name(), c.path, c.size, got, c.want)
			}
		}
	}
}

func TestDefault(t *testing.T) {
	var got []string
	for _, n := range Default() {
		got = append(got, n.Name())
	}
	if diff := cmp.Diff([]string{"pyc", "zip", "gzip", "shadow"}, got); diff != "" {
		t.Errorf("Default names (-want +got):\n%s", diff)
	}
}

func TestByName(t *testing.T) {
	ns, err := ByName("shadow", "pyc")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range ns {
		got = append(got, n.Name())
	}
	if diff := cmp.Diff([]string{"shadow", "pyc"}, got); diff != "" {
		t.Errorf("ByName names (-want +got):\n%s", diff)
	}
	if _, err := ByName("pyc", "nope"); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("ByName(nope) error = %v, want one naming \"nope\"", err)
	}
}

// TestKindsDoNotCollide checks the domain prefix: an empty shadow file and an
// empty gzip have the same canonical content (nothing), yet different
// digests, and neither is the raw sha256 of nothing.
func TestKindsDoNotCollide(t *testing.T) {
	s := mustDigest(t, Shadow(), nil)
	g := mustDigest(t, Gzip(), gzipFile(gzMember{}))
	const rawEmpty = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	if s == g || s == rawEmpty || g == rawEmpty {
		t.Errorf("digests collide: shadow %s, gzip %s, raw %s", s, g, rawEmpty)
	}
}
