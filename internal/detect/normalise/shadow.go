package normalise

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash"
	"io"
	"path"
)

// maxShadowLine bounds one line of /etc/shadow; a longer one makes the
// content not applicable.
const maxShadowLine = 64 << 10

// Shadow returns the normaliser for /etc/shadow and its backup /etc/shadow-:
// it ignores the day of the last password change (the third field), which
// records the day the image was built.
func Shadow() Normaliser {
	return canonNormaliser{name: "shadow", match: matchShadow, canon: canonShadow}
}

func matchShadow(p string, _ int64) bool {
	p = path.Clean("/" + p)
	return p == "/etc/shadow" || p == "/etc/shadow-"
}

// canonShadow writes /etc/shadow read from r to w, line by line, each line
// with its lastchg field replaced (see writeShadowLine).
func canonShadow(r io.Reader, w hash.Hash) error {
	br := bufio.NewReaderSize(r, maxShadowLine)
	for n := 1; ; n++ {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return fmt.Errorf("line %d is longer than %d bytes", n, maxShadowLine)
		}
		if len(line) > 0 {
			if err := writeShadowLine(w, line); err != nil {
				return fmt.Errorf("line %d: %w", n, err)
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// writeShadowLine writes line (with its newline, if any) to h with the
// lastchg field replaced: a day count becomes "*", while "" (aging off) and
// "0" (change at next login) stay, as they mean something.
func writeShadowLine(h hash.Hash, line []byte) error {
	body := bytes.TrimSuffix(line, []byte("\n"))
	if len(body) == 0 {
		h.Write(line)
		return nil
	}
	if c := bytes.Count(body, []byte(":")); c != 8 {
		return fmt.Errorf("%d fields, want 9", c+1)
	}
	i := bytes.IndexByte(body, ':')
	i += 1 + bytes.IndexByte(body[i+1:], ':') // end of passwd
	j := i + 1 + bytes.IndexByte(body[i+1:], ':')
	lastchg := body[i+1 : j]
	for _, c := range lastchg {
		if c < '0' || c > '9' {
			return fmt.Errorf("last password change %q is not a day number", lastchg)
		}
	}
	h.Write(line[:i+1])
	if len(lastchg) > 0 && string(lastchg) != "0" {
		h.Write([]byte("*"))
	} else {
		h.Write(lastchg)
	}
	h.Write(line[j:])
	return nil
}
