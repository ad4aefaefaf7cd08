package normalise

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"testing"
	"time"
)

// gemOpts is one build of a gem: what gem build varies between two builds
// of the same sources (times, the gemspec's date) and what the sources say.
type gemOpts struct {
	mtime    time.Time // of every tar entry, and in the gzip headers
	date     string    // the gemspec's date line
	version  string
	files    map[string]string // data.tar: name -> content, mode 0644
	modes    map[string]int64  // data.tar: name -> mode, instead of 0644
	extra    []string          // outer members after checksums.yaml.gz: name, content, ...
	noSums   bool              // leave checksums.yaml.gz out
	typeflag byte              // of the metadata.gz member; 0: regular
}

// gemFile builds a .gem as gem build writes it: a tar of metadata.gz,
// data.tar.gz and checksums.yaml.gz.
func gemFile(o gemOpts) []byte {
	if o.version == "" {
		o.version = "0.1.0"
	}
	if o.files == nil {
		o.files = map[string]string{"lib/fastsum.rb": "require \"fastsum/fastsum\"\n", "ext/fastsum/fastsum.c": "/* C */\n"}
	}
	gz := func(b []byte) []byte {
		var out bytes.Buffer
		zw := gzip.NewWriter(&out)
		zw.ModTime = o.mtime
		_, err := zw.Write(b)
		must(err)
		must(zw.Close())
		return out.Bytes()
	}
	var data bytes.Buffer
	dw := tar.NewWriter(&data)
	for _, name := range []string{"ext/fastsum/fastsum.c", "lib/fastsum.rb", "lib/extra.rb"} {
		body, ok := o.files[name]
		if !ok {
			continue
		}
		mode := int64(0o644)
		if m, ok := o.modes[name]; ok {
			mode = m
		}
		must(dw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(body)), ModTime: o.mtime, Uname: "wheel", Gname: "wheel"}))
		_, err := dw.Write([]byte(body))
		must(err)
	}
	must(dw.Close())
	meta := "--- !ruby/object:Gem::Specification\nname: fastsum\nversion: !ruby/object:Gem::Version\n  version: " + o.version +
		"\nplatform: ruby\n" + o.date + "\ndependencies: []\n"
	members := []string{"metadata.gz", string(gz([]byte(meta))), "data.tar.gz", string(gz(data.Bytes()))}
	if !o.noSums {
		members = append(members, "checksums.yaml.gz", string(gz([]byte("---\nSHA256:\n  metadata.gz: "+o.mtime.String()+"\n"))))
	}
	members = append(members, o.extra...)
	var out bytes.Buffer
	tw := tar.NewWriter(&out)
	for i := 0; i < len(members); i += 2 {
		hdr := &tar.Header{Name: members[i], Mode: 0o444, Size: int64(len(members[i+1])), ModTime: o.mtime, Uname: "wheel", Gname: "wheel"}
		if i == 0 && o.typeflag != 0 {
			hdr.Typeflag, hdr.Size, hdr.Linkname = o.typeflag, 0, "x"
			must(tw.WriteHeader(hdr))
			continue
		}
		must(tw.WriteHeader(hdr))
		_, err := tw.Write([]byte(members[i+1]))
		must(err)
	}
	must(tw.Close())
	return out.Bytes()
}

func TestGemDigest(t *testing.T) {
	d1, d2 := "date: 2026-11-30 00:00:00.000000000 Z", "date: 2026-12-01 00:00:00.000000000 Z"
	a := gemOpts{mtime: t1, date: d1}
	with := func(f func(o *gemOpts)) []byte {
		o := a
		f(&o)
		return gemFile(o)
	}
	runPairs(t, Gem(), []pairCase{
		{"rebuilt", gemFile(a), gemFile(gemOpts{mtime: t2, date: d2}), true},
		{"no checksums", gemFile(a), with(func(o *gemOpts) { o.noSums = true }), true},
		{"file content", gemFile(a), with(func(o *gemOpts) {
			o.files = map[string]string{"lib/fastsum.rb": "require \"fastsum/fastsum\"\n", "ext/fastsum/fastsum.c": "/* D */\n"}
		}), false},
		{"file added", gemFile(a), with(func(o *gemOpts) {
			o.files = map[string]string{"lib/fastsum.rb": "require \"fastsum/fastsum\"\n", "ext/fastsum/fastsum.c": "/* C */\n", "lib/extra.rb": ""}
		}), false},
		{"file mode", gemFile(a), with(func(o *gemOpts) { o.modes = map[string]int64{"lib/fastsum.rb": 0o755} }), false},
		{"version", gemFile(a), with(func(o *gemOpts) { o.version = "0.1.1" }), false},
		{"date is only the top-level key", with(func(o *gemOpts) { o.date = "  date: 1" }), with(func(o *gemOpts) { o.date = "  date: 2" }), false},
		{"signature", with(func(o *gemOpts) { o.extra = []string{"data.tar.gz.sig", "a"} }), with(func(o *gemOpts) { o.extra = []string{"data.tar.gz.sig", "b"} }), false},
	})
}

func TestGemNotApplicable(t *testing.T) {
	good := gemFile(gemOpts{mtime: t1})
	var empty bytes.Buffer
	must(tar.NewWriter(&empty).Close())
	runNotApplicable(t, Gem(), map[string][]byte{
		"not a tar":          bytes.Repeat([]byte("x"), 2048),
		"no members":         empty.Bytes(),
		"cut in a member":    good[:512+100],
		"metadata a symlink": gemFile(gemOpts{mtime: t1, typeflag: tar.TypeSymlink}),
		"data.tar.gz not gz": gemFile(gemOpts{mtime: t1, extra: []string{"data.tar.gz", "not gzip"}}),
		"metadata.gz not gz": gemFile(gemOpts{mtime: t1, extra: []string{"metadata.gz", "not gzip"}}),
	})
}

func TestGemReadError(t *testing.T) {
	testReadError(t, Gem(), gemFile(gemOpts{mtime: t1}))
}

func FuzzGem(f *testing.F) { fuzzNormaliser(f, Gem(), nil) }
