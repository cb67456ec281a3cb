// Package gentest builds throwaway Go modules that use this repository, for
// the tests of necrogen and of what it generates.
package gentest

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// RepoRoot returns the root directory of the necrostack module.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", "..", ".."))
}

// Env is the environment for go commands in such modules: no network, no
// workspace, this toolchain; dependencies come from the module cache, which
// `go mod download` in the repository fills.
func Env() []string {
	return append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "GOTOOLCHAIN=local")
}

// NewModule writes files (slash-separated paths relative to the module root)
// into a new temporary module example.com/t that requires this repository
// through a replace directive, and returns its directory.
func NewModule(t testing.TB, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	root := RepoRoot()
	WriteFile(t, dir, "go.mod", []byte("module example.com/t\n\ngo 1.24\n\nrequire github.com/necrostack/necrostack v0.0.0\n\nreplace github.com/necrostack/necrostack => "+filepath.ToSlash(root)+"\n"))
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	WriteFile(t, dir, "go.sum", sum)
	for name, data := range files {
		WriteFile(t, dir, name, data)
	}
	return dir
}

// WriteFile writes data to the slash-separated path name under dir.
func WriteFile(t testing.TB, dir, name string, data []byte) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
