package main

import (
	"os"
	"strconv"
	"testing"
)

// TestMain lets the test binary stand in for a measured command: with
// BENCHGEN_HELPER_MIB=n it touches n MiB, then exits with
// BENCHGEN_HELPER_EXIT.
func TestMain(m *testing.M) {
	if s := os.Getenv("BENCHGEN_HELPER_MIB"); s != "" {
		n, _ := strconv.Atoi(s)
		b := make([]byte, n<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		code, _ := strconv.Atoi(os.Getenv("BENCHGEN_HELPER_EXIT"))
		os.Exit(code + int(b[len(b)-4096]) - 1)
	}
	code := m.Run()
	if monoDir != "" {
		os.RemoveAll(monoDir)
	}
	os.Exit(code)
}

func TestMeasure(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mib     int
		exit    int
		wantMin int64 // KiB
		wantMax int64
	}{
		// The upper bounds leave room for the race detector, whose shadow
		// memory roughly doubles what the helper touches.
		{"small", 1, 0, 1 << 10, 200 << 10},
		{"200MiB", 200, 0, 200 << 10, 1 << 20},
		{"exit 3", 8, 3, 8 << 10, 200 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("BENCHGEN_HELPER_MIB", strconv.Itoa(tc.mib))
			t.Setenv("BENCHGEN_HELPER_EXIT", strconv.Itoa(tc.exit))
			m, err := measure(t.Context(), os.Args[0])
			if err != nil {
				t.Fatal(err)
			}
			if m.exitCode != tc.exit {
				t.Errorf("exit code %d, want %d", m.exitCode, tc.exit)
			}
			if m.maxRSSKiB < tc.wantMin || m.maxRSSKiB > tc.wantMax {
				t.Errorf("peak RSS %d KiB, want %d to %d", m.maxRSSKiB, tc.wantMin, tc.wantMax)
			}
			if m.wall <= 0 {
				t.Errorf("wall time %v", m.wall)
			}
		})
	}
	t.Run("no such command", func(t *testing.T) {
		if _, err := measure(t.Context(), "/nonexistent/benchgen-helper"); err == nil {
			t.Error("measure of a missing command succeeded")
		}
	})
}
