// Package configtest writes the monorepo a test runs imgver on (images.hcl,
// the pin file, Dockerfiles) and loads its config.
package configtest
