// Command imgver manages the versions of the container images of a monorepo.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// grace is how long a command has to return after SIGTERM or SIGINT before
// the process exits anyway: a system call no context reaches (open of a
// FIFO, a read of a hung file system) must not keep CI's timeout waiting.
// User files are replaced by rename, so an exit at any point leaves each
// one whole, old or new.
const grace = 2 * time.Second

func main() {
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
