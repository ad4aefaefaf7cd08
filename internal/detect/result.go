package detect

import "github.com/imgver/imgver/internal/packages"

// SchemaVersion is the version of the JSON form of Result. It changes only
// when a field is removed or changes meaning; new fields may appear.
const SchemaVersion = 1

// Verdict says whether two images are the same.
type Verdict string

// Verdicts.
const (
	Same    Verdict = "same"
	Changed Verdict = "changed"
)

// Result is the outcome of Diff. Its JSON form is stable (SchemaVersion).
type Result struct {
	SchemaVersion int `json:"schema_version"`
	// A and B are the references compared, as given.
	A string `json:"a"`
	B string `json:"b"`
	// Verdict is Same or Changed; Changed exactly when a platform's
	// normalised file system or runtime config differs, a platform is on
	// one side only, or (WithHistory) the history differs.
	Verdict Verdict `json:"verdict"`
	// Platforms in order of their key.
	Platforms []*PlatformResult `json:"platforms"`
	// Packages (WithPackages) lists the package changes of all platforms,
	// each once, by ecosystem and name; empty, not absent, when no package
	// differs. It explains the verdict and never decides it.
	Packages []packages.Change `json:"packages,omitzero"`
}

// Changed reports whether the verdict is Changed.
func (r *Result) Changed() bool { return r.Verdict == Changed }

// PlatformResult compares the images of one platform.
type PlatformResult struct {
	// Platform is "os/arch[/variant]".
	Platform string  `json:"platform"`
	Verdict  Verdict `json:"verdict"`
	// OnlyIn is "a" or "b" when the platform is on one side only.
	OnlyIn string `json:"only_in,omitempty"`
	// DigestA and DigestB are the manifest digests, when known.
	DigestA string `json:"digest_a,omitempty"`
	DigestB string `json:"digest_b,omitempty"`
	// SourceA and SourceB say where the layers of each side came from:
	// SourceSummary (the image's summary in the registry, WithSummaries),
	// SourceCache (the local cache, WithLayerCache), SourceLayers (at least
	// one layer blob read), SourceNone (nothing needed: a shortcut, or
	// layers read for the other side). Empty for a side that is absent.
	SourceA string `json:"source_a,omitempty"`
	SourceB string `json:"source_b,omitempty"`
	// Warnings say why a summary of either side was not used; the layers
	// were read instead.
	Warnings []string `json:"warnings,omitempty"`
	// Shortcut names the cheap answer used, if any: "manifest-digest"
	// (equal manifests) or "diff-ids" (equal layers and config): no layer
	// was read; "shared-base": the layers above a shared base do the same
	// on both sides (noise aside), so the base layers were not read.
	Shortcut string `json:"shortcut,omitempty"`
	// Added, Removed and Modified list changed paths, by path.
	Added    []*FileChange `json:"added,omitempty"`
	Removed  []*FileChange `json:"removed,omitempty"`
	Modified []*FileChange `json:"modified,omitempty"`
	// Config lists changed runtime config fields.
	Config []*FieldChange `json:"config,omitempty"`
	// History lists changed history created_by lines; they make a change
	// only WithHistory (HistoryCounts).
	History       []*HistoryChange `json:"history,omitempty"`
	HistoryCounts bool             `json:"history_counts,omitempty"`
	// Ignored summarises differences left out as noise.
	Ignored IgnoredSummary `json:"ignored"`
	// Packages (WithPackages) lists the packages that differ. A shortcut
	// lists none: equal layers, or layers above a shared base that leave
	// the same files, hold the same package databases.
	Packages []packages.Change `json:"packages,omitempty"`
}

// FileChange is one added, removed or modified path.
type FileChange struct {
	Path string `json:"path"`
	// A and B are the entry on each side (nil where absent).
	A *Entry `json:"a,omitempty"`
	B *Entry `json:"b,omitempty"`
	// Changes lists the attributes that differ, for a modified path.
	Changes []*FieldChange `json:"changes,omitempty"`
	// LayerA and LayerB are the indexes of the layer that last wrote the
	// path (or removed it with a whiteout) in A and B; -1 for none.
	LayerA int `json:"layer_a"`
	LayerB int `json:"layer_b"`
	// Diff is a unified diff for a modified text file of at most
	// MaxTextDiffSize bytes on both sides.
	Diff string `json:"diff,omitempty"`
}

// FieldChange is one attribute or config field that differs. Values are
// rendered as text: modes in octal, lists and objects as JSON; "" means
// absent.
type FieldChange struct {
	Field string `json:"field"`
	A     string `json:"a"`
	B     string `json:"b"`
}

// HistoryChange is a history entry whose created_by differs.
type HistoryChange struct {
	Index int    `json:"index"`
	A     string `json:"a"`
	B     string `json:"b"`
}

// IgnoredSummary counts the differing paths left out as noise.
type IgnoredSummary struct {
	Paths int `json:"paths"`
	// Rules maps rule names to how many differing paths each left out.
	Rules map[string]int `json:"rules,omitempty"`
	// Labels lists ignored labels whose values differ.
	Labels []string `json:"labels,omitempty"`
}
