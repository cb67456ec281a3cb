package gen

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
			out = append(out, Stale{Path: f.Path, Reason: "missing", Diff: unifiedDiff(f.Path, nil, f.Content)})
		case f.Stale():
			out = append(out, Stale{Path: f.Path, Reason: "stale", Diff: unifiedDiff(f.Path, f.Old, f.Content)})
		}
	}
	for _, path := range r.Orphans {
		old, _ := os.ReadFile(path)
		out = append(out, Stale{Path: path, Reason: "orphan", Diff: unifiedDiff(path, old, nil)})
	}
	return out
}

// unifiedDiff returns a unified diff of two texts, with whole-file context
// trimmed to 3 lines around each change.
func unifiedDiff(path string, a, b []byte) string {
	al, bl := splitLines(a), splitLines(b)
	ops := diffLines(al, bl)
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "--- a/%s\n+++ b/%s\n", filepath.ToSlash(path), filepath.ToSlash(path))
	const ctx = 3
	for i := 0; i < len(ops); {
		if ops[i].kind == ' ' {
			i++
			continue
		}
		// A hunk: from ctx lines before this change to ctx lines after the last
		// change that is within 2*ctx of the previous one.
		start := max(i-ctx, 0)
		end := i
		for end < len(ops) {
			if ops[end].kind != ' ' {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].kind == ' ' {
				run++
			}
			if run == len(ops) || run-end > 2*ctx {
				end = min(end+ctx, len(ops))
				break
			}
			end = run
		}
		aStart, bStart, aN, bN := 0, 0, 0, 0
		for _, op := range ops[:start] {
			if op.kind != '+' {
				aStart++
			}
			if op.kind != '-' {
				bStart++
			}
		}
		for _, op := range ops[start:end] {
			if op.kind != '+' {
				aN++
			}
			if op.kind != '-' {
				bN++
			}
		}
		fmt.Fprintf(&buf, "@@ -%d,%d +%d,%d @@\n", aStart+1, aN, bStart+1, bN)
		for _, op := range ops[start:end] {
			buf.WriteByte(op.kind)
			buf.WriteString(op.line)
			buf.WriteByte('\n')
		}
		i = end
	}
	return buf.String()
}

type diffOp struct {
	kind byte // ' ', '-', '+'
	line string
}

func splitLines(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// diffLines computes a line diff: common prefix and suffix, then a longest
// common subsequence on the middle (replacing it whole when it is too large
// for a quadratic table; -check output is for humans, exactness is not needed).
func diffLines(a, b []string) []diffOp {
	var pre, suf []diffOp
	for len(a) > 0 && len(b) > 0 && a[0] == b[0] {
		pre = append(pre, diffOp{' ', a[0]})
		a, b = a[1:], b[1:]
	}
	for len(a) > 0 && len(b) > 0 && a[len(a)-1] == b[len(b)-1] {
		suf = append([]diffOp{{' ', a[len(a)-1]}}, suf...)
		a, b = a[:len(a)-1], b[:len(b)-1]
	}
	var mid []diffOp
	if len(a)*len(b) > 4_000_000 {
		for _, l := range a {
			mid = append(mid, diffOp{'-', l})
		}
		for _, l := range b {
			mid = append(mid, diffOp{'+', l})
		}
	} else {
		lcs := make([][]int, len(a)+1)
		for i := range lcs {
			lcs[i] = make([]int, len(b)+1)
		}
		for i := len(a) - 1; i >= 0; i-- {
			for j := len(b) - 1; j >= 0; j-- {
				if a[i] == b[j] {
					lcs[i][j] = lcs[i+1][j+1] + 1
				} else {
					lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
				}
			}
		}
		i, j := 0, 0
		for i < len(a) || j < len(b) {
			switch {
			case i < len(a) && j < len(b) && a[i] == b[j]:
				mid = append(mid, diffOp{' ', a[i]})
				i++
				j++
			case i < len(a) && (j == len(b) || lcs[i+1][j] >= lcs[i][j+1]):
				mid = append(mid, diffOp{'-', a[i]})
				i++
			default:
				mid = append(mid, diffOp{'+', b[j]})
				j++
			}
		}
	}
	return append(append(pre, mid...), suf...)
}
