package gen

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// Graph formats.
const (
	FormatMermaid = "mermaid"
	FormatDOT     = "dot"
)

// Graph renders the organs and event types of every generated package of r
// as one graph: event types point at the organs that listen to them, organs
// at the event types they emit. A package alone is drawn flat. Several
// packages become one diagram of the module: every event type is one topic
// node, shared by the packages of its system (see systems), and every
// package with organs is a service, a subgraph (a cluster, in DOT) of its
// organs; a topic's edges go from the organs that emit it, in any service,
// to those that handle it. When the packages form several systems, each
// system has topic nodes of its own, prefixed y1_, y2_, ... It is drawn from
// the model the generator uses.
func Graph(r *Result, format string) (string, error) {
	var b strings.Builder
	g := &graphWriter{b: &b, systems: systems(r.models), flat: len(r.models) == 1}
	switch format {
	case FormatMermaid:
		if g.flat {
			fmt.Fprintf(&b, "%%%% %s\n", r.models[0].Path)
		}
		b.WriteString("flowchart LR\n")
		for i, sys := range g.systems {
			g.mermaid(i, sys)
		}
	case FormatDOT:
		name := "necrostack"
		if g.flat {
			fmt.Fprintf(&b, "// %s\n", r.models[0].Path)
			name = path.Base(r.models[0].Path)
		}
		fmt.Fprintf(&b, "digraph %q {\n    rankdir=LR;\n", name)
		for i, sys := range g.systems {
			g.dot(i, sys)
		}
		b.WriteString("}\n")
	default:
		return "", fmt.Errorf("unknown graph format %q: use mermaid or dot", format)
	}
	return b.String(), nil
}

// graphWriter writes a graph, system by system.
type graphWriter struct {
	b        *strings.Builder
	systems  [][]*pkgModel
	flat     bool // one package: no subgraph, ids unprefixed
	services int  // subgraphs written so far
}

// topic returns the node id of an event type of system i (DOT quotes it).
func (g *graphWriter) topic(i int, name, sep string) string {
	if len(g.systems) == 1 {
		return name
	}
	return fmt.Sprintf("y%d%s%s", i+1, sep, name)
}

// topics returns the event types of the packages, each once, sorted.
func topics(models []*pkgModel) []string {
	var out []string
	for _, m := range models {
		for _, e := range m.Events {
			out = append(out, e.Name)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// service opens the subgraph of a package with organs, unless the graph is
// flat, and returns the indent of its nodes and the prefix of their ids.
func (g *graphWriter) service(m *pkgModel, open string) (indent, prefix string) {
	if g.flat {
		return "    ", ""
	}
	g.services++
	fmt.Fprintf(g.b, open, g.services, "service "+serviceName(m.Path)+" ("+m.Path+")")
	return "        ", fmt.Sprintf("s%d_", g.services)
}

// edges calls emit for each edge of the packages: event type to organ,
// organ to event type, and organ to any event for an envelope result.
func edges(models []*pkgModel, listen, emit func(m *pkgModel, h *handler, event string), any func(m *pkgModel, h *handler)) {
	for _, m := range models {
		for _, e := range m.Events {
			for _, h := range m.handlersOf(e.Name) {
				listen(m, h, e.Name)
			}
		}
		for _, h := range m.Handlers {
			for _, e := range m.emits(h) {
				emit(m, h, e)
			}
			if h.Result == resultEnvelope || h.Result == resultEnvelopes {
				any(m, h)
			}
		}
	}
}

// mermaid writes system i: its topics, the organs of each service, then
// the edges.
func (g *graphWriter) mermaid(i int, models []*pkgModel) {
	b := g.b
	topic := func(name string) string { return g.topic(i, name, "_") }
	for _, t := range topics(models) {
		fmt.Fprintf(b, "    %s([%s])\n", topic(t), t)
	}
	ids := map[*handler]string{}
	for _, m := range models {
		if len(m.Handlers) == 0 {
			continue
		}
		indent, prefix := g.service(m, "    subgraph s%d [\"%s\"]\n")
		for h, id := range organIDs(m) {
			ids[h] = prefix + id
		}
		for _, h := range m.Handlers {
			fmt.Fprintf(b, "%s%s[%s]\n", indent, ids[h], h.Name)
		}
		if !g.flat {
			b.WriteString("    end\n")
		}
	}
	edges(models,
		func(_ *pkgModel, h *handler, e string) { fmt.Fprintf(b, "    %s --> %s\n", topic(e), ids[h]) },
		func(_ *pkgModel, h *handler, e string) { fmt.Fprintf(b, "    %s --> %s\n", ids[h], topic(e)) },
		func(_ *pkgModel, h *handler) {
			fmt.Fprintf(b, "    %s -.->|runtime.Event| %s((any))\n", ids[h], topic("any_event"))
		})
}

// dot writes system i: its topics, a cluster of organs per service, then
// the edges. Organ nodes are named "organ X" (after the package path in a
// module) and labelled X, so that an organ named like an event type stays
// its own node.
func (g *graphWriter) dot(i int, models []*pkgModel) {
	b := g.b
	topic := func(name string) string { return fmt.Sprintf("%q", g.topic(i, name, " ")) }
	for _, t := range topics(models) {
		fmt.Fprintf(b, "    %s [label=%q, shape=oval];\n", topic(t), t)
	}
	organ := func(m *pkgModel, h *handler) string {
		if g.flat {
			return fmt.Sprintf("%q", "organ "+h.Name)
		}
		return fmt.Sprintf("%q", m.Path+".organ "+h.Name)
	}
	for _, m := range models {
		if len(m.Handlers) == 0 {
			continue
		}
		indent, _ := g.service(m, "    subgraph \"cluster_%d\" {\n        label=%q;\n")
		for _, h := range m.Handlers {
			fmt.Fprintf(b, "%s%s [label=%q, shape=box];\n", indent, organ(m, h), h.Name)
		}
		if !g.flat {
			b.WriteString("    }\n")
		}
	}
	edges(models,
		func(m *pkgModel, h *handler, e string) { fmt.Fprintf(b, "    %s -> %s;\n", topic(e), organ(m, h)) },
		func(m *pkgModel, h *handler, e string) { fmt.Fprintf(b, "    %s -> %s;\n", organ(m, h), topic(e)) },
		func(m *pkgModel, h *handler) {
			fmt.Fprintf(b, "    %s -> %s [style=dashed, label=\"runtime.Event\"];\n", organ(m, h), topic("(any)"))
		})
}

// organIDs gives each organ of m a Mermaid node id, organ_Oracle_AskQuestion,
// numbered where two would be the same (organs A_B.C and A.B_C).
func organIDs(m *pkgModel) map[*handler]string {
	ids := map[*handler]string{}
	taken := namespace{}
	for _, h := range m.Handlers {
		ids[h] = taken.fresh("organ_" + strings.ReplaceAll(h.Name, ".", "_"))
	}
	return ids
}
