package detect

import (
	"encoding/json"
	"path"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// Config is the normalised runtime configuration of an image: what a
// container started from it gets. Build metadata (created, history dates,
// docker_version, container, hostname) is not in it.
type Config struct {
	OS           string            `json:"os"`
	Architecture string            `json:"architecture"`
	Variant      string            `json:"variant,omitempty"`
	OSVersion    string            `json:"os_version,omitempty"`
	User         string            `json:"user,omitempty"`
	WorkingDir   string            `json:"working_dir,omitempty"`
	Env          []string          `json:"env,omitempty"`
	Entrypoint   []string          `json:"entrypoint,omitempty"`
	Cmd          []string          `json:"cmd,omitempty"`
	Shell        []string          `json:"shell,omitempty"`
	OnBuild      []string          `json:"on_build,omitempty"`
	ExposedPorts []string          `json:"exposed_ports,omitempty"`
	Volumes      []string          `json:"volumes,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"`
	StopSignal   string            `json:"stop_signal,omitempty"`
	Healthcheck  *v1.HealthConfig  `json:"healthcheck,omitempty"`
	// IgnoredLabels are the labels left out, with their values.
	IgnoredLabels map[string]string `json:"ignored_labels,omitempty"`
}

// normaliseConfig builds the Config of cf; labels in ignored are moved to
// IgnoredLabels.
func normaliseConfig(cf *v1.ConfigFile, ignored map[string]bool) Config {
	c := cf.Config
	n := Config{
		OS:           cf.OS,
		Architecture: cf.Architecture,
		Variant:      normaliseVariant(cf.Architecture, cf.Variant),
		OSVersion:    cf.OSVersion,
		User:         c.User,
		WorkingDir:   c.WorkingDir,
		Env:          c.Env,
		Entrypoint:   c.Entrypoint,
		Cmd:          c.Cmd,
		Shell:        c.Shell,
		OnBuild:      c.OnBuild,
		StopSignal:   c.StopSignal,
		Healthcheck:  c.Healthcheck,
	}
	if n.WorkingDir != "" {
		n.WorkingDir = path.Clean(n.WorkingDir)
	}
	for p := range c.ExposedPorts {
		if !strings.Contains(p, "/") {
			p += "/tcp"
		}
		n.ExposedPorts = append(n.ExposedPorts, p)
	}
	sort.Strings(n.ExposedPorts)
	for v := range c.Volumes {
		n.Volumes = append(n.Volumes, path.Clean(v))
	}
	sort.Strings(n.Volumes)
	n.Labels = c.Labels
	return splitLabels(n, ignored)
}

// splitLabels returns n with its labels (Labels and IgnoredLabels) split
// anew: those in ignored go to IgnoredLabels.
func splitLabels(n Config, ignored map[string]bool) Config {
	all := []map[string]string{n.Labels, n.IgnoredLabels}
	n.Labels, n.IgnoredLabels = nil, nil
	for _, m := range all {
		for k, v := range m {
			if ignored[k] {
				if n.IgnoredLabels == nil {
					n.IgnoredLabels = map[string]string{}
				}
				n.IgnoredLabels[k] = v
				continue
			}
			if n.Labels == nil {
				n.Labels = map[string]string{}
			}
			n.Labels[k] = v
		}
	}
	return n
}

// normaliseVariant drops the variant an architecture has by default.
func normaliseVariant(arch, variant string) string {
	if arch == "arm64" && variant == "v8" {
		return ""
	}
	return variant
}

// platformKey is "os/arch[/variant]".
func platformKey(os, arch, variant string) string {
	k := os + "/" + arch
	if v := normaliseVariant(arch, variant); v != "" {
		k += "/" + v
	}
	return k
}

// fields returns the compared fields of c as canonical JSON strings, one
// per field and one per label ("labels.KEY"); empty fields are left out.
// Diff and Fingerprint both use it, so they agree.
func (c *Config) fields() map[string]string {
	m := map[string]string{}
	set := func(name string, v any) {
		b, _ := json.Marshal(v)
		s := string(b)
		if s == `""` || s == "null" || s == "[]" {
			return
		}
		m[name] = s
	}
	set("os", c.OS)
	set("architecture", c.Architecture)
	set("variant", c.Variant)
	set("os_version", c.OSVersion)
	set("user", c.User)
	set("working_dir", c.WorkingDir)
	set("env", c.Env)
	set("entrypoint", c.Entrypoint)
	set("cmd", c.Cmd)
	set("shell", c.Shell)
	set("on_build", c.OnBuild)
	set("exposed_ports", c.ExposedPorts)
	set("volumes", c.Volumes)
	set("stop_signal", c.StopSignal)
	set("healthcheck", c.Healthcheck)
	for k, v := range c.Labels {
		set("labels."+k, v)
		if v == "" {
			m["labels."+k] = `""`
		}
	}
	return m
}

// createdBy returns the created_by line of every history entry.
func createdBy(cf *v1.ConfigFile) []string {
	out := make([]string, len(cf.History))
	for i, h := range cf.History {
		out[i] = h.CreatedBy
	}
	return out
}
