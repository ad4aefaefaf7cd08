package normalise

import (
	"bytes"
	"compress/gzip"
	"strings"
	"testing"
	"time"
)

type gzMember struct {
	body    string
	level   int
	name    string
	comment string
	mtime   time.Time
	os      byte
}

// gzipFile builds a gzip file of the members given, in turn.
func gzipFile(members ...gzMember) []byte {
	var b bytes.Buffer
	for _, m := range members {
		level := m.level
		if level == 0 {
			level = gzip.DefaultCompression
		}
		w, err := gzip.NewWriterLevel(&b, level)
		if err != nil {
			panic(err)
		}
		w.Name, w.Comment, w.ModTime, w.OS = m.name, m.comment, m.mtime, m.os
		_, err = w.Write([]byte(m.body))
		must(err)
		must(w.Close())
	}
	return b.Bytes()
}

var gzBody = strings.Repeat("the quick brown fox jumps over the lazy dog\n", 500)

func TestGzipDigest(t *testing.T) {
	day1 := time.Date(2026, 10, 9, 12, 0, 0, 0, time.UTC)
	day2 := day1.AddDate(0, 0, 1)
	runPairs(t, Gzip(), []pairCase{
		{"mtime", gzipFile(gzMember{body: gzBody, mtime: day1}), gzipFile(gzMember{body: gzBody, mtime: day2}), true},
		{"name", gzipFile(gzMember{body: gzBody, name: "a.txt"}), gzipFile(gzMember{body: gzBody, name: "b.txt"}), true},
		{"comment", gzipFile(gzMember{body: gzBody, comment: "built 1"}), gzipFile(gzMember{body: gzBody, comment: "built 2"}), true},
		{"OS byte", gzipFile(gzMember{body: gzBody, os: 3}), gzipFile(gzMember{body: gzBody, os: 255}), true},
		{"level", gzipFile(gzMember{body: gzBody, level: gzip.BestSpeed}), gzipFile(gzMember{body: gzBody, level: gzip.BestCompression}), true},
		{"stored or compressed", gzipFile(gzMember{body: gzBody, level: gzip.NoCompression}), gzipFile(gzMember{body: gzBody, level: gzip.HuffmanOnly}), true},
		{"members", gzipFile(gzMember{body: gzBody[:100]}, gzMember{body: gzBody[100:]}), gzipFile(gzMember{body: gzBody}), true},
		{"second member content", gzipFile(gzMember{body: "a"}, gzMember{body: "b"}), gzipFile(gzMember{body: "a"}, gzMember{body: "c"}), false},
		{"content", gzipFile(gzMember{body: gzBody}), gzipFile(gzMember{body: gzBody + "!"}), false},
		{"empty content", gzipFile(gzMember{}), gzipFile(gzMember{body: "\n"}), false},
	})
}

func TestGzipNotApplicable(t *testing.T) {
	valid := gzipFile(gzMember{body: gzBody})
	corrupt := bytes.Clone(valid)
	corrupt[len(corrupt)-5] ^= 1 // the CRC-32 in the trailer
	runNotApplicable(t, Gzip(), map[string][]byte{
		"empty":            nil,
		"not gzip":         []byte("plain text\n"),
		"bad crc":          corrupt,
		"trailing garbage": append(bytes.Clone(valid), "garbage"...),
		"trailing zeros":   append(bytes.Clone(valid), make([]byte, 512)...),
	})
}

func TestGzipTruncated(t *testing.T) {
	valid := gzipFile(gzMember{body: gzBody, name: "x"})
	testTruncated(t, Gzip(), valid, func(int) bool { return true })
}

func TestGzipReadError(t *testing.T) {
	testReadError(t, Gzip(), gzipFile(gzMember{body: gzBody}))
}
