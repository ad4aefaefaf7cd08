package base

import (
	"context"
	"slices"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// failPuller fails the test on any registry call.
type failPuller struct{ t *testing.T }

func (p failPuller) Get(_ context.Context, ref name.Reference) (*remote.Descriptor, error) {
	p.t.Errorf("unexpected registry call for %s", ref)
	return nil, context.Canceled
}
