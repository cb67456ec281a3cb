package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Totals is what a group of sales adds up to. Money is in integer cents, so
// that totals are exact whatever the order batches are added in.
type Totals struct {
	Orders       int64 `json:"orders"` // accepted rows
	Units        int64 `json:"units"`
	RevenueCents int64 `json:"revenue_cents"`
}

// errOverflow is returned when a total no longer fits in an int64.
var errOverflow = errors.New("total does not fit in 64 bits")

// Add adds o to t, or returns errOverflow and leaves t unchanged.
func (t *Totals) Add(o Totals) error {
	orders, ok1 := addInt64(t.Orders, o.Orders)
	units, ok2 := addInt64(t.Units, o.Units)
	revenue, ok3 := addInt64(t.RevenueCents, o.RevenueCents)
	if !ok1 || !ok2 || !ok3 {
		return errOverflow
	}
	*t = Totals{Orders: orders, Units: units, RevenueCents: revenue}
	return nil
}

func addInt64(a, b int64) (int64, bool) {
	s := a + b
	return s, (b >= 0) == (s >= a)
}

// addTo adds o to the totals of key in m.
func addTo(m map[string]Totals, key string, o Totals) error {
	t := m[key]
	if err := t.Add(o); err != nil {
		return fmt.Errorf("%q: %w", key, err)
	}
	m[key] = t
	return nil
}

// Summary is the result of a run: what was read, what was accepted, and the
// totals of the accepted sales.
type Summary struct {
	Source    string
	Batches   int
	Header    HeaderCheck
	ByRegion  map[string]Totals
	ByProduct map[string]Totals
	Total     Totals
	Rejected  Rejections
}

// newSummary returns an empty summary of source.
func newSummary(source string) Summary {
	return Summary{Source: source, ByRegion: map[string]Totals{}, ByProduct: map[string]Totals{}}
}

// RowsRead returns how many rows the input had: accepted plus rejected. The
// header is not a row.
func (s *Summary) RowsRead() int64 { return s.Total.Orders + s.Rejected.Total() }

// merge adds one transformed batch to s. On overflow s may be partly
// updated; the run has failed then anyway.
func (s *Summary) merge(t DataTransformed) error {
	for key, tot := range t.ByRegion {
		if err := addTo(s.ByRegion, key, tot); err != nil {
			return fmt.Errorf("region %w", err)
		}
		if err := s.Total.Add(tot); err != nil {
			return fmt.Errorf("all regions: %w", err)
		}
	}
	for key, tot := range t.ByProduct {
		if err := addTo(s.ByProduct, key, tot); err != nil {
			return fmt.Errorf("product %w", err)
		}
	}
	s.Rejected.Merge(t.Rejected)
	if t.Batch.Header != nil {
		s.Header = *t.Batch.Header
	}
	s.Batches++
	return nil
}

// formatCents formats cents as an amount with two decimals, such as
// "-1234.50"; with thousands set, as "-1,234.50".
func formatCents(cents int64, thousands bool) string {
	neg := cents < 0
	u := uint64(cents)
	if neg {
		u = -u // also right for math.MinInt64
	}
	whole := strconv.FormatUint(u/100, 10)
	if thousands {
		whole = groupThousands(whole)
	}
	frac := u % 100
	sign := ""
	if neg {
		sign = "-"
	}
	return fmt.Sprintf("%s%s.%02d", sign, whole, frac)
}

// formatCount formats n with thousands separators: 1234567 is "1,234,567".
func formatCount(n int64) string {
	u := uint64(n)
	if n < 0 {
		return "-" + groupThousands(strconv.FormatUint(-u, 10))
	}
	return groupThousands(strconv.FormatUint(u, 10))
}

func groupThousands(digits string) string {
	if len(digits) <= 3 {
		return digits
	}
	var b strings.Builder
	head := len(digits) % 3
	if head == 0 {
		head = 3
	}
	b.WriteString(digits[:head])
	for i := head; i < len(digits); i += 3 {
		b.WriteByte(',')
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return formatCount(n) + " " + one
	}
	return formatCount(n) + " " + many
}

// sourceName is how a summary names its input.
func sourceName(source string) string {
	if name, ok := strings.CutPrefix(source, embeddedPrefix); ok {
		return name + " (embedded sample)"
	}
	return source
}

