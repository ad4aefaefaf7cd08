package clip

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestQuote(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want, wantString string
	}{
		{name: "short", in: "a\tb", want: `"a\tb"`, wantString: "a\tb"},
		{name: "exactly Max", in: strings.Repeat("a", Max), want: `"` + strings.Repeat("a", Max) + `"`, wantString: strings.Repeat("a", Max)},
		{name: "long", in: strings.Repeat("a", 30<<20), want: `"` + strings.Repeat("a", Max) + `…" (31457280 bytes)`, wantString: strings.Repeat("a", Max) + "… (31457280 bytes)"},
		{name: "cut at a character boundary", in: strings.Repeat("a", Max-1) + "éé", want: `"` + strings.Repeat("a", Max-1) + `…" (103 bytes)`, wantString: strings.Repeat("a", Max-1) + "… (103 bytes)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, Quote(tc.in)); diff != "" {
				t.Errorf("Quote (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantString, String(tc.in)); diff != "" {
				t.Errorf("String (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReason(t *testing.T) {
	t.Parallel()
	value := "HUGE" + strings.Repeat("x", 1000)
	tests := []struct{ name, err, want string }{
		{name: "ends with the value", err: "could not parse reference: " + value, want: "could not parse reference"},
		{name: "ends with part of the value", err: "repository can only contain [a-z]: " + value[10:], want: "repository can only contain [a-z]"},
		{name: "other text", err: "bad: something else", want: "bad: something else"},
		{name: "long other text", err: strings.Repeat("y", 200), want: strings.Repeat("y", Max) + "… (200 bytes)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if diff := cmp.Diff(tc.want, Reason(errors.New(tc.err), value)); diff != "" {
				t.Errorf("Reason (-want +got):\n%s", diff)
			}
		})
	}
}
