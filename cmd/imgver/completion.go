package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newCompletionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "Print a shell completion script",
		Long: `Print the completion script of imgver for bash, zsh or fish (cobra's), to
be sourced by the shell.`,
		Example: `  source <(imgver completion bash)
  imgver completion zsh > "${fpath[1]}/_imgver"
  imgver completion fish > ~/.config/fish/completions/imgver.fish`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"bash", "zsh", "fish"},
		RunE: func(cmd *cobra.Command, args []string) error {
			w, root := cmd.OutOrStdout(), cmd.Root()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(w, true)
			case "zsh":
				return root.GenZshCompletion(w)
			case "fish":
				return root.GenFishCompletion(w, true)
			}
			return fmt.Errorf("unknown shell %q (want bash, zsh or fish)", args[0])
		},
	}
}
