// Package flow runs imgver's CI flow over a monorepo.
//
// Publish is what CI runs after detect --write: it pushes the fresh build of
// every image to publish under <repository>:<short SHA>, by manifest and
// blobs, after resolving every target (a tag already holding the candidate is
// skipped, one holding another image stops the run) and checking every
// candidate, so that nothing is pushed when anything is wrong and a rerun
// finishes an interrupted publish.
package flow
