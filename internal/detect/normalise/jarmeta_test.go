package normalise

import (
	"bytes"
	"hash"
	"io"
	"strings"
	"testing"
)

// mf is the manifest of the Spring Boot-style jar of scripts/real-rebuilds.sh
// (testdata/rebuilds/bootjar) as jar --create writes it: CRLF line ends.
func mf(buildTime string, extra ...string) []byte {
	lines := []string{
		"Manifest-Version: 1.0",
		"Main-Class: com.example.boot.NestedJarLauncher",
		"Start-Class: com.example.demo.DemoApplication",
		"Spring-Boot-Classes: BOOT-INF/classes/",
		"Spring-Boot-Lib: BOOT-INF/lib/",
		"Build-Jdk-Spec: 17",
		"Build-Time: " + buildTime,
		"Created-By: 17.0.15 (Debian)",
	}
	lines = append(lines, extra...)
	return []byte(strings.Join(lines, "\r\n") + "\r\n\r\n")
}

func TestManifestDigest(t *testing.T) {
	base := mf("2026-11-30T05:24:21Z")
	swap := func(old, repl string) []byte { return []byte(strings.Replace(string(base), old, repl, 1)) }
	runPairs(t, Manifest(), []pairCase{
		{"Build-Time", base, mf("2026-12-01T00:00:00Z"), true},
		{"Build-Time dropped", base, swap("Build-Time: 2026-11-30T05:24:21Z\r\n", ""), true},
		{"build-time any case", base, swap("Build-Time: 2026-11-30T05:24:21Z", "build-time: yesterday"), true},
		{"Build-Date", mf("x", "Build-Date: 2026-11-30"), mf("x", "Build-Date: 2026-12-01"), true},
		{"Build-Timestamp", mf("x", "Build-Timestamp: 1"), mf("x", "Build-Timestamp: 2"), true},
		{"Bnd-LastModified", mf("x", "Bnd-LastModified: 1764480000000"), mf("x", "Bnd-LastModified: 1764566400000"), true},
		{"LF line ends", base, []byte(strings.ReplaceAll(string(base), "\r\n", "\n")), true},
		{"CR line ends", base, []byte(strings.ReplaceAll(string(base), "\r\n", "\r")), true},
		{"folded at 72 bytes", base, swap("Start-Class: com.example.demo.DemoApplication", "Start-Class: com.exa\r\n mple.demo.DemoApplication"), true},
		{"Main-Class", base, swap("NestedJarLauncher", "OtherLauncher"), false},
		{"Start-Class", base, swap("demo.DemoApplication", "demo.Other"), false},
		{"Created-By", base, swap("17.0.15 (Debian)", "21.0.5 (Debian)"), false},
		{"attribute added", base, mf("2026-11-30T05:24:21Z", "Class-Path: lib/x.jar"), false},
		{"attribute order", []byte("A: 1\nB: 2\n"), []byte("B: 2\nA: 1\n"), false},
		{"value case", []byte("A: x\n"), []byte("A: X\n"), false},
		{"Build-Time-Zone is not a stamp", []byte("Build-Time-Zone: UTC\n"), []byte("Build-Time-Zone: CET\n"), false},
		{"entry section digest", mf("x", "", "Name: a.class", "SHA-256-Digest: AAA="), mf("x", "", "Name: a.class", "SHA-256-Digest: BBB="), false},
		{"section break", []byte("A: 1\nB: 2\n"), []byte("A: 1\n\nB: 2\n"), false},
		// The JVM ignores a last line without a line end.
		{"last line end", []byte("A: 1\nB: 2\n"), []byte("A: 1\nB: 2"), false},
		{"folded or two attributes", []byte("A: 1\n B: 2\n"), []byte("A: 1\nB: 2\n"), false},
	})
}

