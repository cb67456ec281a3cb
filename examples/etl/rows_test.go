package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestParseSale(t *testing.T) {
	tests := []struct {
		name   string
		fields []string
		cols   Columns
		want   Sale
		reason Reason
	}{
		{"plain", []string{"Salem", "candle", "12", "4.50"}, standardColumns, Sale{"Salem", "candle", 12, 450}, 0},
		{"spaces trimmed", []string{" Salem ", "\tcandle ", " 12 ", " 4.5 "}, standardColumns, Sale{"Salem", "candle", 12, 450}, 0},
		{"other column order", []string{"4.50", "12", "candle", "Salem"}, Columns{Region: 3, Product: 2, Units: 1, UnitPrice: 0}, Sale{"Salem", "candle", 12, 450}, 0},
		{"unicode keys", []string{"Zürich", "Kerze", "1", "3"}, standardColumns, Sale{"Zürich", "Kerze", 1, 300}, 0},
		{"zero units and price", []string{"a", "b", "0", "0"}, standardColumns, Sale{"a", "b", 0, 0}, 0},
		{"limits", []string{"a", "b", "1000000", "1000000.00"}, standardColumns, Sale{"a", "b", maxUnits, maxUnitCents}, 0},
		{"leading zeros", []string{"a", "b", "007", "007.5"}, standardColumns, Sale{"a", "b", 7, 750}, 0},

		{"three columns", []string{"a", "b", "1"}, standardColumns, Sale{}, ReasonWrongColumnCount},
		{"five columns", []string{"a", "b", "1", "2", "x"}, standardColumns, Sale{}, ReasonWrongColumnCount},
		{"no columns", nil, standardColumns, Sale{}, ReasonWrongColumnCount},
		{"one empty column", []string{""}, standardColumns, Sale{}, ReasonWrongColumnCount},
		{"blank region", []string{"  ", "b", "1", "2"}, standardColumns, Sale{}, ReasonBlankKey},
		{"empty product", []string{"a", "", "1", "2"}, standardColumns, Sale{}, ReasonBlankKey},
		{"unicode space only", []string{"\u00a0\u2003", "b", "1", "2"}, standardColumns, Sale{}, ReasonBlankKey},
		{"line break in key", []string{"New\nOrleans", "b", "1", "2"}, standardColumns, Sale{}, ReasonControlCharacter},
		{"escape in key", []string{"a", "b\x1b[31m", "1", "2"}, standardColumns, Sale{}, ReasonControlCharacter},
		{"DEL in key", []string{"a\x7f", "b", "1", "2"}, standardColumns, Sale{}, ReasonControlCharacter},
		{"C1 control in key", []string{"Zü\u0085rich", "b", "1", "2"}, standardColumns, Sale{}, ReasonControlCharacter},
		{"blank beats bad units", []string{"", "b", "x", "2"}, standardColumns, Sale{}, ReasonBlankKey},
		{"units a word", []string{"a", "b", "three", "2"}, standardColumns, Sale{}, ReasonBadUnits},
		{"units decimal", []string{"a", "b", "1.5", "2"}, standardColumns, Sale{}, ReasonBadUnits},
		{"units negative", []string{"a", "b", "-2", "2"}, standardColumns, Sale{}, ReasonBadUnits},
		{"units plus sign", []string{"a", "b", "+2", "2"}, standardColumns, Sale{}, ReasonBadUnits},
		{"units empty", []string{"a", "b", "", "2"}, standardColumns, Sale{}, ReasonBadUnits},
		{"units over limit", []string{"a", "b", "1000001", "2"}, standardColumns, Sale{}, ReasonBadUnits},
		{"units huge", []string{"a", "b", "99999999999999999999", "2"}, standardColumns, Sale{}, ReasonBadUnits},
		{"units thousands separator", []string{"a", "b", "1,000", "2"}, standardColumns, Sale{}, ReasonBadUnits},
		{"units beats price", []string{"a", "b", "x", "y"}, standardColumns, Sale{}, ReasonBadUnits},
		{"price decimal comma", []string{"a", "b", "1", "89,00"}, standardColumns, Sale{}, ReasonBadUnitPrice},
		{"price word", []string{"a", "b", "1", "abc"}, standardColumns, Sale{}, ReasonBadUnitPrice},
		{"price three decimals", []string{"a", "b", "1", "1.234"}, standardColumns, Sale{}, ReasonBadUnitPrice},
		{"price negative", []string{"a", "b", "1", "-1.00"}, standardColumns, Sale{}, ReasonBadUnitPrice},
		{"price empty", []string{"a", "b", "1", ""}, standardColumns, Sale{}, ReasonBadUnitPrice},
		{"price point only", []string{"a", "b", "1", "."}, standardColumns, Sale{}, ReasonBadUnitPrice},
		{"price no whole part", []string{"a", "b", "1", ".5"}, standardColumns, Sale{}, ReasonBadUnitPrice},
		{"price no fraction", []string{"a", "b", "1", "5."}, standardColumns, Sale{}, ReasonBadUnitPrice},
		{"price currency sign", []string{"a", "b", "1", "$5"}, standardColumns, Sale{}, ReasonBadUnitPrice},
		{"price exponent", []string{"a", "b", "1", "1e3"}, standardColumns, Sale{}, ReasonBadUnitPrice},
		{"price over limit", []string{"a", "b", "1", "1000000.01"}, standardColumns, Sale{}, ReasonBadUnitPrice},
		{"price huge", []string{"a", "b", "1", "99999999999999999999.99"}, standardColumns, Sale{}, ReasonBadUnitPrice},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason := parseSale(tt.fields, tt.cols)
			if reason != tt.reason || got != tt.want {
				t.Errorf("parseSale(%q) = %+v, %v; want %+v, %v", tt.fields, got, reason, tt.want, tt.reason)
			}
		})
	}
}

