package readmecheck

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// repoRoot is the repository root, from this package's directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// TestREADME checks every code block of the repository's README.md.
func TestREADME(t *testing.T) {
	root := repoRoot(t)
	md, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(md, []byte(markerPrefix)) {
		t.Skip("README.md has no " + markerPrefix + " markers yet; nothing is checked until it does")
	}
	for _, p := range Check(t, root, md) {
		t.Errorf("README.md:%d: %s", p.Line, p.Msg)
	}
}
