package gen

import (
	"cmp"
	"fmt"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
)

// lint checks the flow of events through the packages generated in one run
// — one package, or a module with ./... — system by system (see systems),
// and reports:
//
//   - one event type bound to different payload types in two packages (an
//     error: every service on a bus must agree on what an event carries);
//   - an event type emitted but handled by no service (a warning that says
//     the bus keeps such events in their topic, under its retention policy,
//     for a service that subscribes later);
//   - one handled but emitted by no organ and not declared an entry point
//     (//necro:entry);
//   - a cycle of organs that always emit, which never ends by itself. A cycle
//     through an organ that may emit nothing (a *T, []T or envelope result)
//     is how a stream pulls in its next piece, and is left alone.
//
// Only the event types of the system's own packages are checked for
// emitters and handlers: a package alone cannot know who else on the bus
// handles or emits a payload type of another package. The lint runs in time
// linear in the size of the packages.
func lint(models []*pkgModel, dir string, d *diags) {
	for _, sys := range systems(models) {
		lintSystem(sys, dir, d)
	}
}

// systems splits the packages of a run into the systems they form: a
// package whose handlers take or return a payload type of another package
// is in one system with that package (and so with every other package that
// uses its types). A package whose payload types are all its own is a
// system alone, an app as the first NecroStack apps were: nothing tells
// necrogen that it shares a bus with another one, and two such apps may
// well use the same event names for types of their own. Systems come in
// the order of their first packages, each sorted by path as models are.
func systems(models []*pkgModel) [][]*pkgModel {
	if len(models) <= 1 {
		return [][]*pkgModel{models}
	}
	parent := map[string]string{}
	var find func(p string) string
	find = func(p string) string {
		if q, ok := parent[p]; ok && q != p {
			r := find(q)
			parent[p] = r
			return r
		}
		parent[p] = p
		return p
	}
	for _, m := range models {
		for _, e := range m.Events {
			if a, b := find(m.Path), find(e.Owner); a != b {
				parent[max(a, b)] = min(a, b)
			}
		}
	}
	var out [][]*pkgModel
	index := map[string]int{}
	for _, m := range models {
		root := find(m.Path)
		i, ok := index[root]
		if !ok {
			i = len(out)
			index[root] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], m)
	}
	return out
}

// lintSystem lints the packages of one system.
func lintSystem(models []*pkgModel, dir string, d *diags) {
	f := newFlow(models)
	bad := f.checkBindings(dir, d) // event types whose flow cannot be told
	module := len(models) > 1
	emitted := map[string]bool{}
	opaque := false // a handler returns envelopes: what it emits is known only at run time
	for _, m := range models {
		for _, h := range m.Handlers {
			if h.Result == resultEnvelope || h.Result == resultEnvelopes {
				opaque = true
			}
			for _, e := range m.emits(h) {
				emitted[e] = true
				if len(f.listeners[e]) > 0 || !f.owned(m.eventByName(e)) || bad[e] {
					continue
				}
				const kept = "the bus keeps such events in their topic, under its retention policy, for a service that subscribes later"
				if module {
					d.warnf(h.Pos, "%s is emitted by service %s (handler %s) and handled by no service in the module: %s; add a handler, or stop emitting it", e, serviceName(m.Path), h.Name, kept)
				} else {
					d.warnf(h.Pos, "handler %s emits %s, but no organ listens to it: %s; add a handler, or stop emitting it", h.Name, e, kept)
				}
			}
		}
	}
	if !opaque {
		for _, name := range f.names {
			e := f.events[name]
			if len(f.listeners[name]) == 0 || emitted[name] || e.Entry || !f.owned(e) || bad[name] {
				continue
			}
			what := "its payload type"
			if e.Type == nil {
				what = "it"
			}
			if module {
				d.warnf(f.decl(e), "event type %s is handled by %s but emitted by no service in the module: if it starts chains, mark %s //necro:entry", name, f.services(name), what)
			} else {
				d.warnf(f.decl(e), "event type %s is handled but no organ emits it: if it starts chains, mark %s //necro:entry", name, what)
			}
		}
	}
	for _, cycle := range organCycles(f) {
		names := make([]string, len(cycle))
		across := false
		for _, h := range cycle {
			across = across || f.modelOf(h) != f.modelOf(cycle[0])
		}
		for i, h := range cycle {
			names[i] = h.Name
			if across {
				names[i] = h.Name + " (" + serviceName(f.modelOf(h).Path) + ")"
			}
		}
		d.warnf(cycle[0].Pos, "organs %s → %s form a cycle: each always emits the next one's event, so events go round it forever unless runtime.WithMaxSteps is set", strings.Join(names, " → "), names[0])
	}
}

// flow indexes the event types and organs of the packages of one run.
type flow struct {
	models    []*pkgModel
	paths     map[string]bool         // the packages of the run
	handlers  []*handler              // every organ, in package order, then declaration order
	model     map[*handler]*pkgModel  // nil for a package alone; see modelOf
	listeners map[string][]*handler   // event type → its organs, in any package
	events    map[string]*eventType   // event type → its payload type as its owner declares it (or an envelope-only name)
	names     []string                // the event types of events, sorted
	typed     map[string][]*eventType // event type → the distinct payload types bound to it
}

