package base

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/imgver/imgver/internal/userfile/userfiletest"
)

func TestParse(t *testing.T) {
	const dig = "sha256:0000000000000000000000000000000000000000000000000000000000000001"
	tests := []struct {
		name     string
		src      string
		wantArgs []string
		want     []From
		// split: the reference is not written in one piece on one line, so
		// it has no offsets; every other one's point at its Raw.
		split bool
	}{{
		name: "single",
		src:  "FROM python:3.13.1-slim\nRUN true\n",
		want: []From{{Line: 1, EndLine: 1, Raw: "python:3.13.1-slim", Ref: "python:3.13.1-slim", Kind: KindImage}},
	}, {
		name: "multi-stage, FROM stage",
		src:  "FROM golang:1.25.1 AS build\nRUN go build\nFROM build AS test\nFROM gcr.io/distroless/static:nonroot\nCOPY --from=build /x /x\n",
		want: []From{
			{Line: 1, EndLine: 1, Raw: "golang:1.25.1", Ref: "golang:1.25.1", Stage: "build", Kind: KindImage},
			{Line: 3, EndLine: 3, Raw: "build", Ref: "build", Stage: "test", Kind: KindStage},
			{Line: 4, EndLine: 4, Raw: "gcr.io/distroless/static:nonroot", Ref: "gcr.io/distroless/static:nonroot", Kind: KindImage},
		},
	}, {
		name: "stage names are case-insensitive, lowercase keywords",
		src:  "from alpine:3.20.3 as Builder\nfrom BUILDER\n",
		want: []From{
			{Line: 1, EndLine: 1, Raw: "alpine:3.20.3", Ref: "alpine:3.20.3", Stage: "builder", Kind: KindImage},
			{Line: 2, EndLine: 2, Raw: "BUILDER", Ref: "BUILDER", Kind: KindStage},
		},
	}, {
		name: "a stage named later is an image",
		src:  "FROM later\nFROM alpine:3.20.3 AS later\n",
		want: []From{
			{Line: 1, EndLine: 1, Raw: "later", Ref: "later", Kind: KindImage},
			{Line: 2, EndLine: 2, Raw: "alpine:3.20.3", Ref: "alpine:3.20.3", Stage: "later", Kind: KindImage},
		},
	}, {
		name:     "global ARG substitution",
		src:      "ARG PYTHON_VERSION=3.13\nARG VARIANT=\"slim\"\nARG FULL=${PYTHON_VERSION}-${VARIANT}\nFROM python:${FULL}\nARG PYTHON_VERSION=9\nFROM python:$PYTHON_VERSION\n",
		wantArgs: []string{"PYTHON_VERSION=3.13", "VARIANT=slim", "FULL=3.13-slim"},
		want: []From{
			{Line: 4, EndLine: 4, Raw: "python:${FULL}", Ref: "python:3.13-slim", Kind: KindImage},
			{Line: 6, EndLine: 6, Raw: "python:$PYTHON_VERSION", Ref: "python:3.13", Kind: KindImage},
		},
	}, {
		name: "ARG without default",
		src:  "ARG V\nFROM python:${V}-slim\n",
		want: []From{{Line: 2, EndLine: 2, Raw: "python:${V}-slim", Ref: "python:-slim", Unset: []string{"V"}, Kind: KindImage}},
	}, {
		name: "--platform flags",
		src:  "FROM --platform=$BUILDPLATFORM golang:1.25.1 AS build\nFROM --platform=linux/arm64 alpine:3.20.3\n",
		want: []From{
			{Line: 1, EndLine: 1, Raw: "golang:1.25.1", Ref: "golang:1.25.1", Platform: "$BUILDPLATFORM", Stage: "build", Kind: KindImage},
			{Line: 2, EndLine: 2, Raw: "alpine:3.20.3", Ref: "alpine:3.20.3", Platform: "linux/arm64", Kind: KindImage},
		},
	}, {
		name: "digest-only and tag@digest",
		src:  "FROM alpine@" + dig + "\nFROM alpine:3.20.3@" + dig + " AS x\n",
		want: []From{
			{Line: 1, EndLine: 1, Raw: "alpine@" + dig, Ref: "alpine@" + dig, Kind: KindImage},
			{Line: 2, EndLine: 2, Raw: "alpine:3.20.3@" + dig, Ref: "alpine:3.20.3@" + dig, Stage: "x", Kind: KindImage},
		},
	}, {
		name: "line continuations and comments",
		src:  "# syntax=docker/dockerfile:1\n# a comment\nFROM \\\n  # inside\n\n    --platform=linux/amd64 \\\n    node:20.11.1 \\\n    AS web\n",
		want: []From{{Line: 3, EndLine: 8, Raw: "node:20.11.1", Ref: "node:20.11.1", Platform: "linux/amd64", Stage: "web", Kind: KindImage}},
	}, {
		name:  "a reference split over lines is not in place",
		src:   "FROM node:20\\\n.11.1\n",
		want:  []From{{Line: 1, EndLine: 2, Raw: "node:20.11.1", Ref: "node:20.11.1", Kind: KindImage}},
		split: true,
	}, {
		name: "CRLF",
		src:  "FROM debian:12.7-slim AS a\r\nRUN true\r\nFROM \\\r\n  a\r\n",
		want: []From{
			{Line: 1, EndLine: 1, Raw: "debian:12.7-slim", Ref: "debian:12.7-slim", Stage: "a", Kind: KindImage},
			{Line: 3, EndLine: 4, Raw: "a", Ref: "a", Kind: KindStage},
		},
	}, {
		name: "escape directive",
		src:  "# escape=`\nFROM `\n  mcr.microsoft.com/windows/servercore:ltsc2022\n",
		want: []From{{Line: 2, EndLine: 3, Raw: "mcr.microsoft.com/windows/servercore:ltsc2022", Ref: "mcr.microsoft.com/windows/servercore:ltsc2022", Kind: KindImage}},
	}, {
		name: "scratch",
		src:  "FROM scratch\nCOPY x /\n",
		want: []From{{Line: 1, EndLine: 1, Raw: "scratch", Ref: "scratch", Kind: KindScratch}},
	}, {
		name: "registry with port",
		src:  "  FROM   localhost:5000/a/b:1.2.3   AS  b\n",
		want: []From{{Line: 1, EndLine: 1, Raw: "localhost:5000/a/b:1.2.3", Ref: "localhost:5000/a/b:1.2.3", Stage: "b", Kind: KindImage}},
	}, {
		name: "quoted reference",
		src:  "FROM \"alpine:3.20.3\"\n",
		want: []From{{Line: 1, EndLine: 1, Raw: `"alpine:3.20.3"`, Ref: "alpine:3.20.3", Kind: KindImage}},
	}, {
		name: "byte order mark",
		src:  "\xef\xbb\xbfFROM alpine:3.20.3\n",
		want: []From{{Line: 1, EndLine: 1, Raw: "alpine:3.20.3", Ref: "alpine:3.20.3", Kind: KindImage}},
	}, {
		name: "FROM from",
		src:  "FROM from\n",
		want: []From{{Line: 1, EndLine: 1, Raw: "from", Ref: "from", Kind: KindImage}},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d, err := Parse([]byte(tc.src))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, d.Froms, cmpopts.IgnoreUnexported(From{})); diff != "" {
				t.Errorf("Froms (-want +got):\n%s", diff)
			}
			for i, f := range d.Froms {
				switch {
				case tc.split != (f.start < 0):
					t.Errorf("FROM %d: offsets %d:%d, want them only for a reference in one piece", i, f.start, f.end)
				case f.start >= 0 && string(d.Data[f.start:f.end]) != f.Raw:
					t.Errorf("FROM %d: offsets point at %q, not %q", i, d.Data[f.start:f.end], f.Raw)
				}
			}
			if diff := cmp.Diff(tc.wantArgs, d.Args); diff != "" {
				t.Errorf("Args (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, src := range []string{"", "# only a comment\n", "FROM\n", "FROM a b c d\n", "FROM a:1 AS\n"} {
		if d, err := Parse([]byte(src)); err == nil {
			t.Errorf("Parse(%q) = %+v, want an error", src, d.Froms)
		}
	}
}

func TestInPlace(t *testing.T) {
	tests := []struct {
		src, reason string
	}{
		{"FROM alpine:3.20.3\n", ""},
		{"ARG V=3\nFROM python:${V}-slim\n", "ARG"},
		{"FROM \"alpine:3.20.3\"\n", "quoted"},
		{"FROM node:20\\\n.11.1\n", "one piece on one line"},
	}
	for _, tc := range tests {
		d, err := Parse([]byte(tc.src))
		if err != nil {
			t.Fatal(err)
		}
		f := d.Froms[len(d.Froms)-1]
		if got := f.InPlace(); got != (tc.reason == "") {
			t.Errorf("%q: InPlace() = %v", tc.src, got)
		}
		if got := f.NotInPlaceReason(); !strings.Contains(got, tc.reason) || (tc.reason == "") != (got == "") {
			t.Errorf("%q: NotInPlaceReason() = %q, want it to mention %q", tc.src, got, tc.reason)
		}
		_, err = d.Rewrite(map[int]string{len(d.Froms) - 1: "alpine:3.20.3@sha256:x"})
		var nip *NotInPlaceError
		if got := errors.As(err, &nip); got != (tc.reason != "") {
			t.Errorf("%q: Rewrite error %v, want NotInPlaceError: %v", tc.src, err, tc.reason != "")
		}
	}
}

// TestParseNoFrom: Docker refuses a Dockerfile without FROM, so does Parse.
func TestParseNoFrom(t *testing.T) {
	t.Parallel()
	for name, src := range map[string]string{
		"RUN only":          "RUN echo hi\n",
		"ARG only":          "ARG X=1\n",
		"comment and ARG":   "# syntax=docker/dockerfile:1\nARG X=1\n",
		"FROM in a comment": "# FROM alpine:3.19\nRUN true\n",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, err := Parse([]byte(src)); !errors.Is(err, ErrNoFrom) {
				t.Errorf("Parse = %v, want ErrNoFrom", err)
			}
		})
	}
	// BuildKit's own error for a file without instructions stays.
	if _, err := Parse([]byte("# nothing\n")); err == nil {
		t.Error("Parse of a comment-only file: no error")
	}
}

