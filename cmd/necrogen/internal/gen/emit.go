package gen

import (
	"bytes"
	"fmt"
	"path"
	"strconv"

	"github.com/dave/jennifer/jen"
)

// Identifiers the generated file declares at package level, beside the
// Event*, New*Event constants and functions.
const (
	spineType   = "Spine"
	spineCtor   = "NewSpine"
	routesFunc  = "Routes"
	adapterPref = "necro"
)

// generatedNames lists every package-level identifier the generated file
// declares, to check them against the user's.
func generatedNames(m *pkgModel) []string {
	names := []string{spineType, spineCtor, routesFunc}
	for _, e := range m.Events {
		names = append(names, e.ConstName())
		if e.Type != nil {
			names = append(names, newEventFunc(e))
		}
	}
	for _, h := range m.Handlers {
		names = append(names, adapterName(h))
	}
	return names
}

func newEventFunc(e *eventType) string { return "New" + exportName(e.Type.Name()) + "Event" }
func emitMethod(e *eventType) string   { return "Emit" + exportName(e.Type.Name()) }
func adapterName(h *handler) string {
	if h.Organ != nil {
		return adapterPref + h.Organ.Type.Name() + h.Func.Name()
	}
	return adapterPref + exportName(h.Func.Name())
}

// emit renders the generated file of one package, gofmt'd.
func emit(m *pkgModel) ([]byte, error) {
	f := jen.NewFilePathName(m.Path, m.Name)
	f.HeaderComment(Header)
	// Fixed import names: jennifer would otherwise alias our runtime against
	// the standard library's.
	f.ImportAlias(runtimePath, "runtime")
	f.ImportName("context", "context")
	f.ImportName("errors", "errors")

	emitConstants(f, m)
	emitSpine(f, m)
	emitDispatch(f, m)
	emitAdapters(f, m)
	emitHelpers(f, m)
	emitRoutes(f, m)

	var buf bytes.Buffer
	if err := f.Render(&buf); err != nil {
		return nil, fmt.Errorf("internal error: rendering package %s: %w", m.Path, err)
	}
	return buf.Bytes(), nil
}

func rt(name string) *jen.Statement { return jen.Qual(runtimePath, name) }

func emitConstants(f *jen.File, m *pkgModel) {
	f.Comment("Event types of package " + m.Name + ": the wire names of its payload types.")
	f.Const().DefsFunc(func(g *jen.Group) {
		for _, e := range m.Events {
			doc := "is the event type of envelopes handled by " + organsOf(m, e.Name)
			if e.Type != nil {
				doc = "is the event type of " + e.Type.Name() + " payloads."
			}
			g.Comment(e.ConstName() + " " + doc)
			g.Id(e.ConstName()).Op("=").Lit(e.Name)
		}
	})
	f.Line()
	f.Comment("Compile-time check that the runtime is new enough for this file: if it")
	f.Comment("fails, upgrade github.com/necrostack/necrostack or re-run go generate.")
	f.Const().Id("_").Op("=").Add(rt("SupportPackageIsVersion1"))
}

func organsOf(m *pkgModel, event string) string {
	var names []string
	for _, h := range m.Handlers {
		for _, l := range h.Listens {
			if l == event {
				names = append(names, h.Name)
			}
		}
	}
	s := ""
	for i, n := range names {
		if i > 0 {
			s += ", "
		}
		s += n
	}
	return s + "."
}

