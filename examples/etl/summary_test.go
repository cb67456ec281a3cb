package main

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

func TestTotalsAdd(t *testing.T) {
	sum := Totals{Orders: 1, Units: 2, RevenueCents: 3}
	if err := sum.Add(Totals{Orders: 10, Units: 20, RevenueCents: 30}); err != nil || sum != (Totals{11, 22, 33}) {
		t.Errorf("Add = %+v, %v", sum, err)
	}
	for _, o := range []Totals{{Orders: math.MaxInt64}, {Units: math.MaxInt64}, {RevenueCents: math.MaxInt64}} {
		before := sum
		if err := sum.Add(o); !errors.Is(err, errOverflow) || sum != before {
			t.Errorf("Add(%+v) = %v, totals %+v; want errOverflow and no change", o, err, sum)
		}
	}
}

func TestFormatting(t *testing.T) {
	cents := map[int64][2]string{
		0:             {"0.00", "0.00"},
		5:             {"0.05", "0.05"},
		123456:        {"1234.56", "1,234.56"},
		-123456:       {"-1234.56", "-1,234.56"},
		100000000000:  {"1000000000.00", "1,000,000,000.00"},
		math.MinInt64: {"-92233720368547758.08", "-92,233,720,368,547,758.08"},
		math.MaxInt64: {"92233720368547758.07", "92,233,720,368,547,758.07"},
	}
	for in, want := range cents {
		if got := formatCents(in, false); got != want[0] {
			t.Errorf("formatCents(%d, false) = %q, want %q", in, got, want[0])
		}
		if got := formatCents(in, true); got != want[1] {
			t.Errorf("formatCents(%d, true) = %q, want %q", in, got, want[1])
		}
	}
	counts := map[int64]string{0: "0", 999: "999", 1000: "1,000", 123456: "123,456", 1234567: "1,234,567", -1234: "-1,234", math.MinInt64: "-9,223,372,036,854,775,808"}
	for in, want := range counts {
		if got := formatCount(in); got != want {
			t.Errorf("formatCount(%d) = %q, want %q", in, got, want)
		}
	}
	if got := sourceName(SampleSource); got != "sample_sales.csv (embedded sample)" {
		t.Errorf("sourceName(SampleSource) = %q", got)
	}
}

func smallSummary() Summary {
	s := newSummary("sales.csv")
	s.Header = HeaderCheck{Status: HeaderOK}
	for _, sale := range []Sale{{"Zürich", "Kerze", 3, 250}, {"Salem", "candle", 1000, 450}, {"Salem", "Kerze", 1, 99}} {
		one := Totals{Orders: 1, Units: sale.Units, RevenueCents: sale.RevenueCents()}
		_ = addTo(s.ByRegion, sale.Region, one)
		_ = addTo(s.ByProduct, sale.Product, one)
		_ = s.Total.Add(one)
	}
	s.Rejected.Add(ReasonBadUnits, 7)
	s.Batches = 1
	return s
}

func TestWriteTable(t *testing.T) {
	s := smallSummary()
	var out strings.Builder
	if err := s.WriteTable(&out); err != nil {
		t.Fatal(err)
	}
	const want = `Sales summary of sales.csv
4 rows read in 1 batch: 3 accepted, 1 rejected

REGION  ORDERS  UNITS   REVENUE
Salem        2  1,001  4,500.99
Zürich       1      3      7.50
TOTAL        3  1,004  4,508.49

PRODUCT  ORDERS  UNITS   REVENUE
Kerze         2      4      8.49
candle        1  1,000  4,500.00
TOTAL         3  1,004  4,508.49

REJECTED   ROWS  FIRST LINE  WHY
bad_units     1           7  units is not a whole number from 0 to 1,000,000
`
	if out.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestWriteTableNothingAcceptedOrRejected(t *testing.T) {
	s := newSummary("empty.csv")
	s.Header = HeaderCheck{Status: HeaderMissing, Detail: "the input is empty"}
	s.Batches = 1
	var out strings.Builder
	if err := s.WriteTable(&out); err != nil {
		t.Fatal(err)
	}
	const want = `Sales summary of empty.csv
0 rows read in 1 batch: 0 accepted, 0 rejected
Header missing: the input is empty

No rows were accepted.

No rows were rejected.
`
	if out.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestWriteJSON(t *testing.T) {
	s := smallSummary()
	var out strings.Builder
	if err := s.WriteJSON(&out); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Rows     struct{ Read, Accepted, Rejected int64 }
		ByRegion []struct {
			Region       string
			Orders       int64
			Revenue      string
			RevenueCents int64 `json:"revenue_cents"`
		} `json:"by_region"`
		ByProduct []struct{ Product string } `json:"by_product"`
		Rejected  []struct {
			Reason    string
			Rows      int64
			FirstLine int `json:"first_line"`
			Why       string
		}
	}
	dec := json.NewDecoder(strings.NewReader(out.String()))
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out.String())
	}
	if got.Rows.Read != 4 || got.Rows.Accepted != 3 || got.Rows.Rejected != 1 {
		t.Errorf("rows = %+v", got.Rows)
	}
	if len(got.ByRegion) != 2 || got.ByRegion[0].Region != "Salem" || got.ByRegion[0].Revenue != "4500.99" || got.ByRegion[0].RevenueCents != 450099 {
		t.Errorf("by_region = %+v", got.ByRegion)
	}
	if len(got.ByProduct) != 2 || got.ByProduct[0].Product != "Kerze" {
		t.Errorf("by_product = %+v", got.ByProduct)
	}
	if len(got.Rejected) != 1 || got.Rejected[0].Reason != "bad_units" || got.Rejected[0].FirstLine != 7 || got.Rejected[0].Why == "" {
		t.Errorf("rejected = %+v", got.Rejected)
	}
}

// errWriter fails every write.
type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteErrorsAreReturned(t *testing.T) {
	s := smallSummary()
	if err := s.WriteTable(errWriter{}); err == nil {
		t.Error("WriteTable to a failing writer returned nil")
	}
	if err := s.WriteJSON(errWriter{}); err == nil {
		t.Error("WriteJSON to a failing writer returned nil")
	}
}
