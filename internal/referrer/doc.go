// Package referrer stores bytes in a registry as an OCI 1.1 artifact that
// refers to an image manifest (its subject), and finds them again.
//
// An artifact is one image manifest (application/vnd.oci.image.manifest.v1+json)
// with an artifactType, the empty config (application/vnd.oci.empty.v1+json,
// the two bytes "{}"), one layer blob holding the bytes, the caller's
// annotations and a subject: the descriptor of the manifest it describes.
// Nothing in it depends on the time or the machine, so the same bytes
// attached to the same subject give the same artifact digest: attaching them
// again changes nothing in the registry.
//
// A registry with the referrers API (GET /v2/<name>/referrers/<digest>)
// lists the artifacts of a subject itself. Others, such as distribution 2.8,
// get the referrers tag schema of the OCI distribution spec: an image index
// tagged sha256-<hex of the subject's digest> in the same repository, which
// lists them and which go-containerregistry's remote.Put keeps up to date.
// That index is read, changed and written back, with no way to make the
// write conditional: two processes attaching different artifacts to one
// subject at the same moment may each write back an index without the
// other's. So Attach does not trust its put: it waits about as long as the
// put took (long enough for a writer that read the index before the put to
// write it back), reads the list and, when the artifact is missing, puts it
// again, waiting twice as long (jittered) each time, at most MaxPuts times.
// It also puts again when the registry refused the manifest for a blob it
// did not know: distribution 2.8 does not write a blob's link atomically,
// so while another process uploads the same blob (the empty config every
// artifact shares) it can briefly not find it. If the list still lacks the
// artifact after MaxPuts puts, the error wraps ErrNotListed: the artifact
// is in the registry, unlisted, and the next Attach puts it again. What
// remains is a writer whose read-modify-write of the index outlasts that
// wait (one stalled for longer than a whole put): it can still drop an
// artifact after Attach has seen it listed. A registry with the referrers
// API keeps the list itself and has none of this.
//
// An artifact is exactly as trustworthy as the registry and the repository
// that hold it: whoever may push to the repository may attach anything to
// any of its manifests. Fetch checks what can be checked (the artifact names
// the subject asked for, has one blob of bounded size whose digest is what
// the manifest says); what the bytes mean is for the caller to check.
package referrer