// TestParseInvalidUTF8: a FROM reference that is not UTF-8 is
// an error naming its line, and BuildKit's lexer prints nothing to stderr
// before it. Not parallel: it swaps os.Stderr.
func TestParseInvalidUTF8(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{name: "FROM", src: "FROM alp\xffine:3.19\n", want: "line 1: FROM is not valid UTF-8"},
		{name: "second line", src: "# c\nFROM alpine:3.19 AS a\nFROM \xffa\n", want: "line 3: FROM is not valid UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			stderr := captureStderr(t, func() { _, err = Parse([]byte(tc.src)) })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse = %v, want an error containing %q", err, tc.want)
			}
			if stderr != "" {
				t.Errorf("Parse wrote to stderr: %q", stderr)
			}
		})
	}
	// A RUN line in Latin-1 is the shell's business, never lexed here.
	if _, err := Parse([]byte("FROM alpine:3.19\nRUN echo caf\xe9\n")); err != nil {
		t.Errorf("Parse of a Latin-1 RUN line: %v", err)
	}
}

// captureStderr returns what fn writes to os.Stderr.
func captureStderr(t *testing.T, fn func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stderr
	os.Stderr = w
	defer func() { os.Stderr = old }()
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	fn()
	os.Stderr = old
	w.Close()
	return <-done
}

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata")

