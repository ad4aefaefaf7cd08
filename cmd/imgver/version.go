package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print imgver's version and the commit it was built from",
		Long: `Print the module version imgver was built as (a release tag with
go install ...@vX.Y.Z, "(devel)" for a build from a checkout) and, for a build
from a checkout, the VCS commit, its time, and whether the tree was modified.`,
		Example: `  imgver version`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			bi, ok := debug.ReadBuildInfo()
			if !ok {
				return fmt.Errorf("reading build info: the binary has none")
			}
			fmt.Fprintln(cmd.OutOrStdout(), versionLine(bi))
			return nil
		},
	}
}

// versionLine renders the build info: "imgver v1.2.3 (go1.25.0)", plus
// "commit abc… 2026-11-30T05:00:00Z (modified)" when the VCS settings are
// there.
func versionLine(bi *debug.BuildInfo) string {
	s := "imgver " + bi.Main.Version
	vcs := map[string]string{}
	for _, kv := range bi.Settings {
		vcs[kv.Key] = kv.Value
	}
	if rev := vcs["vcs.revision"]; rev != "" {
		s += ", commit " + rev
		if t := vcs["vcs.time"]; t != "" {
			s += " " + t
		}
		if vcs["vcs.modified"] == "true" {
			s += " (modified)"
		}
	}
	return s + ", " + bi.GoVersion
}
