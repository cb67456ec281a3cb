//go:build !linux && !darwin

package main

import "os"

// isTerminal reports whether f is a character device: the best guess here
// at a terminal (so is /dev/null, whose empty answer is a no).
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