const testDigest = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

// pinAll returns the refs that pin every in-place image FROM of d to
// testDigest, as update would.
func pinAll(t *testing.T, d *Dockerfile) map[int]string {
	t.Helper()
	refs := map[int]string{}
	for i, f := range d.Froms {
		if f.Kind != KindImage || !f.InPlace() {
			continue
		}
		r, err := parseReference(f.Ref)
		if err != nil {
			t.Fatal(err)
		}
		if !r.hasTag {
			continue
		}
		refs[i] = r.named + "@" + testDigest
	}
	return refs
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *updateGolden {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

// lines splits b into lines that keep their endings.
func lines(b []byte) []string { return strings.SplitAfter(string(b), "\n") }

func TestRewriteGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/rewrite/*.Dockerfile")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".Dockerfile")
		t.Run(name, func(t *testing.T) {
			src := []byte(userfiletest.Read(t, file))
			d, err := Parse(src)
			if err != nil {
				t.Fatal(err)
			}
			out, err := d.Rewrite(pinAll(t, d))
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, strings.TrimSuffix(file, ".Dockerfile")+".golden", out)
			checkGolden(t, strings.TrimSuffix(file, ".Dockerfile")+".diff", []byte(Diff(name, src, out)))

			// Independently of the golden file: only FROM lines change,
			// and every line keeps its ending.
			in, got := lines(src), lines(out)
			if len(in) != len(got) {
				t.Fatalf("%d lines became %d", len(in), len(got))
			}
			fromLine := map[int]bool{}
			for _, f := range d.Froms {
				for l := f.Line; l <= f.EndLine; l++ {
					fromLine[l] = true
				}
			}
			for i := range in {
				if in[i] != got[i] && !fromLine[i+1] {
					t.Errorf("line %d changed: %q -> %q", i+1, in[i], got[i])
				}
				if ending(in[i]) != ending(got[i]) {
					t.Errorf("line %d: ending %q became %q", i+1, ending(in[i]), ending(got[i]))
				}
			}
			// No change: byte-identical.
			same, err := d.Rewrite(nil)
			if err != nil || !bytes.Equal(same, src) {
				t.Errorf("Rewrite(nil) changed the file (%v)", err)
			}
		})
	}
}

func ending(s string) string {
	switch {
	case strings.HasSuffix(s, "\r\n"):
		return "\r\n"
	case strings.HasSuffix(s, "\n"):
		return "\n"
	}
	return ""
}
