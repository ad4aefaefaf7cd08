// Package release applies the pinning policy of images.hcl to the pin file:
// the state of every image (pinned, manual, unpinned), pinning and unpinning
// by hand, pinning every unpinned image on a release (and tagging it in the
// registry, ReleaseRetag), and the version each image deploys with. It knows
// nothing of comparing or checking images: the CI flow (internal/flow)
// decides what to unpin and applies it here.
//
// The version an image deploys with is resolved in this order, strongest
// first: an explicit <var>_VER in the environment (only when the caller asks
// for environment overrides), then the image's pin (automatic or manual), then
// the first sha_length characters of the commit SHA.
//
// Automation never touches a manual pin: Release adds pins only for unpinned
// images. A person may replace or remove any pin with Pin and Unpin.
//
// A <VAR>_VER assignment that no image of the config owns (VRO's own
// CURRENT_RELEASE_VER, say) is never a reason to refuse the pin file:
// UnknownVars lists them for a warning, and every write keeps their lines
// byte for byte.
//
// Writes take the pin file's lock. UnpinIfUnchanged writes only when the file
// is still byte for byte what the caller read, so that a run that decided on
// one file never writes over another (a *PinFileChangedError: run again).
package release
