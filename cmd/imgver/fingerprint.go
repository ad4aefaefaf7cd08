package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// fingerprintOptions are the flags of imgver fingerprint: those of diff.
type fingerprintOptions struct {
	diffFlags
}

func newFingerprintCmd(g *globalOptions) *cobra.Command {
	o := &fingerprintOptions{diffFlags{g: g}}
	cmd := &cobra.Command{
		Use:   "fingerprint REF",
		Short: "Print the digest of an image's normalised content",
		Long: `fingerprint prints a sha256 digest of the normalised file system and runtime
config of an image: two images have the same fingerprint exactly when
"imgver diff" with the same flags says SAME. See "imgver diff --help" for what
is normalised and ignored.`,
		Example: `  imgver fingerprint oci:out/api
  imgver fingerprint --platform linux/arm64 registry.example.test/api:v1.4.0`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd, args[0])
		},
	}
	o.bind(cmd)
	return cmd
}

func (o *fingerprintOptions) run(cmd *cobra.Command, ref string) error {
	c, done, err := o.comparer(cmd)
	if err != nil {
		return err
	}
	fp, err := c.Fingerprint(cmd.Context(), ref)
	done()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(cmd.OutOrStdout(), fp)
	return err
}
