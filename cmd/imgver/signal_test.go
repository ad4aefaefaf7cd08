package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
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
func signalled(t *testing.T, dir string, env []string, sig syscall.Signal, ready func(pid int), args ...string) (result, time.Duration) {
	t.Helper()
	cmd := newBinaryCmd(t.Context(), t, dir, env, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	ready(cmd.Process.Pid)
	start := time.Now()
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signalling: %v (stderr %q)", err, cmd.stderr.String())
	}
	var err error
	select {
	case err = <-done:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		err = <-done
		t.Fatalf("imgver %s still running 5s after %v (killed: %v); stderr %q", strings.Join(args, " "), sig, err, cmd.stderr.String())
	}
	took := time.Since(start)
	return cmd.result(t, err), took
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

// waitBlockedInOpen waits until a thread of process pid sits in openat(2)
// (syscall 257 on amd64, 56 on arm64), as /proc/PID/task/TID/syscall tells.
func waitBlockedInOpen(t *testing.T, pid int) {
	t.Helper()
	nr, ok := map[string]string{"amd64": "257 ", "arm64": "56 "}[runtime.GOARCH]
	if !ok {
		t.Skipf("no openat syscall number for %s", runtime.GOARCH)
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		files, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/syscall", pid))
		for _, f := range files {
			if b, err := os.ReadFile(f); err == nil && strings.HasPrefix(string(b), nr) {
				return
			}
		}
	}
	t.Errorf("process %d never blocked in open", pid)
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
		env   []string
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
			// process exits anyway, grace after the signal. $GITHUB_OUTPUT
			// may be a FIFO or a device (/dev/stdout); the config and the
			// pin file may not (userfile refuses them unopened).
			name: "GITHUB_OUTPUT that is a FIFO", sig: syscall.SIGTERM,
			setup: func(t *testing.T, dir string) func(int) {
				fifo := filepath.Join(dir, "fifo.out")
				if err := unix.Mkfifo(fifo, 0o644); err != nil {
					t.Fatal(err)
				}
				// Nobody reads it: imgver's open for writing blocks.
				return func(pid int) { waitBlockedInOpen(t, pid) }
			},
			env:  []string{"GITHUB_OUTPUT=fifo.out"},
			args: []string{"vars", "--commit", "abcdef0", "--format", "github"},
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
			r, took := signalled(t, dir, tc.env, tc.sig, ready, tc.args...)
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
