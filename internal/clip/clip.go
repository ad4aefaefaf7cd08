package clip

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Max is how many bytes of a value Quote keeps.
const Max = 100

// Quote returns s quoted as %q quotes it. A value longer than Max bytes is
// cut at a character boundary and its length noted after the quote:
// "aaaa…" (30000000 bytes).
func Quote(s string) string {
	if len(s) <= Max {
		return strconv.Quote(s)
	}
	n := Max
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return fmt.Sprintf("%s (%d bytes)", strconv.Quote(s[:n]+"…"), len(s))
}

// Reason returns the text of a library's error about value, cut as String
// cuts, without the part of value it ends with (ggcr's "...: VALUE"): the
// message that wraps it quotes value once, through Quote.
func Reason(err error, value string) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && strings.Contains(value, msg[i+2:]) {
		msg = msg[:i]
	}
	return String(msg)
}

// String returns s cut as Quote cuts it, unquoted: for a message that
// holds text which is not itself a user value (a library's error).
func String(s string) string {
	if len(s) <= Max {
		return s
	}
	n := Max
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return fmt.Sprintf("%s… (%d bytes)", s[:n], len(s))
}
