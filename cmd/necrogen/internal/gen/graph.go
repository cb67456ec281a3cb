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
// as a graph: event types point at the organs that listen to them, organs at
// the event types they emit. It is drawn from the model the generator uses.
func Graph(r *Result, format string) (string, error) {
	if format != FormatMermaid && format != FormatDOT {
		return "", fmt.Errorf("unknown graph format %q: use mermaid or dot", format)
	}
	var b strings.Builder
	for i, m := range r.models {
		if i > 0 {
			b.WriteByte('\n')
		}
		switch format {
		case FormatMermaid:
			mermaid(&b, m)
		default:
			dot(&b, m)
		}
	}
	return b.String(), nil
}

func organID(h *handler) string { return "organ_" + strings.ReplaceAll(h.Name, ".", "_") }

func mermaid(b *strings.Builder, m *pkgModel) {
	fmt.Fprintf(b, "%%%% %s\nflowchart LR\n", m.Path)
	for _, e := range m.Events {
		fmt.Fprintf(b, "    %s([%s])\n", e.Name, e.Name)
	}
	for _, h := range m.Handlers {
		fmt.Fprintf(b, "    %s[%s]\n", organID(h), h.Name)
	}
	for _, e := range m.Events {
		for _, h := range m.handlersOf(e.Name) {
			fmt.Fprintf(b, "    %s --> %s\n", e.Name, organID(h))
		}
	}
	for _, h := range m.Handlers {
		for _, e := range m.emits(h) {
			fmt.Fprintf(b, "    %s --> %s\n", organID(h), e)
		}
		if h.Result == resultEnvelope || h.Result == resultEnvelopes {
			fmt.Fprintf(b, "    %s -.->|runtime.Event| any_event((any))\n", organID(h))
		}
	}
}

func dot(b *strings.Builder, m *pkgModel) {
	fmt.Fprintf(b, "// %s\ndigraph %q {\n    rankdir=LR;\n", m.Path, path.Base(m.Path))
	for _, e := range m.Events {
		fmt.Fprintf(b, "    %q [shape=oval];\n", e.Name)
	}
	for _, h := range m.Handlers {
		fmt.Fprintf(b, "    %q [shape=box];\n", h.Name)
	}
	for _, e := range m.Events {
		for _, h := range m.handlersOf(e.Name) {
			fmt.Fprintf(b, "    %q -> %q;\n", e.Name, h.Name)
		}
	}
	for _, h := range m.Handlers {
		for _, e := range m.emits(h) {
			fmt.Fprintf(b, "    %q -> %q;\n", h.Name, e)
		}
		if h.Result == resultEnvelope || h.Result == resultEnvelopes {
			fmt.Fprintf(b, "    %q -> \"(any)\" [style=dashed, label=\"runtime.Event\"];\n", h.Name)
		}
	}
	b.WriteString("}\n")
}
