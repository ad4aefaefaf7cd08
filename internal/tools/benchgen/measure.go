package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// measurement is what measure saw of one run of a command.
type measurement struct {
	wall      time.Duration
	user, sys time.Duration
	maxRSSKiB int64 // peak resident set of the command (and its waited-for children)
	exitCode  int   // 128+n when killed by signal n, as a shell reports it
}

// measure runs name with args, its standard streams those of benchgen, and
// reports its wall time and peak RSS. An error means it could not be run;
// a non-zero exit is not an error.
func measure(ctx context.Context, name string, args ...string) (measurement, error) {
	var m measurement
	cmd := exec.CommandContext(ctx, name, args...) //nolint:gosec // G204: runs the commands benchgen's own user asked to measure
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	start := time.Now()
	err := cmd.Run()
	m.wall = time.Since(start)
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return m, err
	}
	ps := cmd.ProcessState
	m.user, m.sys = ps.UserTime(), ps.SystemTime()
	m.maxRSSKiB = maxRSSKiB(ps)
	m.exitCode = ps.ExitCode()
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		m.exitCode = 128 + int(ws.Signal())
	}
	return m, nil
}
