// Package imagebuild makes small container images from a list of files, for
// imgver's demo and its end-to-end tests: layers written with archive/tar,
// images assembled with go-containerregistry, written as OCI layouts or pushed
// to a registry. Nothing is extracted to disk.
package imagebuild
