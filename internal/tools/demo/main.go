package main

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imgver/imgver/internal/imagebuild"
)

func main() {
	registry := flag.String("registry", "localhost:5000", "registry the demo publishes to")
	out := flag.String("out", "demo/build", "directory for the fresh builds (OCI layouts)")
	flag.Parse()
	if err := run(*registry, *out); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(2)
	}
}

// The two builds: the one published as the releases, and this commit's.
var (
	released = imagebuild.Build{MTime: time.Date(2026, 10, 2, 14, 0, 0, 0, time.UTC), GzipLevel: 6}
	rebuilt  = imagebuild.Build{MTime: time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC), GzipLevel: 1}
)

type image struct {
	name, repo, base string
	// app makes the image's own layers for a build; fresh is true for this
	// commit's build.
	app func(b imagebuild.Build, fresh bool) ([][]imagebuild.File, imagebuild.Config)
	// releases are the published versions to push.
	releases []string
}

func run(registry, out string) error {
	opts := []remote.Option{remote.WithAuthFromKeychain(authn.DefaultKeychain)}
	acme := registry + "/acme"
	images := []image{
		{"api-gateway", acme + "/vro-api-gateway", "eclipse-temurin:21-jre", javaApp, []string{"v3.3.0"}},
		{"svc-lighthouse-api", acme + "/svc-lighthouse-api", "python:3.13-slim", pythonApp, []string{"v3.4.0"}},
		{"svc-bie-kafka", acme + "/svc-bie-kafka", "ruby:3.3-slim", rubyApp, []string{"v3.2.1", "v3.4.0"}},
		{"postgres", acme + "/postgres", "postgres:16.4", postgresApp, []string{"v3.4.0"}},
		{"console", acme + "/console", "debian:bookworm-slim", consoleApp, []string{"v3.4.0"}},
	}
	bases := map[string]v1.Image{}
	for _, b := range []string{"eclipse-temurin:21-jdk", "eclipse-temurin:21-jre", "python:3.13-slim", "ruby:3.3-slim", "postgres:16.4", "debian:bookworm-slim"} {
		img, err := released.Image(nil, imagebuild.Config{Env: []string{"PATH=/usr/local/bin:/usr/bin:/bin"}, Cmd: []string{"/bin/sh"}}, baseRootFS(b))
		if err != nil {
			return err
		}
		ref := registry + "/library/" + b
		if err := imagebuild.Push(ref, img, opts...); err != nil {
			return err
		}
		fmt.Printf("pushed base %s\n", ref)
		bases[b] = img
	}
	for _, im := range images {
		layers, cfg := im.app(released, false)
		img, err := released.Image(bases[im.base], cfg, layers...)
		if err != nil {
			return err
		}
		for _, v := range im.releases {
			if err := imagebuild.Push(im.repo+":"+v, img, opts...); err != nil {
				return err
			}
			fmt.Printf("pushed release %s:%s\n", im.repo, v)
		}
		layers, cfg = im.app(rebuilt, true)
		img, err = rebuilt.Image(bases[im.base], cfg, layers...)
		if err != nil {
			return err
		}
		dir := filepath.Join(out, im.name)
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
		if err := imagebuild.WriteLayout(dir, img); err != nil {
			return err
		}
		fmt.Printf("built %s\n", dir)
	}
	return nil
}

