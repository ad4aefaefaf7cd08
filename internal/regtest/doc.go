// Package regtest gives tests an in-process registry (go-containerregistry's
// pkg/registry behind httptest, on 127.0.0.1) and pushes, tags and looks up
// images in it.
package regtest
