package readmecheck

import (
	"strings"

	"github.com/necrostack/necrostack/internal/linediff"
)

// compare returns "" when want and got are equal up to one trailing newline
// each, and otherwise their line diff as unified-diff hunks: "-" lines only
// in want, "+" lines only in got, a few unchanged lines around each change.
func compare(want, got string) string {
	want, got = strings.TrimSuffix(want, "\n"), strings.TrimSuffix(got, "\n")
	if want == got {
		return ""
	}
	return strings.TrimSuffix(linediff.Hunks(linediff.Lines(strings.Split(want, "\n"), strings.Split(got, "\n"))), "\n")
}
