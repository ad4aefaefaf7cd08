// Command demo makes the images of imgver's bundled demo monorepo, so that
// `imgver detect` and `imgver release --retag` can be run against a local
// registry on a machine with only Go.
//
//	go run ./internal/tools/demo -registry localhost:5000 -out demo/build
//
// It pushes the base images the demo Dockerfiles name (a local mirror under
// <registry>/library/) and the published releases of every image, then
// writes the fresh builds of this commit as OCI layouts under -out. The fresh
// builds are rebuilds: new timestamps, another gzip level, new apt lists,
// logs, pip caches, jar entry times and .pyc headers. Only two differ for
// real: postgres gained a migration, api-gateway changed its config.
package main
