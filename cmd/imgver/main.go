// Command imgver manages the versions of the container images of a monorepo.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"
)

// memoryLimit is the soft memory limit imgver runs under unless GOMEMLIMIT
// says otherwise. Without one the garbage collector lets the heap grow to
// twice what is live; near the limit it collects sooner instead. In a
// detect of 50 images of 100 MB (scripts/bench.sh monorepo) that kept the
// peak RSS at 149 MiB instead of 221 MiB, for the same CPU time. It is
// soft: a run whose live data needs more gets more.
const memoryLimit = 160 << 20

// grace is how long a command has to return after SIGTERM or SIGINT before
// the process exits anyway: a system call no context reaches (open of a
// FIFO, a read of a hung file system) must not keep CI's timeout waiting.
// User files are replaced by rename, so an exit at any point leaves each
// one whole, old or new.
const grace = 2 * time.Second

func main() {
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(memoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go exitAfterGrace(ctx)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// exitAfterGrace ends the process with exitError when ctx is cancelled by a
// signal and the command has not returned grace later.
func exitAfterGrace(ctx context.Context) {
	<-ctx.Done()
	time.Sleep(grace)
	fmt.Fprintf(os.Stderr, "imgver: interrupted (%v) and still blocked %s later: exiting\n", context.Cause(ctx), grace)
	os.Exit(exitError)
}
