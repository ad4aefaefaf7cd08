package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// silentRegistry listens on 127.0.0.1, accepts connections and never
// answers. accepted gets a value per connection.
func silentRegistry(t *testing.T) (host string, accepted <-chan struct{}) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan struct{}, 100)
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		l.Close()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String(), ch
}

// signalled runs the binary in dir, waits for ready, sends sig and returns
// how the process ended. A process still running 5 s after the signal is
// killed and fails the test: the hang guard.
func signalled(t *testing.T, dir string, sig syscall.Signal, ready func(pid int), args ...string) (result, time.Duration) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Dir = dir
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	ready(cmd.Process.Pid)
	start := time.Now()
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signalling: %v (stderr %q)", err, stderr.String())
	}
	var err error
	select {
	case err = <-done:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		err = <-done
		t.Fatalf("imgver %s still running 5s after %v (killed: %v); stderr %q", strings.Join(args, " "), sig, err, stderr.String())
	}
	took := time.Since(start)
	return result{stdout.String(), stderr.String(), exitCode(t, err)}, took
}

// exitCode is the exit code of a process that ended with err (from Wait).
func exitCode(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return 0
}

// waitOpened waits until process pid has path open (by /proc/PID/fd).
func waitOpened(t *testing.T, pid int, path string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
		for _, fd := range fds {
			if l, err := os.Readlink(fd); err == nil && l == path {
				return
			}
		}
	}
	t.Errorf("process %d never opened %s", pid, path)
}

// holdWriteEnd opens the FIFO at path for writing once a reader has it open
// and keeps it open until the test ends.
func holdWriteEnd(t *testing.T, path string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		fd, err := unix.Open(path, unix.O_WRONLY|unix.O_NONBLOCK, 0)
		if err == nil {
			t.Cleanup(func() { unix.Close(fd) })
			time.Sleep(100 * time.Millisecond) // into read(2)
			return
		}
	}
	t.Errorf("nobody opened %s", path)
}

// TestSignal: SIGTERM and SIGINT end a command promptly whatever it waits
// on, exit 2 with one line, and leave the pin file as it was.
func TestSignal(t *testing.T) {
	t.Parallel()
	host, accepted := silentRegistry(t)
	waitRegistry := func(int) {
		select {
		case <-accepted:
		case <-time.After(30 * time.Second):
			t.Error("imgver never reached the registry")
		}
	}
	tests := []struct {
		name  string
		sig   syscall.Signal
		setup func(t *testing.T, dir string) (ready func(pid int))
		args  []string
		want  string
	}{
		{
			// An unpinned image: detect checks its candidate and looks
			// up its base in a registry that never answers. Before, it
			// turned the cancelled base lookup into a warning and said
			// "publish" with exit 0.
			name: "detect, registry silent", sig: syscall.SIGTERM,
			setup: func(*testing.T, string) func(int) { return waitRegistry },
			args:  []string{"detect", "--commit", "abcdef0", "--write", "--no-check"},
			want:  "imgver: interrupted: terminated signal received\n",
		},
		{
			name: "base check, registry silent", sig: syscall.SIGINT,
			setup: func(*testing.T, string) func(int) { return waitRegistry },
			args:  []string{"base", "check"},
			want:  "imgver: interrupted: interrupt signal received\n",
		},
		{
			name: "pin, lock held", sig: syscall.SIGTERM,
			setup: func(t *testing.T, dir string) func(int) {
				scripts := filepath.Join(dir, "scripts")
				d, err := os.Open(scripts)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { d.Close() })
				if err := unix.Flock(int(d.Fd()), unix.LOCK_EX); err != nil {
					t.Fatal(err)
				}
				return func(pid int) { waitOpened(t, pid, scripts) }
			},
			args: []string{"pin", "a", "v2.0.0"},
			want: "imgver: interrupted: terminated signal received\n",
		},
		{
			// open(2) of a FIFO blocks where no context reaches: the
			// process exits anyway, grace after the signal.
			name: "config that is a FIFO", sig: syscall.SIGTERM,
			setup: func(t *testing.T, dir string) func(int) {
				fifo := filepath.Join(dir, "fifo.hcl")
				if err := unix.Mkfifo(fifo, 0o644); err != nil {
					t.Fatal(err)
				}
				// Once imgver opens it, hold the write end open without
				// writing: its read blocks.
				return func(int) { holdWriteEnd(t, fifo) }
			},
			args: []string{"--config", "fifo.hcl", "list"},
			want: "imgver: interrupted (terminated signal received) and still blocked 2s later: exiting\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "images.hcl"), fmt.Sprintf(`registry = "%[1]s/acme"
image "a" {
  dockerfile = "Dockerfile"
  candidate  = "%[1]s/acme/a:{sha}"
}
`, host))
			writeFile(t, filepath.Join(dir, "Dockerfile"), "FROM "+host+"/library/base:1.2.3\n")
			if err := os.Mkdir(filepath.Join(dir, "scripts"), 0o755); err != nil {
				t.Fatal(err)
			}
			pins := "#!/bin/bash\n# keep\n"
			pinFile := filepath.Join(dir, "scripts", "image_versions.src")
			writeFile(t, pinFile, pins)
			ready := tc.setup(t, dir)
			r, took := signalled(t, dir, tc.sig, ready, tc.args...)
			t.Logf("exit %d %s after %v", r.code, strings.TrimSpace(r.stderr), took)
			if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 and %q", r.code, r.stderr, tc.want)
			}
			if got := readString(t, pinFile); got != pins {
				t.Errorf("pin file changed:\n%s", got)
			}
		})
	}
}