func TestParseCents(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "0.0": 0, "0.5": 50, "0.05": 5, "12": 1200, "12.3": 1230, "12.34": 1234, "1000000": maxUnitCents} {
		if got, ok := parseCents(in); !ok || got != want {
			t.Errorf("parseCents(%q) = %d, %v; want %d, true", in, got, ok, want)
		}
	}
}

func TestCheckText(t *testing.T) {
	if r := checkText([]string{"Zürich", "日本", ""}); r != 0 {
		t.Errorf("valid text rejected: %v", r)
	}
	for _, bad := range []string{"Sal\xffem", "caf\xc3", "\xed\xa0\x80"} { // byte FF, truncated, surrogate
		if r := checkText([]string{"ok", bad}); r != ReasonInvalidUTF8 {
			t.Errorf("checkText(%q) = %v, want invalid_utf8", bad, r)
		}
	}
}

func TestReasonNames(t *testing.T) {
	seen := map[string]bool{}
	for r := ReasonCSVSyntax; r < reasonEnd; r++ {
		name := r.String()
		if name == "" || strings.HasPrefix(name, "Reason(") || seen[name] {
			t.Errorf("reason %d has a missing or repeated name %q", r, name)
		}
		seen[name] = true
		if back, ok := reasonByName(name); !ok || back != r {
			t.Errorf("reasonByName(%q) = %v, %v; want %v", name, back, ok, r)
		}
		if r.Help() == "" {
			t.Errorf("reason %s has no help text", name)
		}
	}
	if s := Reason(0).String(); s != "Reason(0)" {
		t.Errorf("Reason(0).String() = %q", s)
	}
	if _, ok := reasonByName("nonsense"); ok {
		t.Error("reasonByName accepted an unknown name")
	}
}

func TestRejections(t *testing.T) {
	var a, b Rejections
	a.Add(ReasonBadUnits, 9)
	a.Add(ReasonBadUnits, 4)
	a.Add(ReasonBlankKey, 7)
	b.Add(ReasonBadUnits, 2)
	b.Add(ReasonCSVSyntax, 30)

	ab, ba := a, b
	ab.Merge(b)
	ba.Merge(a)
	if ab != ba {
		t.Errorf("Merge is not commutative: %+v vs %+v", ab.Report(), ba.Report())
	}
	want := []RejectedRows{
		{Reason: "csv_syntax", Rows: 1, FirstLine: 30},
		{Reason: "blank_key", Rows: 1, FirstLine: 7},
		{Reason: "bad_units", Rows: 3, FirstLine: 2},
	}
	if got := ab.Report(); !slices.Equal(got, want) {
		t.Errorf("Report() = %+v, want %+v", got, want)
	}
	if ab.Total() != 5 || ab.Rows(ReasonBadUnits) != 3 || ab.Rows(ReasonInvalidUTF8) != 0 {
		t.Errorf("Total %d, bad_units %d, invalid_utf8 %d", ab.Total(), ab.Rows(ReasonBadUnits), ab.Rows(ReasonInvalidUTF8))
	}

	data, err := json.Marshal(ab)
	if err != nil {
		t.Fatal(err)
	}
	const wantJSON = `[{"reason":"csv_syntax","rows":1,"first_line":30},{"reason":"blank_key","rows":1,"first_line":7},{"reason":"bad_units","rows":3,"first_line":2}]`
	if string(data) != wantJSON {
		t.Errorf("JSON = %s\nwant   %s", data, wantJSON)
	}
	var back Rejections
	if err := json.Unmarshal(data, &back); err != nil || back != ab {
		t.Errorf("round trip: %+v, %v; want %+v", back.Report(), err, ab.Report())
	}
	if data, _ := json.Marshal(Rejections{}); string(data) != "[]" {
		t.Errorf("empty Rejections encode as %s, want []", data)
	}
}

func TestRejectionsUnmarshalErrors(t *testing.T) {
	for _, in := range []string{
		`{}`,
		`[{"reason":"nonsense","rows":1,"first_line":1}]`,
		`[{"reason":"bad_units","rows":0,"first_line":1}]`,
		`[{"reason":"bad_units","rows":1,"first_line":0}]`,
		`[{"reason":"bad_units","rows":1,"first_line":1},{"reason":"bad_units","rows":1,"first_line":2}]`,
	} {
		var r Rejections
		if err := json.Unmarshal([]byte(in), &r); err == nil {
			t.Errorf("Unmarshal(%s) succeeded, want an error", in)
		}
	}
}
