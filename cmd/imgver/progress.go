package main

import (
	"io"

	"github.com/schollz/progressbar/v3"

	"github.com/imgver/imgver/internal/detect"
	"github.com/imgver/imgver/internal/flow"
)

// detectBar draws the images compared by imgver detect and the bytes of
// layers read; it is a flow.Progress.
type detectBar struct {
	bar *progressbar.ProgressBar
}

var _ flow.Progress = (*detectBar)(nil)

// newDetectBar returns a bar of n images on w when w is a terminal or force
// is set; nil otherwise.
func newDetectBar(w io.Writer, force bool, n int) *detectBar {
	if !force && !isTerminal(w) {
		return nil
	}
	return &detectBar{progressbar.NewOptions(n,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("comparing images"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionClearOnFinish(),
	)}
}

func (b *detectBar) ImageDone(string) { _ = b.bar.Add(1) }

func (b *detectBar) LayersRead(bytes int64) {
	b.bar.Describe("comparing images, " + byteSize(bytes) + " of layers read")
}

// finish removes the bar; b may be nil.
func (b *detectBar) finish() {
	if b != nil {
		_ = b.bar.Finish()
	}
}

// layersBar returns the detect option that draws the layers read by diff
// and fingerprint on w when it is a terminal, and the function that removes
// the bar.
func layersBar(w io.Writer) ([]detect.Option, func()) {
	if !isTerminal(w) {
		return nil, func() {}
	}
	var bar *progressbar.ProgressBar
	opt := detect.WithProgress(func(p detect.Progress) {
		if bar == nil {
			bar = progressbar.NewOptions(p.Total, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription("reading layers"),
				progressbar.OptionShowCount(), progressbar.OptionClearOnFinish())
		}
		bar.ChangeMax(p.Total)
		_ = bar.Set(p.Done)
	})
	return []detect.Option{opt}, func() {
		if bar != nil {
			_ = bar.Finish()
		}
	}
}
