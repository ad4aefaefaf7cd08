package main

import (
	"strings"
	"testing"
)

func TestWriteDotenv(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		vars    []dotenvVar
		want    string
		wantErr string
	}{
		{"plain", []dotenvVar{{"web_VER", "v1.1.0"}, {"published", "a,b"}}, "web_VER=v1.1.0\npublished=a,b\n", ""},
		{"JSON kept as is (GitLab keeps quotes)", []dotenvVar{{"j", `[{"name":"a"}]`}}, `j=[{"name":"a"}]` + "\n", ""},
		{"empty value", []dotenvVar{{"changed", ""}}, "changed=\n", ""},
		{"bad key", []dotenvVar{{"ok", "1"}, {"web-VER", "v1"}}, "", `"web-VER" is not a variable name`},
		{"key starting with a digit", []dotenvVar{{"1x", "v1"}}, "", "is not a variable name"},
		{"line break", []dotenvVar{{"x", "a\nb"}}, "", "cannot be written on one line"},
		{"blank at an end", []dotenvVar{{"x", "a "}}, "", "cannot be written on one line"},
	} {
		var b strings.Builder
		err := writeDotenv(&b, tc.vars)
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.wantErr)
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case b.String() != tc.want:
			t.Errorf("%s: wrote %q, want %q", tc.name, b.String(), tc.want)
		}
	}
}

func TestVarsDotenv(t *testing.T) {
	t.Parallel()
	cfg, _ := monorepo(t, "postgres_VER=\"v1.1.0\"\n")
	res := imgver(t, "--config", cfg, "vars", "--format", "dotenv", "--commit", "0123456789abcdef")
	if res.code != 0 || !strings.Contains(res.stdout, "postgres_VER=v1.1.0\n") || strings.Contains(res.stdout, "export") || strings.Contains(res.stdout, `"`) {
		t.Errorf("vars --format dotenv: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
}