// baseRootFS is a tiny stand-in for a distribution's root file system,
// with the runtime the image is named after.
func baseRootFS(name string) []imagebuild.File {
	fs := []imagebuild.File{
		imagebuild.Dir("/bin"), imagebuild.Dir("/etc"), imagebuild.Dir("/usr/bin"), imagebuild.Dir("/usr/local/bin"),
		imagebuild.Dir("/tmp").WithMode(0o1777), imagebuild.Dir("/var/log"), imagebuild.Dir("/root").WithMode(0o700),
		imagebuild.Exe("/bin/sh", elf("dash")),
		imagebuild.Exe("/bin/bash", elf("bash")),
		imagebuild.Exe("/usr/bin/env", elf("env")),
		imagebuild.Reg("/etc/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n# "+name+"\n"),
		imagebuild.Reg("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\npostgres:x:999:999::/var/lib/postgresql:/bin/bash\n"),
		imagebuild.Reg("/etc/group", "root:x:0:\nnogroup:x:65534:\npostgres:x:999:\n"),
	}
	switch runtime, _, _ := strings.Cut(name, ":"); runtime {
	case "eclipse-temurin":
		fs = append(fs, imagebuild.Dir("/opt/java/openjdk/bin"), imagebuild.Exe("/opt/java/openjdk/bin/java", elf("java")),
			imagebuild.Symlink("/usr/bin/java", "../../opt/java/openjdk/bin/java"))
	case "python":
		fs = append(fs, imagebuild.Exe("/usr/local/bin/python3.13", elf("python")), imagebuild.Symlink("/usr/local/bin/python3", "python3.13"))
	case "ruby":
		fs = append(fs, imagebuild.Exe("/usr/local/bin/ruby", elf("ruby")),
			imagebuild.Exe("/usr/local/bin/bundle", "#!/usr/bin/env ruby\nload Gem.bin_path('bundler', 'bundle')\n"))
	case "postgres":
		fs = append(fs, imagebuild.Dir("/usr/lib/postgresql/16/bin"), imagebuild.Exe("/usr/lib/postgresql/16/bin/postgres", elf("postgres")),
			imagebuild.Symlink("/usr/bin/postgres", "/usr/lib/postgresql/16/bin/postgres"),
			imagebuild.Dir("/var/lib/postgresql").Owned(999, 999))
	}
	return fs
}

// noise is what every rebuild writes anew: package lists, logs, caches.
func noise(b imagebuild.Build) []imagebuild.File {
	stamp := b.MTime.Format(time.RFC3339)
	return []imagebuild.File{
		imagebuild.Reg("/var/lib/apt/lists/deb_dists_bookworm_InRelease", "Date: "+stamp+"\n"),
		imagebuild.Reg("/var/cache/apt/pkgcache.bin", "pkgcache "+stamp),
		imagebuild.Reg("/var/log/apt/history.log", "Start-Date: "+stamp+"\nCommandline: apt-get install -y curl\n"),
		imagebuild.Reg("/var/log/dpkg.log", stamp+" status installed curl:amd64\n"),
		imagebuild.Reg("/tmp/build-"+fmt.Sprint(b.MTime.Unix()%9973), "scratch"),
	}
}

func javaApp(b imagebuild.Build, fresh bool) ([][]imagebuild.File, imagebuild.Config) {
	jar := buildJar(b.MTime, map[string]string{
		"META-INF/MANIFEST.MF":          "Manifest-Version: 1.0\nMain-Class: gov.va.vro.Gateway\n",
		"gov/va/vro/Gateway.class":      "\xca\xfe\xba\xbe gateway bytecode",
		"gov/va/vro/Routes.class":       "\xca\xfe\xba\xbe routes bytecode",
		"application.yml":               "server:\n  port: 8060\n",
		"META-INF/maven/pom.properties": "#Generated by Maven\n#" + b.MTime.Format(time.UnixDate) + "\nversion=3.4.0\n",
	})
	cfg := imagebuild.Config{Entrypoint: []string{"java", "-jar", "/app/gateway.jar"}, User: "1000", Env: []string{"PATH=/usr/local/bin:/usr/bin:/bin", "JAVA_OPTS=-Xmx512m"}}
	if fresh {
		cfg.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "JAVA_OPTS=-Xmx1g"}
	}
	return [][]imagebuild.File{noise(b), {imagebuild.Dir("/app"), imagebuild.Reg("/app/gateway.jar", jar)}}, cfg
}

func pythonApp(b imagebuild.Build, _ bool) ([][]imagebuild.File, imagebuild.Config) {
	src := "import os\n\ndef main():\n    print('lighthouse', os.environ.get('LH_ENV'))\n"
	return [][]imagebuild.File{
			noise(b),
			{
				imagebuild.Dir("/app"), imagebuild.Reg("/app/requirements.txt", "requests==2.32.3\n"),
				imagebuild.Reg("/root/.cache/pip/http/a/b/c", "cached wheel "+b.MTime.String()),
				imagebuild.Reg("/usr/local/lib/python3.13/site-packages/requests/__init__.py", "__version__ = '2.32.3'\n"),
			},
			{
				imagebuild.Dir("/app/src"), imagebuild.Reg("/app/src/main.py", src),
				imagebuild.Reg("/app/src/__pycache__/main.cpython-313.pyc", pyc(b.MTime, len(src), "code object of main")),
			},
		}, imagebuild.Config{Cmd: []string{"python3", "-m", "src.main"}, WorkingDir: "/app", User: "nobody",
			Labels: map[string]string{"org.opencontainers.image.created": b.MTime.Format(time.RFC3339)}}
}

