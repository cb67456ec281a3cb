package main

import (
	"encoding/json"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"
)

// table returns a writer of aligned columns; cells end in tabs, rows in
// newlines; Flush writes them.
func table(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) }

// row writes cells as one row of a table.
func row(tw io.Writer, cells ...string) {
	io.WriteString(tw, strings.Join(cells, "\t")+"\n")
}

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// age formats a duration for a table: milliseconds under a second, else
// whole seconds ("3m12s").
func age(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// ms is a duration in whole milliseconds, for JSON.
func ms(d time.Duration) int64 { return max(d, 0).Milliseconds() }

// clip shortens s to its first line and at most n runes, for a table cell.
func clip(s string, n int) string {
	s, _, cut := strings.Cut(s, "\n")
	if utf8.RuneCountInString(s) > n {
		s, cut = string([]rune(s)[:n-1]), true
	}
	if cut {
		s += "…"
	}
	return s
}

// orDash returns s, or "-" when it is empty, for a table cell.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// stamp formats a time for a table: RFC 3339, UTC, milliseconds.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }
