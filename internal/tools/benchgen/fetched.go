package main

import (
	"bufio"
	"io"
	"regexp"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// fetchCounts is what a registry's access log says was fetched.
type fetchCounts struct {
	// layerBytes and layerGets: blob GETs of the layers named (the
	// baseline's), bytes as the registry sent them.
	layerBytes, layerGets int64
	// otherBlobBytes and otherBlobGets: every other blob GET (configs,
	// summaries, layers not named).
	otherBlobBytes, otherBlobGets int64
	// manifestGets counts manifest GETs; requests every request.
	manifestGets, requests int64
}

// accessLine matches the request, status and size of a combined log
// format line, as distribution's access log writes them:
//
//	127.0.0.1 - - [30/Nov/2026:07:55:01 +0000] "GET /v2/x/blobs/sha256:… HTTP/1.1" 200 1234 "" "ua"
var accessLine = regexp.MustCompile(`"([A-Z]+) (/v2/\S*) HTTP/[0-9.]+" ([0-9]{3}) ([0-9]+|-)`)

// countFetched reads an access log and counts the blob and manifest GETs
// that succeeded; a blob GET counts as a layer's when its digest is in
// layers. Lines that are not access log lines (the registry's own log) are
// skipped.
func countFetched(r io.Reader, layers map[v1.Hash]bool) (fetchCounts, error) {
	var c fetchCounts
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		m := accessLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		c.requests++
		method, path, status := m[1], m[2], m[3]
		if method != "GET" || (status != "200" && status != "206") {
			continue
		}
		size, _ := strconv.ParseInt(m[4], 10, 64) // "-": nothing sent
		path, _, _ = strings.Cut(path, "?")
		switch {
		case strings.Contains(path, "/manifests/"):
			c.manifestGets++
		case strings.Contains(path, "/blobs/"):
			d, err := v1.NewHash(path[strings.LastIndex(path, "/")+1:])
			if err == nil && layers[d] {
				c.layerBytes += size
				c.layerGets++
			} else {
				c.otherBlobBytes += size
				c.otherBlobGets++
			}
		}
	}
	return c, sc.Err()
}

// layoutLayers returns the digests of the layers of every image in the OCI
// layouts dirs.
func layoutLayers(dirs []string) (map[v1.Hash]bool, error) {
	jobs, err := floorJobs(dirs)
	if err != nil {
		return nil, err
	}
	out := map[v1.Hash]bool{}
	for _, j := range jobs {
		out[j.digest] = true
	}
	return out, nil
}
