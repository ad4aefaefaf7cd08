package base

import (
	"context"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// failPuller fails the test on any registry call.
type failPuller struct{ t *testing.T }

func (p failPuller) Get(_ context.Context, ref name.Reference) (*remote.Descriptor, error) {
	p.t.Errorf("unexpected registry call for %s", ref)
	return nil, context.Canceled
}
