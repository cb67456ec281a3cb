package gen

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A write that fails half way leaves the old file whole and no temp file.
func TestWriteAtomicKeepsOldFileOnFailure(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, OutputName)
	old := []byte(Header + "\n\npackage p // old\n")
	if err := os.WriteFile(path, old, 0o644); err != nil {
		t.Fatal(err)
	}
	writeTemp = func(f *os.File, b []byte) (int, error) {
		n, _ := f.Write(b[:len(b)/2])
		return n, errors.New("disk full")
	}
	defer func() { writeTemp = (*os.File).Write }()
	res := &Result{Files: []File{{Path: path, Content: []byte(Header + "\n\npackage p // new, and longer than the old one\n"), Old: old}}}
	err := Write(res, nil)
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Write = %v, want the injected failure", err)
	}
	if got, _ := os.ReadFile(path); string(got) != string(old) {
		t.Fatalf("the old file changed to %q", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries after a failed write, want only %s", len(entries), OutputName)
	}
}

func TestScreamingSnake(t *testing.T) {
	for in, want := range map[string]string{
		"SpiritAppeared": "SPIRIT_APPEARED", "HTTPRequest": "HTTP_REQUEST", "ETLStart": "ETL_START",
		"Omen": "OMEN", "V2Event": "V2_EVENT", "rawData": "RAW_DATA", "Foo_Bar": "FOO_BAR", "ID": "ID",
	} {
		if got := screamingSnake(in); got != want || !validEventName(got) {
			t.Errorf("screamingSnake(%q) = %q, want %q", in, got, want)
		}
	}
}
