package main

import (
	"fmt"
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

// newDetectBar returns a bar of the images detect compares on w when w is a
// terminal or force is set; nil otherwise. Its length is set by Start.
func newDetectBar(w io.Writer, force bool) *detectBar {
	if !force && !isTerminal(w) {
		return nil
	}
	return &detectBar{progressbar.NewOptions(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("comparing images"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionClearOnFinish(),
	)}
}

func (b *detectBar) Start(images int) { b.bar.ChangeMax(images) }

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

// publishBar draws the images imgver publish is done with and the bytes of
// blobs in place; it is a flow.Progress.
type publishBar struct {
	bar   *progressbar.ProgressBar
	total int
	done  int
	bytes int64
}

var _ flow.Progress = (*publishBar)(nil)

// newPublishBar returns the progress of imgver publish drawn on w when w is a
// terminal or force is set (nil otherwise), and the function that removes
// the bar.
func newPublishBar(w io.Writer, force bool) (flow.Progress, func()) {
	if !force && !isTerminal(w) {
		return nil, func() {}
	}
	b := &publishBar{bar: progressbar.NewOptions(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("publishing"),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionClearOnFinish(),
	)}
	return b, func() { _ = b.bar.Finish() }
}

func (b *publishBar) Start(images int) { b.total = images; b.describe() }

func (b *publishBar) ImageDone(string) { b.done++; b.describe() }

func (b *publishBar) LayersRead(bytes int64) { b.bytes = bytes; b.describe() }

func (b *publishBar) describe() {
	b.bar.Describe(fmt.Sprintf("publishing: %d of %d images done, %s of blobs in place", b.done, b.total, byteSize(b.bytes)))
	_ = b.bar.Add(0)
}
