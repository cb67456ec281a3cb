package readmecheck

import (
	"fmt"
	"strings"
)

// compare returns "" when want and got are equal up to one trailing newline
// each, and otherwise a line diff of them: "-" lines only in want, "+" lines
// only in got, a few unchanged lines around each change.
func compare(want, got string) string {
	want, got = strings.TrimSuffix(want, "\n"), strings.TrimSuffix(got, "\n")
	if want == got {
		return ""
	}
	return lineDiff(strings.Split(want, "\n"), strings.Split(got, "\n"))
}

// maxDiffCells bounds the size of the table lineDiff computes.
const maxDiffCells = 4 << 20

// diffContext is how many unchanged lines are shown around a change.
const diffContext = 3

// lineDiff returns a diff of a and b from a longest common subsequence of
// their lines.
func lineDiff(a, b []string) string {
	if (len(a)+1)*(len(b)+1) > maxDiffCells {
		for i := 0; ; i++ {
			if i >= len(a) || i >= len(b) || a[i] != b[i] {
				return fmt.Sprintf("(%d lines against %d; too long to diff) first difference at line %d:\n-%s\n+%s",
					len(a), len(b), i+1, at(a, i), at(b, i))
			}
		}
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
	type op struct {
		mark byte // ' ', '-' or '+'
		line string
	}
	var ops []op
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			ops = append(ops, op{' ', a[i]})
			i, j = i+1, j+1
		case i < len(a) && (j == len(b) || lcs[i+1][j] >= lcs[i][j+1]):
			ops = append(ops, op{'-', a[i]})
			i++
		default:
			ops = append(ops, op{'+', b[j]})
			j++
		}
	}
	// Show each change with diffContext unchanged lines either side.
	show := make([]bool, len(ops))
	for k, o := range ops {
		if o.mark != ' ' {
			for d := max(0, k-diffContext); d <= min(len(ops)-1, k+diffContext); d++ {
				show[d] = true
			}
		}
	}
	var out strings.Builder
	for k, o := range ops {
		if !show[k] {
			if k == 0 || show[k-1] {
				out.WriteString("@@ ... @@\n")
			}
			continue
		}
		out.WriteByte(o.mark)
		out.WriteString(o.line)
		out.WriteByte('\n')
	}
	return strings.TrimSuffix(out.String(), "\n")
}

// at returns lines[i], or a note that there is none.
func at(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return "(end)"
}
