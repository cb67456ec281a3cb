package main

import (
	"os"
	"runtime"
	"testing"
)

// Purge asks only on a terminal: /dev/null (a character device) and a pipe
// are not terminals; a pseudo-terminal is.
func TestIsTerminal(t *testing.T) {
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if isTerminal(null) || isTerminal(r) {
		t.Fatalf("isTerminal(%s) = %v, isTerminal(a pipe) = %v; want false", os.DevNull, isTerminal(null), isTerminal(r))
	}
	if runtime.GOOS != "linux" {
		return
	}
	pty, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal to try: %v", err)
	}
	defer pty.Close()
	if !isTerminal(pty) {
		t.Fatal("isTerminal(a pseudo-terminal) = false")
	}
}
