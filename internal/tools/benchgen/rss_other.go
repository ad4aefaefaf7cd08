//go:build !unix

package main

import (
	"os"
	"time"
)

// maxRSSKiB is not known here.
func maxRSSKiB(*os.ProcessState) int64 { return -1 }

// selfCPU is not known here.
func selfCPU() time.Duration { return 0 }
