package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Set is the parsed output: every sample of every metric of every benchmark.
type Set struct {
	CPU     string                          // the "cpu:" header line
	Names   []string                        // benchmark names in order of first appearance, without -GOMAXPROCS
	Samples map[string]map[string][]float64 // name → unit → samples
}

// Machine names where the benchmarks ran.
type Machine struct {
	CPU   string
	CPUs  int
	Go    string
	Redis string
	Date  string
}

var procsSuffix = regexp.MustCompile(`-\d+$`)

// Parse reads `go test -bench` output.
func Parse(r io.Reader) (*Set, error) {
	set := &Set{Samples: map[string]map[string][]float64{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if cpu, ok := strings.CutPrefix(line, "cpu: "); ok {
			set.CPU = strings.TrimSpace(cpu)
			continue
		}
		if !strings.HasPrefix(line, "Benchmark") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || len(f)%2 != 0 {
			continue // a benchmark's log line, or a name printed before its result
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		name := procsSuffix.ReplaceAllString(f[0], "")
		m := set.Samples[name]
		if m == nil {
			m = map[string][]float64{}
			set.Samples[name] = m
			set.Names = append(set.Names, name)
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%q: value %q: %v", line, f[i], err)
			}
			m[f[i+1]] = append(m[f[i+1]], v)
		}
	}
	return set, sc.Err()
}

// Median returns the median of name's unit, and whether there is one.
func (s *Set) Median(name, unit string) (float64, bool) {
	v := slices.Clone(s.Samples[name][unit])
	if len(v) == 0 {
		return 0, false
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2], true
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2, true
}

// Runs returns how many samples name has of unit.
func (s *Set) Runs(name, unit string) int { return len(s.Samples[name][unit]) }

// pair is a workload measured on both sides.
type pair struct {
	key              string // the name without its impl= element
	params           map[string]string
	baseline, necro  string
	hasBase, hasNecr bool
}

// pairs returns the workloads of a benchmark (its name's first element) in
// order of appearance.
func (s *Set) pairs(bench string) []*pair {
	var out []*pair
	byKey := map[string]*pair{}
	for _, name := range s.Names {
		elems := strings.Split(name, "/")
		if elems[0] != bench {
			continue
		}
		var impl string
		params := map[string]string{}
		var rest []string
		for _, e := range elems[1:] {
			k, v, ok := strings.Cut(e, "=")
			if ok && k == "impl" {
				impl = v
				continue
			}
			if ok {
				params[k] = v
			}
			rest = append(rest, e)
		}
		key := strings.Join(append([]string{bench}, rest...), "/")
		p := byKey[key]
		if p == nil {
			p = &pair{key: key, params: params}
			byKey[key] = p
			out = append(out, p)
		}
		switch impl {
		case "baseline":
			p.baseline, p.hasBase = name, true
		case "necrostack":
			p.necro, p.hasNecr = name, true
		}
	}
	return out
}

// Render writes the tables.
func Render(w io.Writer, s *Set, m Machine) {
	runs := 0
	for _, name := range s.Names {
		for _, v := range s.Samples[name] {
			runs = max(runs, len(v))
		}
	}
	fmt.Fprintf(w, "Measured %s on %s, %d CPUs, %s", m.Date, orUnknown(m.CPU), m.CPUs, orUnknown(m.Go))
	if m.Redis != "" {
		fmt.Fprintf(w, ", redis-server %s", m.Redis)
	}
	fmt.Fprintf(w, "; each figure is the median of %d runs, NecroStack and its baseline in the same `go test -bench` run. "+
		"Ratios are NecroStack ÷ baseline; ✓/✗ say whether the row meets its target.\n\n", runs)

	if ps := s.pairs("BenchmarkMemoryChain"); len(ps) > 0 || len(s.pairs("BenchmarkMemoryService")) > 0 {
		fmt.Fprintln(w, "Memory backend, per event handled. Baseline: bench/baseline's ring FIFO of `{Type string; Payload any}` and a `switch`; NecroStack: the generated Spine on `memory.New()`.")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| workload | baseline | NecroStack | ratio (ns) | ratio (CPU) | target |")
		fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- |")
		for _, p := range ps {
			memoryRow(w, s, p, fmt.Sprintf("%s chains in flight (`RunUntilIdle`)", thousands(p.params["depth"])), 2)
		}
		for _, p := range s.pairs("BenchmarkMemoryService") {
			memoryRow(w, s, p, fmt.Sprintf("service mode: `Run` + `Emit…`, window of %s chains", p.params["window"]), 3)
		}
		fmt.Fprintln(w)
	}

	if ps := s.pairs("BenchmarkRedisChain"); len(ps) > 0 {
		fmt.Fprintln(w, "Redis Streams, one local redis-server. Baseline: bench/baseline's go-redis loop (XREADGROUP, `encoding/json` envelope, pipelined XADD + XACK; no ownership check, retries or dead letters), one consumer per worker; "+
			"NecroStack: the generated Spine on `redisstream` with default options but the batch size (ownership-checked settle script, retries, dead letters), `RunUntilIdle` with `WithWorkers`.")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Each cell is baseline → NecroStack. Events per CPU-second counts the CPU of both the client and redis-server per event "+
			"(baseline's ÷ NecroStack's): with one worker, events/s on an idle machine is close to it, and unlike events/s it hardly moves when other work shares the machine.")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| batch | workers | events/s | % of baseline (≥ 70%) | events per CPU-second: % of baseline | Redis CPU ns/event | ratio (≤ 1.5×) | client CPU ns/event | ratio | client allocs/event (≤ 20) | client B/event |")
		fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
		for _, p := range ps {
			if !p.hasBase || !p.hasNecr {
				continue
			}
			get := func(name, unit string) float64 { v, _ := s.Median(name, unit); return v }
			bEv, nEv := get(p.baseline, "events/s"), get(p.necro, "events/s")
			bCPU, nCPU := get(p.baseline, "redis-cpu-ns/event"), get(p.necro, "redis-cpu-ns/event")
			bCl, nCl := get(p.baseline, "client-cpu-ns/event"), get(p.necro, "client-cpu-ns/event")
			bAl, nAl := get(p.baseline, "allocs/event"), get(p.necro, "allocs/event")
			bB, nB := get(p.baseline, "B/event"), get(p.necro, "B/event")
			fmt.Fprintf(w, "| %s | %s | %s → %s | %s %s | %s | %s → %s | %s %s | %s → %s | %s | %s → %s %s | %s → %s |\n",
				p.params["batch"], p.params["workers"],
				num(bEv), num(nEv), percent(nEv, bEv), mark(nEv >= 0.7*bEv),
				percent(bCPU+bCl, nCPU+nCl),
				num(bCPU), num(nCPU), ratio(nCPU, bCPU), mark(nCPU <= 1.5*bCPU),
				num(bCl), num(nCl), ratio(nCl, bCl),
				num(bAl), num(nAl), mark(nAl <= 20),
				num(bB), num(nB))
		}
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Where Redis spends its time: ns per event, baseline → NecroStack; redis-server's CPU from `INFO cpu`, the rest from `INFO commandstats` (wall time inside each command). `evalsha` is NecroStack's settle script and includes the XADD, XACK and XPENDING it runs, which are also counted in their own columns; the baseline runs no script.")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| batch | workers | redis-server CPU | evalsha | xreadgroup | xadd | xack | xpending | other |")
		fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
		for _, p := range ps {
			if !p.hasBase || !p.hasNecr {
				continue
			}
			cell := func(unit string) string {
				n, _ := s.Median(p.necro, unit)
				b, _ := s.Median(p.baseline, unit)
				return num(b) + " → " + num(n)
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", p.params["batch"], p.params["workers"],
				cell("redis-cpu-ns/event"), cell("redis-evalsha-ns/event"), cell("redis-xreadgroup-ns/event"),
				cell("redis-xadd-ns/event"), cell("redis-xack-ns/event"), cell("redis-xpending-ns/event"), cell("redis-other-ns/event"))
		}
		fmt.Fprintln(w)
	}

	defer fmt.Fprintln(w, "To rerun: `make bench` runs every benchmark six times and prints these tables; "+
		"`go test -run '^$' -bench BenchmarkMemory -count 6 ./bench | tee mem.txt; go run ./bench/cmd/benchtable mem.txt` runs one comparison. "+
		"The Redis benchmarks start their own redis-server from PATH.")

	var dispatch []string
	for _, name := range s.Names {
		if strings.HasPrefix(name, "BenchmarkDispatch/") {
			dispatch = append(dispatch, name)
		}
	}
	if len(dispatch) > 0 {
		fmt.Fprintln(w, "Dispatch alone (no queue), per event, over NecroStack's `runtime.Event`: not a baseline comparison, but what the generated adapters add to a hand-written switch on the same envelope, and what `reflect.Value.Call` registration would cost.")
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| dispatcher | ns/event | allocs/event | ÷ generated |")
		fmt.Fprintln(w, "| --- | --- | --- | --- |")
		gen, _ := s.Median("BenchmarkDispatch/impl=generated", "ns/event")
		for _, name := range dispatch {
			ns, _ := s.Median(name, "ns/event")
			al, _ := s.Median(name, "allocs/event")
			fmt.Fprintf(w, "| %s | %s | %s | %s |\n", strings.TrimPrefix(name, "BenchmarkDispatch/impl="), num(ns), fixed(al), ratio(ns, gen))
		}
		fmt.Fprintln(w)
	}
}

