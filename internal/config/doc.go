// Package config loads images.hcl, the file that lists the images of a
// monorepo and where their versions are kept.
//
// The file is HCL native syntax:
//
//	pin_file        = "scripts/image_versions.src"             # default
//	registry        = "ghcr.io/acme/monorepo"                  # repository prefix
//	sha_length      = 7                                         # default
//	release_pattern = "^(v|release-)[0-9]+\\.[0-9]+\\.[0-9]+$"  # default
//	ignore          = ["/opt/app/build-info.txt"]              # global noise globs (detect)
//	ignore_labels   = ["com.example.build-id"]                 # labels that never make a change
//
//	image "api-gateway" {
//	  var        = "apigateway"
//	  repository = "ghcr.io/acme/vro-api-gateway"
//	  dockerfile = "api-gateway/Dockerfile"
//	  context    = "api-gateway"
//	  candidate  = "oci:build/{name}"
//	  ignore     = ["/srv/gateway/*.log"]
//	}
//
// Every problem in the file is reported as an hcl.Diagnostic with the range it
// concerns, all of them in one run; Load returns them as a *DiagnosticsError.
//
// An image name is letters, digits, '.', '_', '-' and '/', starting with a
// letter or digit: names are command arguments and items of the comma lists
// imgver appends to $GITHUB_OUTPUT, where a comma or a newline would break them.
//
// Paths (pin_file, dockerfile, context) are relative to the directory holding
// images.hcl and are returned as absolute paths. The var of an image defaults
// to its name with every character outside [A-Za-z0-9_] replaced by "_"; its
// shell variable is var + "_VER". Two images may not share a var, and a var must
// be a valid shell identifier.
package config