// WriteTable writes the summary as plain-text tables: the totals per region
// and per product, then the rejected rows by reason.
func (s *Summary) WriteTable(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "Sales summary of %s\n", sourceName(s.Source))
	fmt.Fprintf(bw, "%s read in %s: %s accepted, %s rejected\n",
		plural(s.RowsRead(), "row", "rows"), plural(int64(s.Batches), "batch", "batches"),
		formatCount(s.Total.Orders), formatCount(s.Rejected.Total()))
	if s.Header.Status != "" && s.Header.Status != HeaderOK {
		fmt.Fprintf(bw, "Header %s: %s\n", s.Header.Status, s.Header.Detail)
	}
	if s.Total.Orders > 0 {
		writeTotalsTable(bw, "REGION", s.ByRegion, s.Total)
		writeTotalsTable(bw, "PRODUCT", s.ByProduct, s.Total)
	} else {
		fmt.Fprintln(bw, "\nNo rows were accepted.")
	}
	if report := s.Rejected.Report(); len(report) > 0 {
		t := table{header: []string{"REJECTED", "ROWS", "FIRST LINE", "WHY"}, right: []bool{false, true, true, false}}
		for _, r := range report {
			reason, _ := reasonByName(r.Reason)
			t.add(r.Reason, formatCount(r.Rows), strconv.Itoa(r.FirstLine), reason.Help())
		}
		bw.WriteByte('\n')
		t.write(bw)
	} else {
		fmt.Fprintln(bw, "\nNo rows were rejected.")
	}
	return bw.Flush()
}

func writeTotalsTable(w *bufio.Writer, key string, groups map[string]Totals, total Totals) {
	t := table{header: []string{key, "ORDERS", "UNITS", "REVENUE"}, right: []bool{false, true, true, true}}
	for _, k := range slices.Sorted(maps.Keys(groups)) {
		g := groups[k]
		t.add(k, formatCount(g.Orders), formatCount(g.Units), formatCents(g.RevenueCents, true))
	}
	t.add("TOTAL", formatCount(total.Orders), formatCount(total.Units), formatCents(total.RevenueCents, true))
	w.WriteByte('\n')
	t.write(w)
}

// table lays out rows in columns two spaces apart, numbers aligned right.
// Widths count runes, which is right for the alphabets keys usually use.
type table struct {
	header []string
	right  []bool
	rows   [][]string
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) write(w *bufio.Writer) {
	widths := make([]int, len(t.header))
	for _, row := range append([][]string{t.header}, t.rows...) {
		for i, c := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	for _, row := range append([][]string{t.header}, t.rows...) {
		var line strings.Builder
		for i, c := range row {
			if i > 0 {
				line.WriteString("  ")
			}
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			if t.right[i] {
				line.WriteString(pad + c)
			} else {
				line.WriteString(c + pad)
			}
		}
		w.WriteString(strings.TrimRight(line.String(), " "))
		w.WriteByte('\n')
	}
}

// jsonSummary is the shape of the -json output.
type jsonSummary struct {
	Source    string         `json:"source"`
	Batches   int            `json:"batches"`
	Header    HeaderCheck    `json:"header"`
	Rows      jsonRows       `json:"rows"`
	ByRegion  []jsonRegion   `json:"by_region"`
	ByProduct []jsonProduct  `json:"by_product"`
	Total     jsonTotals     `json:"total"`
	Rejected  []jsonRejected `json:"rejected"`
}

type jsonRows struct {
	Read     int64 `json:"read"`
	Accepted int64 `json:"accepted"`
	Rejected int64 `json:"rejected"`
}

type jsonTotals struct {
	Orders       int64  `json:"orders"`
	Units        int64  `json:"units"`
	Revenue      string `json:"revenue"` // two decimals, for reading
	RevenueCents int64  `json:"revenue_cents"`
}

type jsonRegion struct {
	Region string `json:"region"`
	jsonTotals
}

type jsonProduct struct {
	Product string `json:"product"`
	jsonTotals
}

type jsonRejected struct {
	RejectedRows
	Why string `json:"why"`
}

func toJSONTotals(t Totals) jsonTotals {
	return jsonTotals{Orders: t.Orders, Units: t.Units, Revenue: formatCents(t.RevenueCents, false), RevenueCents: t.RevenueCents}
}

// toJSONGroups lists groups sorted by key, each made by group.
func toJSONGroups[G any](groups map[string]Totals, group func(key string, t jsonTotals) G) []G {
	out := []G{}
	for _, k := range slices.Sorted(maps.Keys(groups)) {
		out = append(out, group(k, toJSONTotals(groups[k])))
	}
	return out
}

// WriteJSON writes the summary as one indented JSON object; groups are sorted
// by key and money is given both as exact cents and as a decimal string.
func (s *Summary) WriteJSON(w io.Writer) error {
	rejected := []jsonRejected{}
	for _, r := range s.Rejected.Report() {
		reason, _ := reasonByName(r.Reason)
		rejected = append(rejected, jsonRejected{RejectedRows: r, Why: reason.Help()})
	}
	out := jsonSummary{
		Source:    s.Source,
		Batches:   s.Batches,
		Header:    s.Header,
		Rows:      jsonRows{Read: s.RowsRead(), Accepted: s.Total.Orders, Rejected: s.Rejected.Total()},
		ByRegion:  toJSONGroups(s.ByRegion, func(k string, t jsonTotals) jsonRegion { return jsonRegion{k, t} }),
		ByProduct: toJSONGroups(s.ByProduct, func(k string, t jsonTotals) jsonProduct { return jsonProduct{k, t} }),
		Total:     toJSONTotals(s.Total),
		Rejected:  rejected,
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