func memoryRow(w io.Writer, s *Set, p *pair, label string, target float64) {
	if !p.hasBase || !p.hasNecr {
		return
	}
	cell := func(name string) (string, float64, float64) {
		ns, _ := s.Median(name, "ns/event")
		al, _ := s.Median(name, "allocs/event")
		b, _ := s.Median(name, "B/event")
		return fmt.Sprintf("%s ns, %s allocs, %s B", num(ns), fixed(al), num(b)), ns, al
	}
	bc, bns, _ := cell(p.baseline)
	nc, nns, nal := cell(p.necro)
	cpuRatio := "–"
	if bcpu, ok := s.Median(p.baseline, "cpu-ns/event"); ok {
		ncpu, _ := s.Median(p.necro, "cpu-ns/event")
		cpuRatio = ratio(ncpu, bcpu)
	}
	fmt.Fprintf(w, "| %s | %s | %s | %s | %s | ≤ %g× %s, ≤ 1 alloc %s |\n", label, bc, nc, ratio(nns, bns), cpuRatio, target, mark(nns <= target*bns), mark(nal <= 1.0049))
}

func orUnknown(s string) string {
	if s == "" {
		return "an unknown machine"
	}
	return s
}

func mark(ok bool) string {
	if ok {
		return "✓"
	}
	return "✗"
}

// num formats a figure with three significant digits, thousands grouped.
func num(v float64) string {
	switch a := math.Abs(v); {
	case a == 0:
		return "0"
	case a >= 1000:
		return thousands(fmt.Sprintf("%.0f", v))
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func fixed(v float64) string { return fmt.Sprintf("%.2f", v) }

func ratio(a, b float64) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func percent(a, b float64) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f%%", 100*a/b)
}

// thousands groups the digits of an integer in text: 65536 → 65,536.
func thousands(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	if len(s) <= 3 || strings.ContainsAny(s, ".e") {
		if neg {
			return "-" + s
		}
		return s
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	head := len(s) % 3
	if head > 0 {
		b.WriteString(s[:head])
	}
	for i := head; i < len(s); i += 3 {
		if b.Len() > 0 && !(neg && b.Len() == 1) {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}
