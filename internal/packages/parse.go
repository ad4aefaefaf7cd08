package packages

import (
	"bufio"
	"bytes"
	"encoding/json"
	"path"
	"regexp"
	"strings"
)

// Kind is the kind of package database a file is.
type Kind int

// The kinds of package database files.
const (
	None Kind = iota
	Dpkg
	ApkDB
	PythonMetadata
	NpmPackage
	Gemspec
	PomProperties
	GoBinary
)

// Limits on what is held of one file.
const (
	maxSystemDB = 64 << 20 // dpkg status, apk installed
	maxSmallDB  = 1 << 20  // METADATA, package.json, gemspec, pom.properties
)

// Match returns the kind of package database at path p (absolute and
// clean), by its path alone; None for every other path, Go binaries
// included (see NewCapture).
func Match(p string) Kind {
	switch {
	case p == "/var/lib/dpkg/status":
		return Dpkg
	case strings.HasPrefix(p, "/var/lib/dpkg/status.d/"):
		if name := p[len("/var/lib/dpkg/status.d/"):]; !strings.Contains(name, "/") && !strings.HasSuffix(name, ".md5sums") {
			return Dpkg
		}
	case p == "/lib/apk/db/installed":
		return ApkDB
	case strings.HasSuffix(p, ".dist-info/METADATA"), strings.HasSuffix(p, ".egg-info/PKG-INFO"), strings.HasSuffix(p, ".egg-info"):
		return PythonMetadata
	case strings.HasSuffix(p, "/package.json"):
		if isNpmPackage(p) {
			return NpmPackage
		}
	case strings.HasSuffix(p, ".gemspec"):
		dir := path.Dir(p)
		if path.Base(dir) == "default" {
			dir = path.Dir(dir)
		}
		if path.Base(dir) == "specifications" {
			return Gemspec
		}
	}
	return None
}

// isNpmPackage reports whether p is node_modules/NAME/package.json or
// node_modules/@SCOPE/NAME/package.json.
func isNpmPackage(p string) bool {
	i := strings.LastIndex(p, "/node_modules/")
	if i < 0 {
		return false
	}
	rest := strings.Split(p[i+len("/node_modules/"):], "/")
	switch len(rest) {
	case 2:
		return !strings.HasPrefix(rest[0], "@") && !strings.HasPrefix(rest[0], ".")
	case 3:
		return strings.HasPrefix(rest[0], "@")
	}
	return false
}

func limit(k Kind) int64 {
	if k == Dpkg || k == ApkDB {
		return maxSystemDB
	}
	return maxSmallDB
}

// Parse returns the packages the database file b of kind k lists. Content
// it cannot read holds no packages.
func Parse(k Kind, b []byte) []Package {
	if parse, ok := parsers[k]; ok {
		return parse(b)
	}
	return nil
}

// parsers reads each kind of database.
var parsers = map[Kind]func([]byte) []Package{
	Dpkg:           parseDpkg,
	ApkDB:          parseApk,
	PythonMetadata: parsePython,
	NpmPackage:     parseNpm,
	Gemspec:        parseGemspec,
	PomProperties:  parsePom,
	GoBinary:       parseGoBuildInfo,
}

// stanzas calls fn with the fields of each blank-line-separated stanza of
// "Key: value" lines (deb822; continuation lines, which start with a space
// or tab, are skipped: the fields read are single-line). sep is the
// separator after the key: ": " for deb822 and METADATA, ":" for apk.
func stanzas(b []byte, sep string, stopAtFirst bool, fn func(fields map[string]string)) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), maxSystemDB)
	fields := map[string]string{}
	flush := func() {
		if len(fields) > 0 {
			fn(fields)
			fields = map[string]string{}
		}
	}
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			if stopAtFirst && len(fields) > 0 {
				break
			}
			flush()
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			continue
		}
		k, v, ok := strings.Cut(line, strings.TrimSpace(sep))
		if !ok {
			continue
		}
		if _, dup := fields[k]; !dup {
			fields[k] = strings.TrimSpace(v)
		}
	}
	flush()
}

// parseDpkg reads a dpkg status file or one of distroless's status.d
// files. A stanza without Status (distroless writes none) is installed;
// one whose status is not-installed or config-files is not.
func parseDpkg(b []byte) []Package {
	var out []Package
	stanzas(b, ": ", false, func(f map[string]string) {
		name, version := f["Package"], f["Version"]
		if name == "" || version == "" {
			return
		}
		if st := strings.Fields(f["Status"]); len(st) == 3 && (st[2] == "not-installed" || st[2] == "config-files") {
			return
		}
		out = append(out, Package{Deb, name, version})
	})
	return out
}

// parseApk reads /lib/apk/db/installed: P: is the name, V: the version.
func parseApk(b []byte) []Package {
	var out []Package
	stanzas(b, ":", false, func(f map[string]string) {
		if f["P"] != "" && f["V"] != "" {
			out = append(out, Package{Apk, f["P"], f["V"]})
		}
	})
	return out
}

var pep503 = regexp.MustCompile(`[-_.]+`)

// parsePython reads the headers of a METADATA or PKG-INFO file.
func parsePython(b []byte) []Package {
	var out []Package
	stanzas(b, ": ", true, func(f map[string]string) {
		if f["Name"] != "" && f["Version"] != "" {
			out = append(out, Package{Python, pep503.ReplaceAllString(strings.ToLower(f["Name"]), "-"), f["Version"]})
		}
	})
	return out
}

// parseNpm reads a package's package.json.
func parseNpm(b []byte) []Package {
	var p struct {
		Name    string `json:"name"`
		Version string `json:"version"`
	}
	if err := json.Unmarshal(b, &p); err != nil || p.Name == "" || p.Version == "" {
		return nil
	}
	return []Package{{Npm, p.Name, p.Version}}
}

// gemspecField matches the name and version assignments of a gemspec as
// RubyGems writes it into specifications/: s.name = "rake".freeze,
// s.version = "13.0.6", older s.name = %q{rake}.
var gemspecField = regexp.MustCompile(`(?m)^\s*\w+\.(name|version)\s*=\s*(?:"([^"]*)"|'([^']*)'|%q\{([^}]*)\})`)

func parseGemspec(b []byte) []Package {
	var name, version string
	for _, m := range gemspecField.FindAllSubmatch(b, -1) {
		v := string(m[2]) + string(m[3]) + string(m[4])
		switch string(m[1]) {
		case "name":
			if name == "" {
				name = v
			}
		case "version":
			if version == "" {
				version = v
			}
		}
	}
	if name == "" || version == "" {
		return nil
	}
	return []Package{{Gem, name, version}}
}

// parsePom reads a Maven pom.properties: groupId, artifactId and version
// (Java properties: "key=value" or "key: value"; # and ! start comments).
func parsePom(b []byte) []Package {
	f := map[string]string{}
	for line := range strings.Lines(string(b)) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		i := strings.IndexAny(line, "=:")
		if i < 0 {
			continue
		}
		f[strings.TrimSpace(line[:i])] = strings.TrimSpace(line[i+1:])
	}
	if f["groupId"] == "" || f["artifactId"] == "" || f["version"] == "" {
		return nil
	}
	return []Package{{Maven, f["groupId"] + ":" + f["artifactId"], f["version"]}}
}
