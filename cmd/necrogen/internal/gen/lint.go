package gen

import (
	"slices"
	"strings"
)

// lint checks the flow of events through a package and reports warnings:
// an event type emitted but never handled; one handled
// but never emitted and not declared an entry point (//necro:entry); a cycle
// of organs that always emit, which never ends by itself. A cycle through an
// organ that may emit nothing (a *T, []T or envelope result) is how a stream
// pulls in its next piece, and is left alone. It runs in time linear in the
// size of the package.
func lint(m *pkgModel, d *diags) {
	emitted := map[string]bool{}
	opaque := false // a handler returns envelopes: what it emits is known only at run time
	for _, h := range m.Handlers {
		if h.Result == resultEnvelope || h.Result == resultEnvelopes {
			opaque = true
		}
		for _, e := range m.emits(h) {
			emitted[e] = true
			if len(m.handlersOf(e)) == 0 {
				d.warnf(h.Pos, "handler %s emits %s, but no organ listens to it: add a handler, or stop emitting it", h.Name, e)
			}
		}
	}
	if !opaque {
		for _, e := range m.Events {
			if len(m.handlersOf(e.Name)) == 0 || emitted[e.Name] || e.Entry {
				continue
			}
			what := "its payload type"
			if e.Type == nil {
				what = "it"
			}
			d.warnf(e.Pos, "event type %s is handled but no organ emits it: if it starts chains, mark %s //necro:entry", e.Name, what)
		}
	}
	for _, cycle := range organCycles(m) {
		names := make([]string, len(cycle))
		for i, h := range cycle {
			names[i] = h.Name
		}
		d.warnf(cycle[0].Pos, "organs %s → %s form a cycle: each always emits the next one's event, so events go round it forever unless runtime.WithMaxSteps is set", strings.Join(names, " → "), names[0])
	}
}

// organCycles returns one cycle per strongly connected component of the
// organ graph that has one (an organ that always emits one event points at
// the organs that handle it), in declaration order of their first organs.
// Each cycle starts at its component's first organ and takes the shortest
// way back to it. Tarjan's algorithm and one breadth-first search per
// component keep it linear.
func organCycles(m *pkgModel) [][]*handler {
	next := func(h *handler) []*handler {
		if h.Result != resultValue {
			return nil // it can end the cycle by emitting nothing
		}
		var out []*handler
		for _, e := range m.emits(h) {
			out = append(out, m.handlersOf(e)...)
		}
		return out
	}
	index := make(map[*handler]int, len(m.Handlers))
	for i, h := range m.Handlers {
		index[h] = i
	}
	comp := make(map[*handler]int, len(m.Handlers)) // component number, from 1
	var cycles [][]*handler
	for i, c := range stronglyConnected(m.Handlers, next) {
		first := c[0]
		for _, h := range c {
			comp[h] = i + 1
			if index[h] < index[first] {
				first = h
			}
		}
		self := slices.Contains(next(first), first)
		if len(c) == 1 && !self {
			continue
		}
		cycles = append(cycles, shortestCycle(first, next, func(h *handler) bool { return comp[h] == i+1 }))
	}
	slices.SortFunc(cycles, func(a, b []*handler) int { return index[a[0]] - index[b[0]] })
	return cycles
}

// shortestCycle returns the shortest path from start back to itself through
// the nodes in, found breadth first.
func shortestCycle(start *handler, next func(*handler) []*handler, in func(*handler) bool) []*handler {
	prev := map[*handler]*handler{}
	queue := []*handler{start}
	for len(queue) > 0 {
		h := queue[0]
		queue = queue[1:]
		for _, n := range next(h) {
			if n == start {
				var path []*handler
				for x := h; x != start; x = prev[x] {
					path = append(path, x)
				}
				path = append(path, start)
				slices.Reverse(path)
				return path
			}
			if _, seen := prev[n]; !seen && in(n) {
				prev[n] = h
				queue = append(queue, n)
			}
		}
	}
	return []*handler{start}
}

// stronglyConnected returns the strongly connected components of the graph
// (Tarjan's algorithm, iterative so that long chains do not grow the stack).
func stronglyConnected(nodes []*handler, next func(*handler) []*handler) [][]*handler {
	type frame struct {
		h     *handler
		succ  []*handler
		child int
	}
	num := make(map[*handler]int, len(nodes)) // visit number, from 1
	low := make(map[*handler]int, len(nodes))
	onStack := make(map[*handler]bool, len(nodes))
	var stack []*handler
	var comps [][]*handler
	counter := 0
	for _, root := range nodes {
		if num[root] != 0 {
			continue
		}
		visit := func(h *handler) frame {
			counter++
			num[h], low[h] = counter, counter
			stack = append(stack, h)
			onStack[h] = true
			return frame{h: h, succ: next(h)}
		}
		calls := []frame{visit(root)}
		for len(calls) > 0 {
			f := &calls[len(calls)-1]
			if f.child < len(f.succ) {
				n := f.succ[f.child]
				f.child++
				switch {
				case num[n] == 0:
					calls = append(calls, visit(n))
				case onStack[n]:
					low[f.h] = min(low[f.h], num[n])
				}
				continue
			}
			h := f.h
			calls = calls[:len(calls)-1]
			if len(calls) > 0 {
				parent := calls[len(calls)-1].h
				low[parent] = min(low[parent], low[h])
			}
			if low[h] == num[h] {
				var c []*handler
				for {
					x := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					onStack[x] = false
					c = append(c, x)
					if x == h {
						break
					}
				}
				comps = append(comps, c)
			}
		}
	}
	return comps
}
