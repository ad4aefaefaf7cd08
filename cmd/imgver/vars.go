package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/imgver/imgver/internal/config"
	"github.com/imgver/imgver/internal/release"
)

// varsOptions are the flags of imgver vars.
type varsOptions struct {
	commit       commitFlag
	format       *choiceFlag
	envOverrides bool
}

func newVarsCmd(g *globalOptions) *cobra.Command {
	o := &varsOptions{}
	cmd := &cobra.Command{
		Use:   "vars",
		Short: "Print the version every image deploys with",
		Long: `Print the version every image deploys with: its pin if it is pinned, else
the first sha_length characters of the commit SHA (default: git rev-parse HEAD
in the directory of images.hcl).

Resolution order, strongest first: an explicit <var>_VER in the environment
(only with --env-overrides), the pin (automatic or manual), the commit SHA.

Formats: shell prints export lines that bash can source; json prints an array
of {name, variable, version, source}; github appends variable=version lines to
the file named by $GITHUB_OUTPUT (and prints them when it is unset); dotenv
prints variable=version lines for GitLab's artifacts:reports:dotenv.`,
		Example: `  source <(imgver vars)
  imgver vars --commit "$GITHUB_SHA" --format github
  apigateway_VER=v3.3.9 imgver vars --env-overrides
  imgver vars --format dotenv > vars.env   # GitLab: artifacts:reports:dotenv: vars.env`,
		Args: cobra.NoArgs,
		RunE: g.onConfig(nil, o.run),
	}
	o.commit.bind(cmd, "commit SHA (default: git rev-parse HEAD)")
	o.format = formatVar(cmd, "shell", "json", "github", "dotenv")
	cmd.Flags().BoolVar(&o.envOverrides, "env-overrides", false, "let an environment variable <var>_VER override the pin and the SHA")
	return cmd
}

func (o *varsOptions) run(cmd *cobra.Command, cfg *config.Config, _ []string) error {
	f, err := release.Load(cfg)
	if err != nil {
		return err
	}
	warnUnknownVars(cmd.ErrOrStderr(), f)
	sha, err := o.commit.resolve(cmd.Context(), cfg)
	if err != nil {
		return err
	}
	var env func(string) (string, bool)
	if o.envOverrides {
		env = os.LookupEnv
	}
	vars, err := release.Resolve(cfg, f, sha, env)
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	switch o.format.value {
	case "json":
		return writeJSON(w, vars)
	case "dotenv":
		var dv []dotenvVar
		for _, v := range vars {
			dv = append(dv, dotenvVar{v.Variable, v.Version})
		}
		return writeDotenv(w, dv)
	case "github":
		return writeGitHubOutput(w, func(w io.Writer) {
			for _, v := range vars {
				fmt.Fprintf(w, "%s=%s\n", v.Variable, v.Version)
			}
		})
	}
	for _, v := range vars {
		fmt.Fprintf(w, "export %s=%q\n", v.Variable, v.Version)
	}
	return nil
}
