// Package linediff computes line diffs for people to read: the unified
// diffs of `necrogen -check` and the README checker's reports. It is the
// module's one diff; it favours a short, correct answer over a minimal one on
// very large inputs.
package linediff

import (
	"fmt"
	"strings"
)

// Context is how many unchanged lines are shown around each change.
const Context = 3

// maxCells bounds the longest-common-subsequence table; beyond it the
// differing middle of the two texts is shown as removed, then added.
const maxCells = 4 << 20

// Op is one line of a diff.
type Op struct {
	Kind byte // ' ' in both, '-' only in a, '+' only in b
	Line string
}

// Lines returns the line operations that turn a into b: the common prefix
// and suffix, and a longest common subsequence of the middle when it is small
// enough to compute.
func Lines(a, b []string) []Op {
	var pre, suf []Op
	for len(a) > 0 && len(b) > 0 && a[0] == b[0] {
		pre = append(pre, Op{' ', a[0]})
		a, b = a[1:], b[1:]
	}
	n := 0
	for n < len(a) && n < len(b) && a[len(a)-1-n] == b[len(b)-1-n] {
		n++
	}
	for _, l := range a[len(a)-n:] {
		suf = append(suf, Op{' ', l})
	}
	a, b = a[:len(a)-n], b[:len(b)-n]
	return append(append(pre, middle(a, b)...), suf...)
}

func middle(a, b []string) []Op {
	var ops []Op
	if (len(a)+1)*(len(b)+1) > maxCells {
		for _, l := range a {
			ops = append(ops, Op{'-', l})
		}
		for _, l := range b {
			ops = append(ops, Op{'+', l})
		}
		return ops
	}
	// lcs[i][j] is the length of a longest common subsequence of a[i:], b[j:].
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
			ops = append(ops, Op{' ', a[i]})
			i, j = i+1, j+1
		case i < len(a) && (j == len(b) || lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, Op{'-', a[i]})
			i++
		default:
			ops = append(ops, Op{'+', b[j]})
			j++
		}
	}
	return ops
}

// Split splits a text into lines, without their "\n"; a final "\n" ends the
// last line rather than starting an empty one.
func Split(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// Unified returns the unified diff (diff -u) from text a, named aName, to
// text b, named bName, or "" when they are equal.
func Unified(aName, bName, a, b string) string {
	if a == b {
		return ""
	}
	return "--- " + aName + "\n+++ " + bName + "\n" + Hunks(Lines(Split(a), Split(b)))
}

// Hunks formats ops as unified-diff hunks: each change with Context
// unchanged lines around it, changes closer than 2*Context lines apart in one
// hunk, each hunk under an "@@ -l,n +l,n @@" header.
func Hunks(ops []Op) string {
	var buf strings.Builder
	for i := 0; i < len(ops); {
		if ops[i].Kind == ' ' {
			i++
			continue
		}
		start, end := max(i-Context, 0), i
		for end < len(ops) {
			if ops[end].Kind != ' ' {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].Kind == ' ' {
				run++
			}
			if run == len(ops) || run-end > 2*Context {
				end = min(end+Context, len(ops))
				break
			}
			end = run
		}
		aBefore, bBefore := count(ops[:start])
		aN, bN := count(ops[start:end])
		fmt.Fprintf(&buf, "@@ -%s +%s @@\n", span(aBefore, aN), span(bBefore, bN))
		for _, op := range ops[start:end] {
			buf.WriteByte(op.Kind)
			buf.WriteString(op.Line)
			buf.WriteByte('\n')
		}
		i = end
	}
	return buf.String()
}

// count returns how many lines of a and of b ops cover.
func count(ops []Op) (a, b int) {
	for _, op := range ops {
		if op.Kind != '+' {
			a++
		}
		if op.Kind != '-' {
			b++
		}
	}
	return a, b
}

// span formats a hunk range: its first line (counted from 1) and length; an
// empty range names the line before it, as diff -u does.
func span(before, n int) string {
	if n == 0 {
		return fmt.Sprintf("%d,0", before)
	}
	return fmt.Sprintf("%d,%d", before+1, n)
}
