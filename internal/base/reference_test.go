package base

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseReference(t *testing.T) {
	const dig = "sha256:0000000000000000000000000000000000000000000000000000000000000001"
	type ref struct {
		Repo, Tag   string // RepositoryStr and TagStr
		HasTag      bool
		ImplicitTag bool
		Digest      string
		Named       string
	}
	tests := []struct {
		in   string
		want ref
	}{
		{"python:3.13-slim", ref{"library/python", "3.13-slim", true, false, "", "python:3.13-slim"}},
		{"python", ref{"library/python", "latest", true, true, "", "python:latest"}},
		{"localhost:5000/a/b:1.2.3", ref{"a/b", "1.2.3", true, false, "", "localhost:5000/a/b:1.2.3"}},
		{"localhost:5000/a/b", ref{"a/b", "latest", true, true, "", "localhost:5000/a/b:latest"}},
		{"python:3.13@" + dig, ref{"library/python", "3.13", true, false, dig, "python:3.13"}},
		{"localhost:5000/a/b@" + dig, ref{"a/b", "", false, false, dig, ""}},
	}
	for _, tc := range tests {
		r, err := parseReference(tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		got := ref{Repo: r.repo.RepositoryStr(), HasTag: r.hasTag, ImplicitTag: r.implicitTag, Digest: r.digest, Named: r.named}
		if r.hasTag {
			got.Tag = r.tag.TagStr()
			if r.tag.Context() != r.repo {
				t.Errorf("%s: tag repository %v, repository %v", tc.in, r.tag.Context(), r.repo)
			}
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.in, diff)
		}
	}
	for _, bad := range []string{"Python:3", "a@sha256:12", "a:b:c", "a@b@c", "python:-slim", "/python:3", "a//b:1", "a-:1", "localhost:5000/-a@sha256:0000000000000000000000000000000000000000000000000000000000000001"} {
		if _, err := parseReference(bad); err == nil {
			t.Errorf("parseReference(%q): no error", bad)
		}
	}
}

func TestMutableTag(t *testing.T) {
	for tag, mutable := range map[string]bool{
		"latest": true, "20": true, "2.7": true, "3.13-slim": true, "bookworm-slim": true, "21-jdk": true,
		"3.13.1": false, "3.13.1-slim": false, "v1.2.3": false, "20.11.1-alpine3.19": false,
	} {
		if got := mutableTag(tag) != ""; got != mutable {
			t.Errorf("mutableTag(%q) = %q, want mutable %v", tag, mutableTag(tag), mutable)
		}
	}
}
