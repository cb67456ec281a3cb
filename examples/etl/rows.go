package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// The input is a CSV of sales, one sale per row, with these four columns in any
// order after a header that names them.
const (
	colRegion    = "region"
	colProduct   = "product"
	colUnits     = "units"
	colUnitPrice = "unit_price"
	columnCount  = 4
)

// Limits of one row. They keep a row's revenue (units × unit price in cents)
// at most 10^14 cents, so that an int64 total overflows only after some 92,000
// rows at the limits; Totals.Add checks for that anyway.
const (
	maxUnits     = 1_000_000
	maxUnitCents = 100_000_000 // 1,000,000.00
)

// Columns says where each of the four columns sits in a record, as the header
// named them.
type Columns struct {
	Region    int `json:"region"`
	Product   int `json:"product"`
	Units     int `json:"units"`
	UnitPrice int `json:"unit_price"`
}

// standardColumns is the order the sample uses, and the one assumed when the
// header is missing or does not name the columns.
var standardColumns = Columns{Region: 0, Product: 1, Units: 2, UnitPrice: 3}

// Sale is one accepted row: its keys trimmed, its numbers parsed.
type Sale struct {
	Region         string `json:"region"`
	Product        string `json:"product"`
	Units          int64  `json:"units"`
	UnitPriceCents int64  `json:"unit_price_cents"`
}

// RevenueCents is what the sale brought in: units × unit price, in cents.
func (s Sale) RevenueCents() int64 { return s.Units * s.UnitPriceCents }

// Reason says why a row was rejected. The zero Reason means "not rejected".
type Reason uint8

// The reasons a row is rejected, in the order the summary lists them. The
// first check that fails decides the reason, in this order.
const (
	ReasonCSVSyntax        Reason = iota + 1 // the line is not valid CSV: a quote out of place
	ReasonInvalidUTF8                        // a field is not valid UTF-8 text
	ReasonWrongColumnCount                   // not exactly four columns
	ReasonBlankKey                           // region or product is empty or only spaces
	ReasonControlCharacter                   // region or product holds a line break or another control character
	ReasonBadUnits                           // units is not a whole number from 0 to 1,000,000
	ReasonBadUnitPrice                       // unit_price is not an amount from 0 to 1,000,000.00 with at most two decimals
	reasonEnd
)

var reasonNames = [reasonEnd]string{
	ReasonCSVSyntax:        "csv_syntax",
	ReasonInvalidUTF8:      "invalid_utf8",
	ReasonWrongColumnCount: "wrong_column_count",
	ReasonBlankKey:         "blank_key",
	ReasonControlCharacter: "control_character",
	ReasonBadUnits:         "bad_units",
	ReasonBadUnitPrice:     "bad_unit_price",
}

var reasonHelp = [reasonEnd]string{
	ReasonCSVSyntax:        "not valid CSV: a quote out of place",
	ReasonInvalidUTF8:      "not valid UTF-8 text",
	ReasonWrongColumnCount: "not 4 columns",
	ReasonBlankKey:         "region or product is blank",
	ReasonControlCharacter: "region or product holds a control character",
	ReasonBadUnits:         "units is not a whole number from 0 to 1,000,000",
	ReasonBadUnitPrice:     "unit_price is not an amount from 0 to 1,000,000.00",
}

// Help says in a few words what the rows rejected for r have wrong.
func (r Reason) Help() string {
	if r == 0 || r >= reasonEnd {
		return ""
	}
	return reasonHelp[r]
}

// String returns the reason's name as the summary prints it, such as "bad_units".
func (r Reason) String() string {
	if r == 0 || r >= reasonEnd {
		return fmt.Sprintf("Reason(%d)", uint8(r))
	}
	return reasonNames[r]
}

func reasonByName(name string) (Reason, bool) {
	for r := ReasonCSVSyntax; r < reasonEnd; r++ {
		if reasonNames[r] == name {
			return r, true
		}
	}
	return 0, false
}

// checkText rejects a record with a field that is not valid UTF-8. The reader
// applies it as soon as a record is read, so that every later stage, and any
// backend that encodes payloads as JSON, only ever sees text.
func checkText(fields []string) Reason {
	for _, f := range fields {
		if !utf8.ValidString(f) {
			return ReasonInvalidUTF8
		}
	}
	return 0
}

// parseSale validates the fields of one record (already known to be text)
// and returns the sale, or the reason it is rejected.
func parseSale(fields []string, cols Columns) (Sale, Reason) {
	if len(fields) != columnCount {
		return Sale{}, ReasonWrongColumnCount
	}
	region := strings.TrimSpace(fields[cols.Region])
	product := strings.TrimSpace(fields[cols.Product])
	if region == "" || product == "" {
		return Sale{}, ReasonBlankKey
	}
	if hasControl(region) || hasControl(product) {
		return Sale{}, ReasonControlCharacter
	}
	units, ok := parseUnits(strings.TrimSpace(fields[cols.Units]))
	if !ok {
		return Sale{}, ReasonBadUnits
	}
	cents, ok := parseCents(strings.TrimSpace(fields[cols.UnitPrice]))
	if !ok {
		return Sale{}, ReasonBadUnitPrice
	}
	return Sale{Region: region, Product: product, Units: units, UnitPriceCents: cents}, 0
}

