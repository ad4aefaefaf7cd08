package main

import (
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/imgver/imgver/internal/clip"
)

// dotenvVar is one KEY=value line of a dotenv file.
type dotenvVar struct{ Key, Value string }

var dotenvKeyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// writeDotenv writes vars as KEY=value lines, as GitLab's
// artifacts:reports:dotenv reads them: no export, no quotes (GitLab keeps
// quotes as part of the value, strips blanks around it, and reads one line per
// variable). A key that is not a variable name, or a value GitLab would not
// read back as written (a line break, blanks at either end), is an error and
// nothing is written.
func writeDotenv(w io.Writer, vars []dotenvVar) error {
	var b strings.Builder
	for _, v := range vars {
		if !dotenvKeyRE.MatchString(v.Key) {
			return fmt.Errorf("writing dotenv: %s is not a variable name", clip.Quote(v.Key))
		}
		if strings.ContainsAny(v.Value, "\n\r\x00") || strings.TrimSpace(v.Value) != v.Value {
			return fmt.Errorf("writing dotenv: the value of %s (%s) cannot be written on one line as GitLab reads it", v.Key, clip.Quote(v.Value))
		}
		fmt.Fprintf(&b, "%s=%s\n", v.Key, v.Value)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
