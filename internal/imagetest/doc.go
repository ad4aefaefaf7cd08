// Package imagetest builds the images tests need and ends the test when it
// cannot: seeded random images with a fixed creation time, indexes of one
// image per platform, layers from tar headers, images of package
// imagebuild, OCI layouts of an image or an index, and the digests tests
// compare. It is the one place tests assemble images by hand; the files of
// an image are described with package imagebuild.
package imagetest
