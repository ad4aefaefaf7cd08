// Package imagetest builds the images tests need and ends the test when it
// cannot: seeded random images with a fixed creation time, indexes of one
// image per platform, layers from tar headers, and images of
// package imagebuild written as OCI layouts. It is the one place tests
// assemble images by hand; the files of an image are described with
// package imagebuild.
package imagetest
