// Package release applies the pinning policy of images.hcl to the pin file:
// the state of every image (pinned, manual, unpinned), pinning and unpinning
// by hand, pinning every unpinned image on a release, and the version each
// image deploys with.
//
// The version an image deploys with is resolved in this order, strongest
// first: an explicit <var>_VER in the environment (only when the caller asks
// for environment overrides), then the image's pin (automatic or manual), then
// the first sha_length characters of the commit SHA.
//
// Automation never touches a manual pin: Release adds pins only for unpinned
// images. A person may replace or remove any pin with Pin and Unpin.
package release
