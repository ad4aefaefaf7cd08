package normalise

import (
	"errors"
	"strings"
	"testing"
)

func TestShadowDigest(t *testing.T) {
	const (
		root = "root:*:19000:0:99999:7:::\n"
		app  = "app:!:19000:0:99999:7:::\n"
	)
	f := func(lines ...string) []byte { return []byte(strings.Join(lines, "")) }
	runPairs(t, Shadow(), []pairCase{
		{"lastchg", f(root, app), f(root, "app:!:20412:0:99999:7:::\n"), true},
		{"lastchg every line", f(root, app), f("root:*:20412:0:99999:7:::\n", "app:!:1:0:99999:7:::\n"), true},
		{"lastchg no final newline", f(root, "app:!:19000:0:99999:7:::"), f(root, "app:!:20412:0:99999:7:::"), true},
		{"password", f(root, app), f(root, "app:$6$salt$hash:19000:0:99999:7:::\n"), false},
		{"name", f(root, app), f(root, "ap2:!:19000:0:99999:7:::\n"), false},
		{"min", f(root, app), f(root, "app:!:19000:1:99999:7:::\n"), false},
		{"expire", f(root, app), f(root, "app:!:19000:0:99999:7::20000:\n"), false},
		{"lastchg day or zero", f(root, app), f(root, "app:!:0:0:99999:7:::\n"), false},
		{"lastchg day or empty", f(root, app), f(root, "app:!::0:99999:7:::\n"), false},
		{"user added", f(root), f(root, app), false},
		{"order", f(root, app), f(app, root), false},
		{"final newline", f(root, app), f(root, strings.TrimSuffix(app, "\n")), false},
		{"blank line", f(root, app), f(root, "\n", app), false},
		{"CRLF", f(root, app), f(root, strings.TrimSuffix(app, "\n")+"\r\n"), false},
	})
}

func TestShadowNotApplicable(t *testing.T) {
	runNotApplicable(t, Shadow(), map[string][]byte{
		"8 fields":       []byte("root:*:19000:0:99999:7::\n"),
		"10 fields":      []byte("root:*:19000:0:99999:7:::x:\n"),
		"lastchg text":   []byte("root:*:today:0:99999:7:::\n"),
		"not shadow":     []byte("# shadow\n"),
		"huge line":      []byte(strings.Repeat("x", maxShadowLine+1)),
		"huge last line": []byte("root:*:19000:0:99999:7:::\n" + strings.Repeat(":", maxShadowLine+10)),
	})
}

func TestShadowLongLine(t *testing.T) {
	_, err := Shadow().Digest(strings.NewReader("root:*:19000:0:99999:7:::\n" + strings.Repeat("x", maxShadowLine+1)))
	if !errors.Is(err, ErrNotApplicable) || !strings.Contains(err.Error(), "line 2 is longer than") {
		t.Errorf("Digest error = %v, want ErrNotApplicable saying line 2 is too long", err)
	}
}

func TestShadowReadError(t *testing.T) {
	testReadError(t, Shadow(), []byte("root:*:19000:0:99999:7:::\napp:!:19000:0:99999:7:::\n"))
}

func TestShadowEmpty(t *testing.T) {
	mustDigest(t, Shadow(), nil)
}
