// Package cache keeps bytes by string key in a directory on the local disk:
// imgver's cache of layer summaries, shared by every imgver process of the
// user, bounded in size.
//
// # Layout
//
// An entry's file is named by the sha256 of the format version and its key,
// in hex, under a subdirectory named by the first two hex digits (256
// shards keep directories small):
//
//	<dir>/3f/3fa0…e1
//
// The file holds a header, then the payload:
//
//	magic "imgver-cache\n", format version (uint16), key length (uint32),
//	payload length (uint64), sha256 of the payload (32 bytes), the key, the payload
//
// (integers big-endian). A Get checks all of it: a file with another magic or
// version, another key (a hash collision, or a file copied over another), a
// length that is not the file's, or a payload whose sha256 differs (a flipped
// bit, a write cut short by a crash) is removed and reported as a miss, so
// that the caller computes the value again. A Get never returns bytes that
// were not Put under that key.
//
// # Safety
//
// Several imgver processes may use one directory at once. An entry is written
// to a temporary file (".tmp-" and random hex) in its shard and renamed over
// its name, so a reader sees the whole old entry, the whole new one, or none.
// Files are not synced: a crash may leave an entry short or zeroed, which its
// checksum catches. Every file is opened through an os.Root: a symlink that
// leads out of the directory is never followed. The directory is created with
// mode 0700 and entries with 0600. Only files named as entries or temporary
// files are ever counted or removed: a cache directory pointed at the wrong
// place loses nothing else.
//
// Put never fails its caller: an entry that cannot be written is left out,
// and the first such error is kept for the caller to show as a warning
// (Warning). A Get that cannot read is a miss.
//
// # Size and eviction
//
// The cache holds at most about maxBytes (the sum of its files' sizes). A hit
// sets the entry's mtime to now (at most once a minute per entry, so hits cost
// no write), making mtime the time of last use. Walking the directory is
// the one costly step, so Put does not walk: the first Put of a process walks
// once to learn the total, and each later Put adds its entry's size to that
// running estimate. When the estimate passes maxBytes the directory is walked
// again (by one goroutine at a time) and, when the real total is over
// maxBytes, entries are removed oldest mtime first until it is at most 90% of
// maxBytes, so that the next walk is some writes away. Temporary files older
// than an hour (left by a killed process) are removed by the same walk. Other
// processes' writes are seen at the next walk: with N processes writing at
// once the directory can pass maxBytes by what they wrote since their last
// walk, never by more. Files that vanish during a walk (another process
// evicted them) are skipped. An entry larger than maxBytes is not kept.
package cache
