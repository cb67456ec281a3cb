package gen

import (
	"fmt"
	"path"
	"strings"
)

// Graph formats.
const (
	FormatMermaid = "mermaid"
	FormatDOT     = "dot"
)

// Graph renders the organs and event types of every generated package of r
// as one graph: event types point at the organs that listen to them, organs
// at the event types they emit. Several packages become one diagram with a
// subgraph (a cluster, in DOT) per package. It is drawn from the model the
// generator uses.
func Graph(r *Result, format string) (string, error) {
	var b strings.Builder
	switch format {
	case FormatMermaid:
		if len(r.models) == 1 {
			fmt.Fprintf(&b, "%%%% %s\nflowchart LR\n", r.models[0].Path)
			mermaid(&b, r.models[0], "", "    ")
			break
		}
		b.WriteString("flowchart LR\n")
		for i, m := range r.models {
			prefix := fmt.Sprintf("p%d_", i+1)
			fmt.Fprintf(&b, "    subgraph p%d [\"%s\"]\n", i+1, m.Path)
			mermaid(&b, m, prefix, "        ")
			b.WriteString("    end\n")
		}
	case FormatDOT:
		if len(r.models) == 1 {
			m := r.models[0]
			fmt.Fprintf(&b, "// %s\ndigraph %q {\n    rankdir=LR;\n", m.Path, path.Base(m.Path))
			dot(&b, m, "", "    ")
			b.WriteString("}\n")
			break
		}
		b.WriteString("digraph \"necrostack\" {\n    rankdir=LR;\n")
		for i, m := range r.models {
			fmt.Fprintf(&b, "    subgraph \"cluster_%d\" {\n        label=%q;\n", i+1, m.Path)
			dot(&b, m, m.Path+".", "        ")
			b.WriteString("    }\n")
		}
		b.WriteString("}\n")
	default:
		return "", fmt.Errorf("unknown graph format %q: use mermaid or dot", format)
	}
	return b.String(), nil
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

// mermaid writes the nodes and edges of one package, each id prefixed.
func mermaid(b *strings.Builder, m *pkgModel, prefix, indent string) {
	ids := organIDs(m)
	for _, e := range m.Events {
		fmt.Fprintf(b, "%s%s%s([%s])\n", indent, prefix, e.Name, e.Name)
	}
	for _, h := range m.Handlers {
		fmt.Fprintf(b, "%s%s%s[%s]\n", indent, prefix, ids[h], h.Name)
	}
	for _, e := range m.Events {
		for _, h := range m.handlersOf(e.Name) {
			fmt.Fprintf(b, "%s%s%s --> %s%s\n", indent, prefix, e.Name, prefix, ids[h])
		}
	}
	for _, h := range m.Handlers {
		for _, e := range m.emits(h) {
			fmt.Fprintf(b, "%s%s%s --> %s%s\n", indent, prefix, ids[h], prefix, e)
		}
		if h.Result == resultEnvelope || h.Result == resultEnvelopes {
			fmt.Fprintf(b, "%s%s%s -.->|runtime.Event| %sany_event((any))\n", indent, prefix, ids[h], prefix)
		}
	}
}

// dot writes the nodes and edges of one package, each node name prefixed.
// Organ nodes are named "organ X" and labelled X, so that an organ named
// like an event type stays its own node.
func dot(b *strings.Builder, m *pkgModel, prefix, indent string) {
	organ := func(h *handler) string { return fmt.Sprintf("%q", prefix+"organ "+h.Name) }
	event := func(name string) string { return fmt.Sprintf("%q", prefix+name) }
	for _, e := range m.Events {
		fmt.Fprintf(b, "%s%s [label=%q, shape=oval];\n", indent, event(e.Name), e.Name)
	}
	for _, h := range m.Handlers {
		fmt.Fprintf(b, "%s%s [label=%q, shape=box];\n", indent, organ(h), h.Name)
	}
	for _, e := range m.Events {
		for _, h := range m.handlersOf(e.Name) {
			fmt.Fprintf(b, "%s%s -> %s;\n", indent, event(e.Name), organ(h))
		}
	}
	for _, h := range m.Handlers {
		for _, e := range m.emits(h) {
			fmt.Fprintf(b, "%s%s -> %s;\n", indent, organ(h), event(e))
		}
		if h.Result == resultEnvelope || h.Result == resultEnvelopes {
			fmt.Fprintf(b, "%s%s -> %s [style=dashed, label=\"runtime.Event\"];\n", indent, organ(h), event("(any)"))
		}
	}
}
