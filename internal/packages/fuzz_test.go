package packages

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzParse: no database file makes a parser panic, and every package read
// has a name and a version.
func FuzzParse(f *testing.F) {
	f.Add(uint8(Dpkg), []byte("Package: a\nStatus: install ok installed\nVersion: 1:1.0-1\n\nPackage: b\nVersion: 2\n"))
	f.Add(uint8(ApkDB), []byte("P:musl\nV:1.2.4-r2\n\nP:x\n"))
	f.Add(uint8(PythonMetadata), []byte("Name: A.b_c\nVersion: 1.0\n\nbody"))
	f.Add(uint8(NpmPackage), []byte(`{"name":"x","version":"1.0.0"}`))
	f.Add(uint8(Gemspec), []byte("s.name = \"rake\".freeze\ns.version = \"13.0.6\".freeze\n"))
	f.Add(uint8(PomProperties), []byte("groupId=g\nartifactId=a\nversion=1\n"))
	f.Add(uint8(GoBinary), []byte("\x7fELF\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"+goMagic+"\x08\x02"+string(make([]byte, 16))+"\x06go1.22\x00"))
	f.Fuzz(func(t *testing.T, kind uint8, b []byte) {
		for _, p := range Parse(Kind(kind), b) {
			if p.Name == "" || p.Version == "" && p.Ecosystem != Go {
				t.Errorf("package without a name or version: %+v", p)
			}
		}
	})
}

// FuzzGoScanner: the build information found does not depend on how the
// content is split into writes.
func FuzzGoScanner(f *testing.F) {
	blob := "\x7fELF" + string(make([]byte, 12)) + goMagic + "\x08\x02" + string(make([]byte, 16)) +
		"\x08go1.22.5" + "\x31" + string(make([]byte, 16)) + "path\tx\nmod\tx\t(devel)\t\n" + string(make([]byte, 16))
	f.Add([]byte(blob), uint16(5))
	f.Add([]byte("\x7fELF"+string(make([]byte, 12))+goMagic+"\x08\x00"), uint16(1))
	f.Fuzz(func(t *testing.T, b []byte, chunk uint16) {
		whole := &goScanner{}
		whole.write(b)
		split := &goScanner{}
		n := max(int(chunk), 1)
		for rest := b; len(rest) > 0; {
			k := min(n, len(rest))
			split.write(rest[:k])
			rest = rest[k:]
		}
		if whole.state != split.state || whole.vers != split.vers || whole.mod != split.mod {
			t.Errorf("whole: %d %q %q; in chunks of %d: %d %q %q", whole.state, whole.vers, whole.mod, n, split.state, split.vers, split.mod)
		}
		if whole.state == gsDone {
			if diff := cmp.Diff(goPackages(whole.vers, whole.mod), goPackages(split.vers, split.mod)); diff != "" {
				t.Error(diff)
			}
		}
	})
}