func TestManifestNotApplicable(t *testing.T) {
	runNotApplicable(t, Manifest(), map[string][]byte{
		"no colon space":           []byte("Manifest-Version:1.0\n"),
		"continuation first":       []byte(" 1.0\n"),
		"continuation after break": []byte("A: 1\n\n 2\n"),
		"empty name":               []byte(": 1\n"),
		"name with a dot":          []byte("Main.Class: x\n"),
		"name of 71 bytes":         []byte(strings.Repeat("N", 71) + ": x\n"),
		"binary":                   []byte("\xca\xfe\xba\xbe\x00\x00\x00\x3d"),
		"huge line":                []byte("A: " + strings.Repeat("x", maxMetaLine)),
		"huge folded attribute":    []byte("A: x\n" + strings.Repeat(" "+strings.Repeat("x", maxMetaLine-1)+"\n", maxMetaLogical/maxMetaLine+1)),
	})
}

func TestManifestReadError(t *testing.T) {
	testReadError(t, Manifest(), mf("x"))
}

// bi is a build-info.properties as spring-boot-maven-plugin's build-info
// goal writes it (colons escaped); Spring Boot 2 also wrote a date comment.
func bi(time string, lines ...string) []byte {
	return []byte("build.artifact=demo\nbuild.group=com.example\nbuild.name=demo\nbuild.time=" + time +
		"\nbuild.version=0.0.1-SNAPSHOT\n" + strings.Join(lines, ""))
}

func TestBuildInfoDigest(t *testing.T) {
	base := bi(`2026-11-30T05\:24\:12.194Z`)
	swap := func(old, repl string) []byte { return []byte(strings.Replace(string(base), old, repl, 1)) }
	runPairs(t, BuildInfo(), []pairCase{
		{"build.time", base, bi(`2026-12-01T00\:00\:00.000Z`), true},
		{"build.time separator", base, swap(`build.time=2026-11-30T05\:24\:12.194Z`, "build.time : 2027"), true},
		{"build.time escaped key", base, swap("build.time=", `build\.time=`), true},
		{"build.time continued", base, swap(`build.time=2026-11-30T05\:24\:12.194Z`, "build.time=2026\\\n   -11-30"), true},
		{"date comment", append([]byte("#Properties\n#Mon Nov 30 05:24:12 UTC 2026\n"), base...), append([]byte("#Properties\n#Tue Dec 01 00:00:00 UTC 2026\n"), base...), true},
		{"! comment", base, append([]byte("! built by ci\n"), base...), true},
		{"blank lines", base, []byte(strings.ReplaceAll(string(base), "\n", "\n\n")), true},
		{"CRLF", base, []byte(strings.ReplaceAll(string(base), "\n", "\r\n")), true},
		{"leading white space", base, swap("build.name", "  \tbuild.name"), true},
		{"value continued", []byte("a=xy\n"), []byte("a=x\\\n    y\n"), true},
		{"no final line end", base, []byte(strings.TrimSuffix(string(base), "\n")), true},
		{"build.version", base, swap("0.0.1-SNAPSHOT", "0.0.2-SNAPSHOT"), false},
		{"build.artifact", base, swap("build.artifact=demo", "build.artifact=demo2"), false},
		{"property added", base, bi(`2026-11-30T05\:24\:12.194Z`, "build.java.version=17\n"), false},
		{"build.timezone is not build.time", bi("x", "build.timezone=UTC\n"), bi("x", "build.timezone=CET\n"), false},
		{"empty key", []byte("\\\n"), []byte("=\n"), true},
		{"key starting with #", []byte("\\\n#x=1\n"), []byte("\\#x=1\n"), true},
		{"key #x or comment", []byte("\\\n#x=1\n"), []byte("#x=1\n"), false},
		{"escaped backslash ends the line", []byte("a=x\\\\\nb=y\n"), []byte("a=x\\\\b=y\n"), false},
	})
}

func TestBuildInfoNotApplicable(t *testing.T) {
	runNotApplicable(t, BuildInfo(), map[string][]byte{
		"huge line":     []byte("a=" + strings.Repeat("x", maxMetaLine)),
		"huge property": []byte("a=x\\\n" + strings.Repeat(strings.Repeat("x", maxMetaLine-1)+"\\\n", maxMetaLogical/maxMetaLine+1)),
	})
}

func TestBuildInfoReadError(t *testing.T) {
	testReadError(t, BuildInfo(), bi("x"))
}

