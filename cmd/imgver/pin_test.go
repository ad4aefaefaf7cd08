package main

import (
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/imgver/imgver/internal/config/configtest"
	"github.com/imgver/imgver/internal/pinfile"
)

// TestBinaryConcurrentPins: 20 imgver processes pin 20 images at once and
// every pin survives.
func TestBinaryConcurrentPins(t *testing.T) {
	var hcl strings.Builder
	hcl.WriteString("registry = \"registry.example/acme\"\npin_file = \"pins.src\"\n")
	for i := range 20 {
		fmt.Fprintf(&hcl, "image \"img%d\" {}\n", i)
	}
	c := configtest.Monorepo(t, hcl.String(), "# pins\n", nil)
	dir := c.Dir
	bin := binary(t)
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(bin, "pin", fmt.Sprintf("img%d", i), fmt.Sprintf("v1.0.%d", i))
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("pin img%d: %w\n%s", i, err, out)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	f, err := pinfile.Read(c.PinFile)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if p, ok := f.Lookup(fmt.Sprintf("img%d", i)); !ok || p.Version != fmt.Sprintf("v1.0.%d", i) {
			t.Errorf("pin of img%d lost: %+v %v", i, p, ok)
		}
	}
}
