package detect

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/imgver/imgver/internal/detect/normalise"
)

// upperNormaliser treats *.up files case-insensitively.
type upperNormaliser struct{ calls atomic.Int32 }

func (n *upperNormaliser) Name() string { return "upper" }

func (n *upperNormaliser) Match(p string, _ int64) bool { return strings.HasSuffix(p, ".up") }

func (n *upperNormaliser) Digest(r io.Reader) (string, error) {
	n.calls.Add(1)
	// Read only the first 4 bytes: the caller must drain the rest.
	b := make([]byte, 4)
	k, _ := io.ReadFull(r, b)
	if bytes.HasPrefix(b[:k], []byte("BIN")) {
		return "", fmt.Errorf("binary: %w", normalise.ErrNotApplicable)
	}
	h := sha256.Sum256(bytes.ToUpper(b[:k]))
	return "sha256:" + hex.EncodeToString(h[:]), nil
}

func TestNormaliserContract(t *testing.T) {
	t.Parallel()
	img := func(content string) string {
		return writeOCI(t, base().add(file("app/x.up", content), file("app/after", "z")).image(t))
	}
	tests := []struct {
		name string
		a, b string
		opts []Option
		want []string
	}{
		{name: "normalised equal", a: "abcd-rest", b: "ABCD-other and longer"},
		{name: "normalised differ", a: "abcd", b: "abce", want: []string{"modified /app/x.up content"}},
		{name: "not applicable: raw bytes", a: "BIN1", b: "BIN2", want: []string{"modified /app/x.up content"}},
		{name: "not applicable: raw bytes equal", a: "BIN1", b: "BIN1"},
		{name: "switched off", a: "abcd", b: "ABCD", opts: []Option{WithoutNormalisers("upper")}, want: []string{"modified /app/x.up content"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			n := &upperNormaliser{}
			opts := append([]Option{WithNormalisers(n)}, tc.opts...)
			a, b := img(tc.a), img(tc.b)
			res := diff(t, a, b, opts...)
			if d := cmp.Diff(tc.want, summarise(res)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
			if (fingerprint(t, a, opts...) == fingerprint(t, b, opts...)) != (res.Verdict == Same) {
				t.Error("fingerprints disagree with the verdict")
			}
		})
	}
	if _, err := New(WithoutNormalisers("nope")); err == nil || !strings.Contains(err.Error(), `unknown normaliser "nope"`) {
		t.Errorf("an unknown normaliser name: %v", err)
	}
	// The raw digest is of all the bytes, though the normaliser read 4.
	lr := newLayerReader([]normaliseNormaliser{&upperNormaliser{}}, false)
	s, err := lr.read(bytes.NewReader(tarBytes(t, tarOpts{}, file("x.up", "BIN-long-content"), file("y", "1"))))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("BIN-long-content"))
	if got, want := s.entries[0].Digest, "sha256:"+hex.EncodeToString(sum[:]); got != want {
		t.Errorf("digest %s, want %s", got, want)
	}
	if len(s.entries) != 2 {
		t.Errorf("%d entries, want 2: the rest of x.up was not drained", len(s.entries))
	}
}

// TestBoundedErrors: a huge bad value is quoted once, cut.
func TestBoundedErrors(t *testing.T) {
	t.Parallel()
	huge := "HUGE" + strings.Repeat("[", 100<<10)
	_, ignoreErr := New(WithIgnore("/" + huge))
	c := newComparer(t)
	_, refErr := c.Fingerprint(t.Context(), huge)
	for _, err := range []error{ignoreErr, refErr} {
		if err == nil || len(err.Error()) > 300 || strings.Count(err.Error(), "HUGE") != 1 {
			t.Errorf("error = %.400q (%d bytes), want the value once, cut", err, len(fmt.Sprint(err)))
		}
	}
}