func emitSpine(f *jen.File, m *pkgModel) {
	f.Comment(spineType + " routes the events of package " + m.Name + " to their organs. It is wired")
	f.Comment("statically by necrogen: a switch over event types, no reflection, no registry.")
	f.Comment("Build it with " + spineCtor + ".")
	f.Type().Id(spineType).StructFunc(func(g *jen.Group) {
		g.Id("runner").Op("*").Add(rt("Runner"))
		for _, o := range m.Organs {
			g.Id(o.Param).Add(organType(o))
		}
	})

	params := []jen.Code{jen.Id("backend").Add(rt("Backend"))}
	for _, o := range m.Organs {
		params = append(params, jen.Id(o.Param).Add(organType(o)))
	}
	params = append(params, jen.Id("opts").Op("...").Add(rt("Option")))
	f.Line()
	f.Comment(spineCtor + " returns a Spine that pulls events from backend and hands them to")
	if len(m.Organs) > 0 {
		f.Comment("the organs; the method organs are given here. It panics if one of them is nil.")
	} else {
		f.Comment("the organs.")
	}
	f.Func().Id(spineCtor).Params(params...).Op("*").Id(spineType).BlockFunc(func(g *jen.Group) {
		for _, o := range m.Organs {
			if o.Pointer {
				g.If(jen.Id(o.Param).Op("==").Nil()).Block(
					jen.Panic(jen.Lit("necrostack: " + spineCtor + ": " + o.Param + " is nil")),
				)
			}
		}
		g.Id("s").Op(":=").Op("&").Id(spineType).ValuesFunc(func(g *jen.Group) {
			for _, o := range m.Organs {
				g.Id(o.Param).Op(":").Id(o.Param)
			}
		})
		g.Id("s").Dot("runner").Op("=").Add(rt("NewRunner")).Call(jen.Id("backend"), jen.Id("s"),
			jen.Append(jen.Index().Add(rt("Option")).Values(
				rt("WithService").Call(jen.Lit(serviceName(m))),
				rt("WithTopics").CallFunc(func(g *jen.Group) {
					for _, e := range m.Events {
						if len(handlersOf(m, e.Name)) > 0 {
							g.Id(e.ConstName())
						}
					}
				}),
			), jen.Id("opts").Op("...")).Op("..."))
		g.Return(jen.Id("s"))
	})

	method := func(doc []string, name string, params []jen.Code, results []jen.Code, body ...jen.Code) {
		f.Line()
		for _, d := range doc {
			f.Comment(d)
		}
		f.Func().Params(jen.Id("s").Op("*").Id(spineType)).Id(name).Params(params...).Params(results...).Block(body...)
	}
	ctx := jen.Id("ctx").Qual("context", "Context")
	method([]string{"Run serves events until ctx is cancelled or Stop is called; see runtime.Runner.Run."},
		"Run", []jen.Code{ctx}, []jen.Code{jen.Error()},
		jen.Return(jen.Id("s").Dot("runner").Dot("Run").Call(jen.Id("ctx"))))
	method([]string{"RunUntilIdle enqueues start, then handles events until nothing is queued or in", "flight; see runtime.Runner.RunUntilIdle."},
		"RunUntilIdle", []jen.Code{ctx, jen.Id("start").Op("...").Add(rt("Event"))}, []jen.Code{jen.Error()},
		jen.Return(jen.Id("s").Dot("runner").Dot("RunUntilIdle").Call(jen.Id("ctx"), jen.Id("start").Op("..."))))
	method([]string{"Subscribe joins the Spine's service to the bus for the event types it handles;", "Run, RunUntilIdle and the Emit methods do it first. See runtime.Runner.Subscribe."},
		"Subscribe", []jen.Code{ctx}, []jen.Code{jen.Error()},
		jen.Return(jen.Id("s").Dot("runner").Dot("Subscribe").Call(jen.Id("ctx"))))
	method([]string{"Stop ends the current run gracefully; see runtime.Runner.Stop."},
		"Stop", nil, nil, jen.Id("s").Dot("runner").Dot("Stop").Call())
	method([]string{"Backend returns the backend the Spine pulls from."},
		"Backend", nil, []jen.Code{rt("Backend")}, jen.Return(jen.Id("s").Dot("runner").Dot("Backend").Call()))
}

// serviceName is the default service of a package's Spine: the last element
// of its import path ("seance" for .../examples/seance, even as package main).
func serviceName(m *pkgModel) string {
	return path.Base(m.Path)
}

func organType(o *organ) *jen.Statement {
	if o.Pointer {
		return jen.Op("*").Id(o.Type.Name())
	}
	return jen.Id(o.Type.Name())
}

