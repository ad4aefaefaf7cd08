// Package flow runs imgver's CI flow over a monorepo.
//
// Detect is what CI runs on a merge: for every image pinned automatically it
// compares the fresh build (the candidate) with the release it is pinned to
// (the baseline, <repository>:<version> in the registry) by the rules of
// internal/detect, tells the cause of a change where it can (config, base,
// app), runs the image checks of internal/preflight on every candidate it
// reads, looks up with internal/base whether a base image was rebuilt
// upstream under its tag, sums it all up, and, when asked to write, unpins
// the changed images in one locked write of the pin file, only if the file
// is still byte for byte what the run read.
//
// One run reads each thing once: an image once (its layers once, even when
// several images share them), a Dockerfile once and a base image's tag once
// (a base.Resolver per run, shared by the cause analysis and the staleness
// check), and at most Jobs layers at once across all images (one semaphore
// given to every detect.Comparer of the run).
//
// Past one runner, Detect compares one Shard of the images (chosen from
// each image's name by rendezvous hashing, so that adding images moves no
// other one) and its report says what Apply needs: the shard, its images,
// the sha256 of the pin file it read and of images.hcl, the options. Apply
// checks that the reports of all shards cover every image exactly once and
// come from one run, then sums them up and writes the pin file as one Detect
// with Write would (the same sumUp), so the merged report is that Detect's.
//
// UpdateBases is imgver base update: it pins the base images' digests in the
// Dockerfiles and, when asked, unpins the images whose base was stale, under
// the pin file's lock.
//
// Publish is what CI runs after detect --write: it pushes the fresh build of
// every image to publish under <repository>:<short SHA>, by manifest and
// blobs, after resolving every target (a tag already holding the candidate is
// skipped, one holding another image stops the run) and checking every
// candidate with internal/preflight, so that nothing is pushed when anything
// is wrong and a rerun finishes an interrupted publish.
//
// The flow decides; internal/release holds the pin policy it applies
// (states, unpinning, unknown variables), and the command renders.
package flow