func newFlow(models []*pkgModel) *flow {
	f := &flow{models: models, paths: map[string]bool{}}
	if len(models) == 1 {
		// A package alone: its own index, and no other package to disagree with.
		m := models[0]
		f.paths[m.Path] = true
		f.handlers, f.listeners, f.events = m.Handlers, m.listeners, m.byName
		for _, e := range m.Events {
			f.names = append(f.names, e.Name)
		}
		return f
	}
	f.model = map[*handler]*pkgModel{}
	f.listeners, f.events, f.typed = map[string][]*handler{}, map[string]*eventType{}, map[string][]*eventType{}
	for _, m := range models {
		f.paths[m.Path] = true
		for _, h := range m.Handlers {
			f.handlers = append(f.handlers, h)
			f.model[h] = m
		}
		for name, hs := range m.listeners {
			f.listeners[name] = append(f.listeners[name], hs...)
		}
		for _, e := range m.Events {
			prev, seen := f.events[e.Name]
			switch {
			case !seen:
				f.names = append(f.names, e.Name)
				f.events[e.Name] = e
			case prev.Type == nil && e.Type != nil:
				f.events[e.Name] = e // the payload type over an envelope-only name
			}
			if e.Type != nil && !slices.ContainsFunc(f.typed[e.Name], func(x *eventType) bool { return sameType(x, e) }) {
				f.typed[e.Name] = append(f.typed[e.Name], e)
			}
		}
	}
	slices.Sort(f.names)
	return f
}

// sameType reports whether two event types have one payload type, seen
// from two packages.
func sameType(a, b *eventType) bool { return a.Owner == b.Owner && a.Type.Name() == b.Type.Name() }

// owned reports whether the run includes the package that declares e (or
// whose envelope handlers alone name it), so that its emitters and handlers
// are known as far as the run goes.
func (f *flow) owned(e *eventType) bool { return e != nil && f.paths[e.Owner] }

// decl returns where an event type is declared: its payload type, or the
// first directive naming an envelope-only event type.
func (f *flow) decl(e *eventType) token.Pos {
	if e.Type != nil && e.Decl.IsValid() {
		return e.Decl
	}
	return e.Pos
}

// services names the services that handle an event type: "service a" or
// "services a and b".
func (f *flow) services(name string) string {
	var out []string
	for _, h := range f.listeners[name] {
		out = append(out, serviceName(f.modelOf(h).Path))
	}
	slices.Sort(out)
	if out = slices.Compact(out); len(out) == 1 {
		return "service " + out[0]
	}
	return "services " + andList(out)
}

// emits returns the event types an organ's result can emit (see pkgModel.emits).
func (f *flow) emits(h *handler) []string { return f.modelOf(h).emits(h) }

// modelOf returns the package of an organ.
func (f *flow) modelOf(h *handler) *pkgModel {
	if f.model == nil {
		return f.models[0]
	}
	return f.model[h]
}

// checkBindings reports an event type that two packages bind to two
// payload types: one report per extra type, at its declaration. It returns
// the event types it reports.
func (f *flow) checkBindings(dir string, d *diags) map[string]bool {
	bad := map[string]bool{}
	for _, name := range f.names {
		ts := f.typed[name]
		if len(ts) < 2 {
			continue
		}
		slices.SortFunc(ts, func(a, b *eventType) int {
			return cmp.Or(cmp.Compare(a.Owner, b.Owner), cmp.Compare(a.Type.Name(), b.Type.Name()))
		})
		bad[name] = true
		first := ts[0]
		for _, e := range ts[1:] {
			d.errorf(f.decl(e), "event type %s is bound to two types, %s and %s (%s): every service on a bus must agree on the payload type of an event type; rename one with //necro:event, or use one type from a shared package",
				name, qualifiedName(e), qualifiedName(first), whereIn(d, dir, f.decl(first)))
		}
	}
	return bad
}

// qualifiedName is a payload type with its package's path: example.com/shop/events.OrderPlaced.
func qualifiedName(e *eventType) string { return e.Owner + "." + e.Type.Name() }

// whereIn formats a position for a message about several packages:
// file:line:col with the file relative to dir.
func whereIn(d *diags, dir string, pos token.Pos) string {
	p := d.fset.Position(pos)
	return fmt.Sprintf("%s:%d:%d", filepath.ToSlash(Rel(dir, p.Filename)), p.Line, p.Column)
}

// organCycles returns one cycle per strongly connected component of the
// organ graph that has one (an organ that always emits one event points at
// the organs that handle it, in any package of the run), in declaration
// order of their first organs. Each cycle starts at its component's first
// organ and takes the shortest way back to it. Tarjan's algorithm and one
// breadth-first search per component keep it linear.
func organCycles(f *flow) [][]*handler {
	next := func(h *handler) []*handler {
		if h.Result != resultValue {
			return nil // it can end the cycle by emitting nothing
		}
		var out []*handler
		for _, e := range f.emits(h) {
			out = append(out, f.listeners[e]...)
		}
		return out
	}
	index := make(map[*handler]int, len(f.handlers))
	for i, h := range f.handlers {
		index[h] = i
	}
	comp := make(map[*handler]int, len(f.handlers)) // component number, from 1
	var cycles [][]*handler
	for i, c := range stronglyConnected(f.handlers, next) {
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
