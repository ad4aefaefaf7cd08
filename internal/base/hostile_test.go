package base

import (
	"errors"
	"io"
	"os"
	"strings"
	"testing"
)

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
