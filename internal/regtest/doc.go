// Package regtest gives tests an in-process registry (go-containerregistry's
// pkg/registry behind httptest, on 127.0.0.1, with the registry's options and
// a handler of the test's in front: a fault injector, a request counter) and
// pushes, tags and looks up images in it; and the address of the real
// registry of the end-to-end tests.
package regtest
