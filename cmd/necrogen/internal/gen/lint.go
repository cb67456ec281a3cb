package gen

import (
	"slices"
	"strings"
)

// lint checks the flow of events through a package and reports warnings:
// an event type emitted but never handled; one handled but never emitted and
// not declared an entry point (//necro:entry); a cycle of organs that always
// emit, which can only end at max steps. A cycle through an organ that may
// emit nothing (a *T, []T or envelope result) is how a stream pulls in its
// next piece, and is left alone.
func lint(m *pkgModel, d *diags, strict bool) {
	first := len(d.list)
	defer func() {
		if strict {
			for i := first; i < len(d.list); i++ {
				d.list[i].Severity = Error
			}
		}
	}()
	handled := map[string]bool{}
	for _, h := range m.Handlers {
		for _, l := range h.Listens {
			handled[l] = true
		}
	}
	emitted := map[string]bool{}
	opaque := false // a handler returns envelopes: what it emits is known only at run time
	for _, h := range m.Handlers {
		if h.Result == resultEnvelope || h.Result == resultEnvelopes {
			opaque = true
		}
		for _, e := range m.emits(h) {
			emitted[e] = true
			if !handled[e] {
				d.warnf(h.Pos, "handler %s emits %s, but no organ listens to it: add a handler, or stop emitting it", h.Name, e)
			}
		}
	}
	if !opaque {
		for _, e := range m.Events {
			if !handled[e.Name] || emitted[e.Name] || e.Entry {
				continue
			}
			pos, what := e.Pos, "its payload type"
			if e.Type == nil {
				what = "it"
			}
			d.warnf(pos, "event type %s is handled but no organ emits it: if it starts chains, mark %s //necro:entry", e.Name, what)
		}
	}
	for _, cycle := range organCycles(m) {
		names := make([]string, len(cycle))
		for i, h := range cycle {
			names[i] = h.Name
		}
		d.warnf(cycle[0].Pos, "organs %s → %s form a cycle: events go round it until max steps stops the run", strings.Join(names, " → "), names[0])
	}
}

// organCycles returns the elementary cycles of the organ graph (an organ
// that always emits one event points at the organs that handle it), each starting at its
// first organ in declaration order, each reported once.
func organCycles(m *pkgModel) [][]*handler {
	next := map[*handler][]*handler{}
	for _, h := range m.Handlers {
		if h.Result != resultValue {
			continue // it can end the cycle by emitting nothing
		}
		for _, e := range m.emits(h) {
			next[h] = append(next[h], handlersOf(m, e)...)
		}
	}
	index := map[*handler]int{}
	for i, h := range m.Handlers {
		index[h] = i
	}
	var cycles [][]*handler
	// Cycles through start whose other organs all come later: each cycle is
	// found once, from its earliest organ. Packages are small; a DFS is fine.
	for _, start := range m.Handlers {
		var path []*handler
		onPath := map[*handler]bool{}
		var dfs func(h *handler)
		dfs = func(h *handler) {
			path = append(path, h)
			onPath[h] = true
			for _, n := range next[h] {
				if n == start {
					cycles = append(cycles, slices.Clone(path))
				} else if !onPath[n] && index[n] > index[start] {
					dfs(n)
				}
			}
			onPath[h] = false
			path = path[:len(path)-1]
		}
		dfs(start)
	}
	return cycles
}
