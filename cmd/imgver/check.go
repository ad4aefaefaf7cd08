package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/imgver/imgver/internal/detect"
	"github.com/imgver/imgver/internal/preflight"
)

// checkOptions are the flags of imgver check.
type checkOptions struct {
	format      *choiceFlag
	platform    string
	maxFileSize int64
}

func newCheckCmd(_ *globalOptions) *cobra.Command {
	o := &checkOptions{}
	cmd := &cobra.Command{
		Use:   "check REF",
		Short: "Check that a built image can start, before it is pushed",
		Long: `Check a built image before it is pushed, reading its file system once:

  entrypoint      the Entrypoint/Cmd executable exists (PATH from the image's Env
                  for a bare name, symlinks followed inside the image), is a
                  regular file with an exec bit for the image's User (root: any),
                  in directories that user can search,
                  a #! script or an ELF binary of the image's architecture
  interpreter     a #! script's interpreter exists and is executable
  workdir         WorkingDir is a directory, or missing (the runtime creates it)
  user            User is in /etc/passwd or numeric (its group in /etc/group)
  world-writable  no world-writable file outside /tmp, /var/tmp and /dev, unless
                  a directory with the sticky bit (symlinks and devices aside)
  size            no file over --max-file-size (off by default)

REF uses skopeo's syntax: oci:DIR[:TAG], docker-archive:FILE,
docker-daemon:NAME:TAG, docker://REF or a bare registry reference.

Exit codes: 0 ok, 1 a problem found (each with the path and why), 2 error.`,
		Example: `  imgver check oci:build/api-gateway
  imgver check docker-archive:gateway.tar --format json
  imgver check localhost:5000/acme/console:ed0e844 --max-file-size 104857600`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, args[0]) },
	}
	o.format = formatVar(cmd, "text", "json")
	cmd.Flags().StringVar(&o.platform, "platform", "", "check only this platform of a multi-platform image (os/arch[/variant])")
	cmd.Flags().Int64Var(&o.maxFileSize, "max-file-size", 0, "report files larger than this many bytes (0: off)")
	return cmd
}

func (o *checkOptions) run(cmd *cobra.Command, ref string) error {
	if o.maxFileSize < 0 {
		return fmt.Errorf("--max-file-size must not be negative")
	}
	opts := []detect.Option{detect.WithRemoteOptions(remoteOptions(cmd.Context())...)}
	if o.platform != "" {
		opts = append(opts, detect.WithPlatform(o.platform))
	}
	c, err := detect.New(opts...)
	if err != nil {
		return err
	}
	reports, err := preflight.Run(cmd.Context(), c, ref, preflight.Options{MaxFileSize: o.maxFileSize})
	if err != nil {
		return err
	}
	if err := renderCheck(cmd.OutOrStdout(), reports, o.format.value); err != nil {
		return err
	}
	for _, r := range reports {
		if !r.OK {
			return withCode(exitChanged, nil)
		}
	}
	return nil
}