// emitDispatch writes the switch over event types.
func emitDispatch(f *jen.File, m *pkgModel) {
	f.Line()
	f.Comment("Dispatch hands one event to the organs that listen to its type, in declaration")
	f.Comment("order, and appends what they emit to out. Organ failures come back as")
	f.Comment("*runtime.HandlerError values joined together; an event type no organ listens to")
	f.Comment("is an error matching runtime.ErrNoRoute.")
	f.Func().Params(jen.Id("s").Op("*").Id(spineType)).Id("Dispatch").Params(
		jen.Id("ctx").Qual("context", "Context"), jen.Id("in").Add(rt("Event")), jen.Id("out").Index().Add(rt("Event")),
	).Params(jen.Index().Add(rt("Event")), jen.Error()).Block(
		jen.Switch(jen.Id("in").Dot("Type")).BlockFunc(func(g *jen.Group) {
			for _, e := range m.Events {
				hs := handlersOf(m, e.Name)
				if len(hs) == 0 {
					continue
				}
				g.Case(jen.Id(e.ConstName())).BlockFunc(func(g *jen.Group) { dispatchCase(g, e, hs) })
			}
			g.Default().Block(jen.Return(jen.Id("out"), rt("NoRoute").Call(jen.Id("in"))))
		}),
	)
}

func handlersOf(m *pkgModel, event string) []*handler {
	var out []*handler
	for _, h := range m.Handlers {
		for _, l := range h.Listens {
			if l == event {
				out = append(out, h)
			}
		}
	}
	return out
}

func dispatchCase(g *jen.Group, e *eventType, hs []*handler) {
	typed := false
	for _, h := range hs {
		typed = typed || !h.Envelope
	}
	if typed {
		g.List(jen.Id("p"), jen.Err()).Op(":=").Add(rt("Payload")).Types(jen.Id(e.Type.Name())).Call(jen.Id("in"))
		g.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Id("out"), jen.Err()))
	}
	call := func(h *handler) *jen.Statement {
		args := []jen.Code{jen.Id("ctx"), jen.Id("in")}
		if !h.Envelope {
			args = append(args, jen.Id("p"))
		}
		args = append(args, jen.Id("out"))
		if h.Organ != nil {
			return jen.Id("s").Dot(adapterName(h)).Call(args...)
		}
		return jen.Id(adapterName(h)).Call(args...)
	}
	if len(hs) == 1 {
		g.Return(call(hs[0]))
		return
	}
	errs := make([]jen.Code, len(hs))
	for i := range hs {
		errs[i] = jen.Id("err" + strconv.Itoa(i+1))
	}
	g.Var().List(errs...).Error()
	for i, h := range hs {
		g.List(jen.Id("out"), errs[i]).Op("=").Add(call(h))
	}
	g.Return(jen.Id("out"), jen.Qual("errors", "Join").Call(errs...))
}

// emitAdapters writes one typed adapter per handler: call, wrap the error,
// turn the result into emitted events, recover a panic.
func emitAdapters(f *jen.File, m *pkgModel) {
	for _, h := range m.Handlers {
		f.Line()
		params := []jen.Code{jen.Id("ctx").Qual("context", "Context"), jen.Id("in").Add(rt("Event"))}
		if !h.Envelope {
			params = append(params, jen.Id("p").Id(h.Payload.Name()))
		}
		params = append(params, jen.Id("out").Index().Add(rt("Event")))
		fn := f.Func()
		if h.Organ != nil {
			fn = fn.Params(jen.Id("s").Op("*").Id(spineType))
		}
		fn.Id(adapterName(h)).Params(params...).Params(jen.Id("_").Index().Add(rt("Event")), jen.Err().Error()).BlockFunc(func(g *jen.Group) {
			adapterBody(g, m, h)
		})
	}
}

