package gen

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/necrostack/necrostack/internal/linediff"
)

// Write writes every stale file atomically (temp file + rename, so a reader
// never sees half a file), leaves unchanged files alone so their mtime and the
// build cache stay warm, and removes orphans. It refuses to write anything
// when r has errors. report, if not nil, is told of each change.
func Write(r *Result, report func(action, path string)) error {
	if r.HasErrors() {
		return fmt.Errorf("not writing: the input has errors")
	}
	for _, f := range r.Files {
		if !f.Stale() {
			continue
		}
		if err := writeAtomic(f.Path, f.Content); err != nil {
			return err
		}
		if report != nil {
			report("wrote", f.Path)
		}
	}
	for _, path := range r.Orphans {
		if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("remove orphan %s: %w", path, err)
		}
		if report != nil {
			report("removed", path)
		}
	}
	return nil
}

// writeTemp writes the temporary file; tests replace it to inject a failure.
var writeTemp = (*os.File).Write

// writeAtomic replaces path with content via a temporary file in the same
// directory and a rename.
func writeAtomic(path string, content []byte) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".necro_gen-*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = writeTemp(tmp, content); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Stale describes one file that -check finds out of date.
type Stale struct {
	Path   string
	Reason string // "stale", "missing" or "orphan"
	Diff   string // unified diff from disk to generated
}

// Check compares r with the disk and returns what Write would change.
func Check(r *Result) []Stale {
	var out []Stale
	for _, f := range r.Files {
		switch {
		case f.Old == nil:
			out = append(out, Stale{Path: f.Path, Reason: "missing", Diff: r.diff(f.Path, nil, f.Content)})
		case f.Stale():
			out = append(out, Stale{Path: f.Path, Reason: "stale", Diff: r.diff(f.Path, f.Old, f.Content)})
		}
	}
	for _, path := range r.Orphans {
		old, _ := os.ReadFile(path)
		out = append(out, Stale{Path: path, Reason: "orphan", Diff: r.diff(path, old, nil)})
	}
	return out
}

// diff returns the unified diff of a file from what is on disk (old) to
// what necrogen generates (new), with the path relative to r.Dir in the
// header, as git shows it: --- a/app/necro_gen.go.
func (r *Result) diff(path string, old, new []byte) string {
	name := filepath.ToSlash(r.Rel(path))
	return linediff.Unified("a/"+name, "b/"+name, string(old), string(new))
}