// hasControl reports whether s holds a C0 or C1 control character or DEL:
// keys are printed in a table, so line breaks and terminal escapes are out.
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return true
		}
		if s[i] >= utf8.RuneSelf { // rare: decode only non-ASCII text
			for _, r := range s[i:] {
				if r < 0x20 || (r >= 0x7f && r <= 0x9f) {
					return true
				}
			}
			return false
		}
	}
	return false
}

// parseUnits parses a whole number of units: decimal digits only, no sign,
// at most maxUnits.
func parseUnits(s string) (int64, bool) {
	if s == "" || len(s) > 16 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, n <= maxUnits
}

// parseCents parses an amount such as "12", "12.5" or "12.50" into cents:
// digits, then optionally a point and one or two digits; no sign, no
// thousands separators, at most maxUnitCents.
func parseCents(s string) (int64, bool) {
	whole, frac, hasPoint := strings.Cut(s, ".")
	if whole == "" || len(whole) > 12 || (hasPoint && (frac == "" || len(frac) > 2)) {
		return 0, false
	}
	var cents int64
	for i := 0; i < len(whole); i++ {
		c := whole[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		cents = cents*10 + int64(c-'0')
	}
	cents *= 100
	scale := int64(10)
	for i := 0; i < len(frac); i++ {
		c := frac[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		cents += int64(c-'0') * scale
		scale /= 10
	}
	return cents, cents <= maxUnitCents
}

// Rejections counts rejected rows by reason and remembers the line of the
// first rejected row of each reason, so that a user can go and look. The zero
// value is empty and ready to use; it is a plain value, cheap to copy, and
// merging is order-independent (counts add, first lines take the minimum).
type Rejections struct {
	rows  [reasonEnd]int64
	first [reasonEnd]int
}

// Add counts one row rejected for reason at line (1-based).
func (r *Rejections) Add(reason Reason, line int) {
	r.rows[reason]++
	if r.first[reason] == 0 || line < r.first[reason] {
		r.first[reason] = line
	}
}

// Merge adds the counts of o to r.
func (r *Rejections) Merge(o Rejections) {
	for reason := ReasonCSVSyntax; reason < reasonEnd; reason++ {
		if o.rows[reason] == 0 {
			continue
		}
		r.rows[reason] += o.rows[reason]
		if r.first[reason] == 0 || o.first[reason] < r.first[reason] {
			r.first[reason] = o.first[reason]
		}
	}
}

// Rows returns how many rows were rejected for reason.
func (r Rejections) Rows(reason Reason) int64 { return r.rows[reason] }

// Total returns how many rows were rejected for any reason.
func (r Rejections) Total() int64 {
	var n int64
	for _, c := range r.rows {
		n += c
	}
	return n
}

// RejectedRows is one line of the rejection report: a reason, how many rows
// it rejected, and the line of the first of them.
type RejectedRows struct {
	Reason    string `json:"reason"`
	Rows      int64  `json:"rows"`
	FirstLine int    `json:"first_line"`
}

// Report lists the reasons that rejected at least one row, in Reason order.
func (r Rejections) Report() []RejectedRows {
	var out []RejectedRows
	for reason := ReasonCSVSyntax; reason < reasonEnd; reason++ {
		if r.rows[reason] > 0 {
			out = append(out, RejectedRows{Reason: reason.String(), Rows: r.rows[reason], FirstLine: r.first[reason]})
		}
	}
	return out
}

// MarshalJSON encodes the report: a list of {"reason","rows","first_line"}.
func (r Rejections) MarshalJSON() ([]byte, error) {
	report := r.Report()
	if report == nil {
		report = []RejectedRows{}
	}
	return json.Marshal(report)
}

// UnmarshalJSON decodes what MarshalJSON writes. An unknown reason, a count
// below 1, a first line below 1 or a reason listed twice is an error.
func (r *Rejections) UnmarshalJSON(data []byte) error {
	var report []RejectedRows
	if err := json.Unmarshal(data, &report); err != nil {
		return fmt.Errorf("rejections: %w", err)
	}
	var out Rejections
	for _, item := range report {
		reason, ok := reasonByName(item.Reason)
		if !ok {
			return fmt.Errorf("rejections: unknown reason %q", item.Reason)
		}
		if item.Rows < 1 || item.FirstLine < 1 {
			return fmt.Errorf("rejections: reason %s has %d rows from line %d; both must be at least 1", item.Reason, item.Rows, item.FirstLine)
		}
		if out.rows[reason] != 0 {
			return fmt.Errorf("rejections: reason %s is listed twice", item.Reason)
		}
		out.rows[reason], out.first[reason] = item.Rows, item.FirstLine
	}
	*r = out
	return nil
}
