// Package clip cuts user values quoted in error messages to a readable
// length, so that a 30 MB glob or path makes a one-line error, not 30 MB of
// stderr. A message quotes a bad value once, through Quote.
package clip