func adapterBody(g *jen.Group, m *pkgModel, h *handler) {
	organ := jen.Lit(h.Name)
	g.Defer().Add(rt("Recover")).Call(organ, jen.Op("&").Err())
	var callee *jen.Statement
	if h.Organ != nil {
		callee = jen.Id("s").Dot(h.Organ.Param).Dot(h.Func.Name())
	} else {
		callee = jen.Id(h.Func.Name())
	}
	var args []jen.Code
	if h.HasCtx {
		args = append(args, jen.Id("ctx"))
	}
	if h.Envelope {
		args = append(args, jen.Id("in"))
	} else {
		args = append(args, jen.Id("p"))
	}
	call := callee.Call(args...)
	wrapErr := jen.If(jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Id("out"), rt("OrganError").Call(organ, jen.Err())))

	if h.Result == resultNone {
		if h.ReturnsErr {
			g.If(jen.Err().Op(":=").Add(call), jen.Err().Op("!=").Nil()).Block(jen.Return(jen.Id("out"), rt("OrganError").Call(organ, jen.Err())))
		} else {
			g.Add(call)
		}
		g.Return(jen.Id("out"), jen.Nil())
		return
	}
	if h.ReturnsErr {
		g.List(jen.Id("r"), jen.Err()).Op(":=").Add(call)
		g.Add(wrapErr)
	} else {
		g.Id("r").Op(":=").Add(call)
	}
	var ev *eventType
	if h.ResultType != nil {
		ev = m.eventOf(h.ResultType)
	}
	appendChild := func(v jen.Code) *jen.Statement {
		return rt("AppendChild").Call(jen.Id("out"), jen.Id("in"), jen.Id(ev.ConstName()), v)
	}
	switch h.Result {
	case resultValue:
		g.Return(appendChild(jen.Id("r")), jen.Nil())
	case resultPointer:
		g.If(jen.Id("r").Op("!=").Nil()).Block(jen.Id("out").Op("=").Add(appendChild(jen.Op("*").Id("r"))))
		g.Return(jen.Id("out"), jen.Nil())
	case resultSlice:
		g.For(jen.List(jen.Id("_"), jen.Id("v")).Op(":=").Range().Id("r")).Block(jen.Id("out").Op("=").Add(appendChild(jen.Id("v"))))
		g.Return(jen.Id("out"), jen.Nil())
	case resultEnvelope, resultEnvelopes:
		arg := jen.Id("r")
		if h.Result == resultEnvelopes {
			arg = jen.Id("r").Op("...")
		}
		g.List(jen.Id("out"), jen.Err()).Op("=").Add(rt("AppendEmitted")).Call(jen.Id("out"), jen.Id("in"), arg)
		g.Return(jen.Id("out"), rt("OrganError").Call(organ, jen.Err()))
	}
}

// emitHelpers writes, per payload type, a constructor of its event and an
// Emit method on the Spine.
func emitHelpers(f *jen.File, m *pkgModel) {
	for _, e := range m.Events {
		if e.Type == nil {
			continue
		}
		tn := e.Type.Name()
		f.Line()
		f.Comment(newEventFunc(e) + " returns a new " + e.Name + " event carrying p.")
		f.Func().Id(newEventFunc(e)).Params(jen.Id("p").Id(tn)).Add(rt("Event")).Block(
			jen.Return(rt("MustNewEvent").Call(jen.Id(e.ConstName()), jen.Id("p"))),
		)
		f.Line()
		f.Comment(emitMethod(e) + " publishes a new " + e.Name + " event carrying p on the Spine's bus,")
		f.Comment("after subscribing the Spine's service (see Subscribe).")
		f.Func().Params(jen.Id("s").Op("*").Id(spineType)).Id(emitMethod(e)).Params(
			jen.Id("ctx").Qual("context", "Context"), jen.Id("p").Id(tn),
		).Error().Block(
			jen.Return(jen.Id("s").Dot("runner").Dot("Emit").Call(jen.Id("ctx"), jen.Id(newEventFunc(e)).Call(jen.Id("p")))),
		)
	}
}

// emitRoutes writes the static routing table.
func emitRoutes(f *jen.File, m *pkgModel) {
	f.Line()
	f.Comment(routesFunc + " returns the routing table of the Spine: each organ and the event type it")
	f.Comment("listens to, in dispatch order. The slice is new on every call.")
	f.Func().Id(routesFunc).Params().Index().Add(rt("Route")).Block(
		jen.Return(jen.Index().Add(rt("Route")).ValuesFunc(func(g *jen.Group) {
			for _, e := range m.Events {
				for _, h := range handlersOf(m, e.Name) {
					payload := rt("Event").GoString()
					if !h.Envelope {
						payload = m.Path + "." + h.Payload.Name()
					}
					emits := jen.Nil()
					if es := m.emits(h); es != nil {
						emits = jen.Index().String().ValuesFunc(func(g *jen.Group) {
							for _, name := range es {
								g.Id(m.eventByName(name).ConstName())
							}
						})
					}
					g.Values(jen.Dict{
						jen.Id("EventType"):   jen.Id(e.ConstName()),
						jen.Id("Organ"):       jen.Lit(h.Name),
						jen.Id("PayloadType"): jen.Lit(payload),
						jen.Id("Emits"):       emits,
					})
				}
			}
		})),
	)
}
