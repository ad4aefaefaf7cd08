package cache

import (
	"bytes"
	"testing"
)

// encode makes the file of an entry, as Put writes it.
func encode(key string, payload []byte) []byte {
	return append(header(key, payload), payload...)
}

// FuzzDecode: any file content under any key either decodes to a payload
// that encodes back to exactly that content, or is refused; never a panic.
func FuzzDecode(f *testing.F) {
	f.Add(encode("key", []byte("payload")), "key")
	f.Add(encode("", nil), "")
	f.Add(encode("k", []byte("v")), "other")
	f.Add([]byte(magic), "k")
	f.Fuzz(func(t *testing.T, b []byte, key string) {
		payload, ok := decode(b, key)
		if ok && !bytes.Equal(encode(key, payload), b) {
			t.Fatalf("decoded %d bytes that do not encode back", len(payload))
		}
	})
}