func rubyApp(b imagebuild.Build, _ bool) ([][]imagebuild.File, imagebuild.Config) {
	return [][]imagebuild.File{noise(b), {
		imagebuild.Dir("/app"), imagebuild.Reg("/app/Gemfile", "source 'https://rubygems.org'\ngem 'rdkafka'\n"),
		imagebuild.Reg("/app/consumer.rb", "require 'rdkafka'\nputs 'consuming'\n"),
	}}, imagebuild.Config{Cmd: []string{"bundle", "exec", "ruby", "consumer.rb"}, WorkingDir: "/app"}
}

func postgresApp(_ imagebuild.Build, fresh bool) ([][]imagebuild.File, imagebuild.Config) {
	files := []imagebuild.File{
		imagebuild.Dir("/docker-entrypoint-initdb.d"),
		imagebuild.Reg("/docker-entrypoint-initdb.d/001_schema.sql", "CREATE TABLE claims (id bigint PRIMARY KEY, status text);\n"),
		imagebuild.Reg("/docker-entrypoint-initdb.d/002_seed.sql", "INSERT INTO claims VALUES (1, 'open');\n"),
	}
	if fresh {
		files = append(files, imagebuild.Reg("/docker-entrypoint-initdb.d/003_index.sql", "CREATE INDEX claims_status ON claims (status);\n"))
	}
	return [][]imagebuild.File{files}, imagebuild.Config{Cmd: []string{"postgres"}, User: "postgres"}
}

func consoleApp(b imagebuild.Build, _ bool) ([][]imagebuild.File, imagebuild.Config) {
	return [][]imagebuild.File{noise(b), {imagebuild.Exe("/usr/local/bin/console", "#!/bin/bash\necho console\n")}},
		imagebuild.Config{Entrypoint: []string{"/usr/local/bin/console"}}
}

// buildJar writes a jar whose entries carry mtime, as the jar tool does.
func buildJar(mtime time.Time, entries map[string]string) string {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	names := make([]string, 0, len(entries))
	for n := range entries {
		names = append(names, n)
	}
	// The manifest first, the rest in a stable order.
	sort.Slice(names, func(i, j int) bool { return rank(names[i]) < rank(names[j]) })
	for _, n := range names {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Deflate, Modified: mtime})
		if err != nil {
			panic(err)
		}
		_, _ = w.Write([]byte(entries[n]))
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return buf.String()
}

func rank(n string) string {
	if strings.HasPrefix(n, "META-INF/MANIFEST") {
		return "\x00" + n
	}
	return n
}

// pyc is a Python 3.13 .pyc: magic, flags 0, source mtime and size, code.
func pyc(srcMTime time.Time, srcSize int, code string) string {
	var h [16]byte
	binary.LittleEndian.PutUint16(h[0:], 3571) // 3.13
	h[2], h[3] = '\r', '\n'
	binary.LittleEndian.PutUint32(h[8:], uint32(srcMTime.Unix()))
	binary.LittleEndian.PutUint32(h[12:], uint32(srcSize))
	return string(h[:]) + code
}

// elf is a stand-in for a program: the 64-byte header of an x86-64 ELF
// executable (what the checks of imgver check look at), then its name.
func elf(name string) string {
	var h [64]byte
	copy(h[:], "\x7fELF")
	h[4], h[5], h[6] = 2, 1, 1                // 64-bit, little-endian, version 1
	binary.LittleEndian.PutUint16(h[16:], 2)  // ET_EXEC
	binary.LittleEndian.PutUint16(h[18:], 62) // EM_X86_64
	binary.LittleEndian.PutUint32(h[20:], 1)  // EV_CURRENT
	return string(h[:]) + "stand-in for " + name + "\n"
}