// TestZipJarMetadata: inside a jar, and inside the jars nested in it, the
// manifest and build-info.properties are normalised as files are.
func TestZipJarMetadata(t *testing.T) {
	lib := func(buildTime string) string {
		return string(zipFile(zopts{}, zent{name: "META-INF/MANIFEST.MF", body: string(mf(buildTime))}, zent{name: "x/Lib.class", body: "lib"}))
	}
	boot := func(manifest, buildInfo []byte, nested string) []byte {
		return zipFile(zopts{},
			zent{name: "META-INF/MANIFEST.MF", body: string(manifest)},
			zent{name: "BOOT-INF/classes/META-INF/build-info.properties", body: string(buildInfo)},
			zent{name: "BOOT-INF/classes/x/App.class", body: "app"},
			zent{name: "BOOT-INF/lib/lib-1.0.jar", body: nested, store: true},
		)
	}
	a := boot(mf("t1"), bi("t1"), lib("t1"))
	runPairs(t, Zip(), []pairCase{
		{"rebuilt", a, boot(mf("t2"), bi("t2"), lib("t2")), true},
		{"manifest Main-Class", a, boot([]byte(strings.Replace(string(mf("t1")), "NestedJarLauncher", "Other", 1)), bi("t1"), lib("t1")), false},
		{"build-info version", a, boot(mf("t1"), []byte(strings.Replace(string(bi("t1")), "0.0.1", "0.0.2", 1)), lib("t1")), false},
		{"nested manifest", a, boot(mf("t1"), bi("t1"), string(zipFile(zopts{}, zent{name: "META-INF/MANIFEST.MF", body: "Manifest-Version: 2.0\r\n"}, zent{name: "x/Lib.class", body: "lib"}))), false},
		// Not a manifest: compared by its bytes.
		{"broken manifest same", boot([]byte("garbage"), bi("t1"), lib("t1")), boot([]byte("garbage"), bi("t1"), lib("t1")), true},
		{"broken manifest differs", boot([]byte("garbage"), bi("t1"), lib("t1")), boot([]byte("garbagf"), bi("t1"), lib("t1")), false},
		// The raw bytes of a manifest and those of its canonical form (with
		// the domain prefix) do not collide.
		{"canonical form as bytes", boot([]byte("A: 1\n"), bi("t1"), lib("t1")), boot([]byte("imgver/normalise/manifest/v1\nA: 1\n"), bi("t1"), lib("t1")), false},
	})
}

// FuzzManifest also checks that the canonical form is a fixed point: read
// again as a manifest, it gives the same digest.
func FuzzManifest(f *testing.F) {
	fuzzNormaliser(f, Manifest(), func(t *testing.T, in []byte, digest string) {
		checkFixedPoint(t, Manifest(), canonManifest, in, digest)
	})
}

// FuzzBuildInfo also checks that the canonical form is a fixed point.
func FuzzBuildInfo(f *testing.F) {
	fuzzNormaliser(f, BuildInfo(), func(t *testing.T, in []byte, digest string) {
		checkFixedPoint(t, BuildInfo(), canonBuildInfo, in, digest)
	})
}

// checkFixedPoint checks that the canonical form canon writes for in has the
// digest of in, unless a line of it is too long to be read again.
func checkFixedPoint(t *testing.T, n Normaliser, canon func(io.Reader, hash.Hash) error, in []byte, digest string) {
	var b bufHash
	if err := canon(bytes.NewReader(in), &b); err != nil {
		t.Fatalf("canonical form: %v", err)
	}
	for _, line := range bytes.Split(b.Bytes(), []byte("\n")) {
		if len(line) > maxMetaLine {
			return
		}
	}
	d, err := n.Digest(bytes.NewReader(b.Bytes()))
	if err != nil || d != digest {
		t.Fatalf("canonical form %q read again: Digest = %q, %v; want %q", b.Bytes(), d, err, digest)
	}
}

// bufHash keeps what is written to it, for reading a canonical form back.
type bufHash struct{ bytes.Buffer }

func (*bufHash) Sum(b []byte) []byte { return b }
func (*bufHash) Size() int           { return 0 }
func (*bufHash) BlockSize() int      { return 1 }
