package base

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imgver/imgver/internal/detect"
)

// DefaultPlatform is the platform an image is built for when neither its FROM
// nor WithPlatform says otherwise.
const DefaultPlatform = "linux/amd64"

// Puller represents the subset of a ggcr remote.Puller that this package
// uses.
type Puller interface {
	Get(ctx context.Context, ref name.Reference) (*remote.Descriptor, error)
}

var _ Puller = (*remote.Puller)(nil)

// Option configures a Resolver.
type Option func(*options) error

type options struct {
	platform v1.Platform
	puller   Puller
	jobs     int // registry requests at once
}

// WithPlatform sets the platform images are built for (os/arch[/variant]),
// used for a FROM without --platform. The default is DefaultPlatform.
func WithPlatform(p string) Option {
	return func(o *options) error {
		pl, err := detect.ParsePlatform(p)
		if err != nil {
			return err
		}
		o.platform = *pl
		return nil
	}
}

// WithPuller sets how manifests are fetched. The default is a remote.Puller
// that authenticates with authn.DefaultKeychain.
func WithPuller(p Puller) Option {
	return func(o *options) error {
		if p == nil {
			return errors.New("nil puller")
		}
		o.puller = p
		return nil
	}
}

func makeOptions(opts []Option) (*options, error) {
	o := &options{platform: v1.Platform{OS: "linux", Architecture: "amd64"}, jobs: 4}
	for _, opt := range opts {
		if err := opt(o); err != nil {
			return nil, err
		}
	}
	if o.puller == nil {
		p, err := remote.NewPuller(remote.WithAuthFromKeychain(authn.DefaultKeychain), remote.WithUserAgent("imgver"))
		if err != nil {
			return nil, fmt.Errorf("making registry client: %w", err)
		}
		o.puller = p
	}
	return o, nil
}
