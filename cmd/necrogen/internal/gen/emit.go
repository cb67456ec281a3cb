package gen

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"go/types"
	"path"
	"strings"

	"github.com/dave/jennifer/jen"
)

// emit renders the generated file of one package, gofmt'd. It is the only
// user of jennifer, and it takes every identifier it writes from m.names
// (see names.go) or from the fixed public names.
func emit(m *pkgModel) ([]byte, error) {
	e := &emitter{f: jen.NewFilePathName(m.Path, m.Name), m: m, n: m.names}
	e.f.HeaderComment(Header)
	// Fixed import names, pre-registered so that they never depend on the
	// order of use; jennifer would otherwise alias our runtime against the
	// standard library's.
	for _, p := range []string{contextPath, errorsPath, runtimePath} {
		if name := e.n.imports[p]; name == path.Base(p) && p != runtimePath {
			e.f.ImportName(p, name)
		} else {
			e.f.ImportAlias(p, name)
		}
	}
	for _, p := range foreignPackages(m) {
		if name := e.n.imports[p.Path()]; name == p.Name() {
			e.f.ImportName(p.Path(), name)
		} else {
			e.f.ImportAlias(p.Path(), name)
		}
	}

	// A package without handlers (an event package) gets its constants and
	// constructors only.
	spine := len(m.Handlers) > 0
	e.constants()
	if spine {
		e.spine()
		e.dispatch()
		e.adapters()
	}
	e.helpers()
	if spine {
		e.routes()
	}
	e.codecs()

	// Unformatted: generateFile parses it once, to format it and to check
	// it (format.Source would parse it a second time).
	e.f.NoFormat = true
	var buf bytes.Buffer
	if err := e.f.Render(&buf); err != nil {
		return nil, fmt.Errorf("internal error: rendering package %s: %w", m.Path, err)
	}
	return buf.Bytes(), nil
}

// gofmt parses the rendered source src of file name into fset and prints it
// as gofmt does (imports sorted, gofmt's printer settings), returning the
// formatted content and the parsed file, whose positions are src's.
func gofmt(fset *token.FileSet, name string, src []byte) ([]byte, *ast.File, error) {
	f, err := parser.ParseFile(fset, name, src, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return nil, nil, fmt.Errorf("internal error: the generated file does not parse: %w", err)
	}
	ast.SortImports(fset, f)
	var buf bytes.Buffer
	if err := (&printer.Config{Mode: printer.UseSpaces | printer.TabIndent, Tabwidth: 8}).Fprint(&buf, fset, f); err != nil {
		return nil, nil, fmt.Errorf("internal error: printing the generated file: %w", err)
	}
	return buf.Bytes(), f, nil
}

// emitter writes one file.
type emitter struct {
	f *jen.File
	m *pkgModel
	n *names
}

// id returns the identifier of a fixed local role (localCtx, ...).
func (e *emitter) id(role string) *jen.Statement { return jen.Id(e.n.l(role)) }

// rt refers to a name of the runtime package.
func (e *emitter) rt(name string) *jen.Statement { return jen.Qual(runtimePath, name) }

// ctxParam is the context.Context parameter every function takes.
func (e *emitter) ctxParam() *jen.Statement { return e.id(localCtx).Qual(contextPath, "Context") }

// receiver is the Spine receiver of a method.
func (e *emitter) method(name string) *jen.Statement {
	return e.f.Func().Params(e.id(localSpine).Op("*").Id(spineType)).Id(name)
}

// field refers to a field of the Spine inside one of its methods.
func (e *emitter) field(name string) *jen.Statement { return e.id(localSpine).Dot(name) }

// events returns the type of a slice of events.
func (e *emitter) events() *jen.Statement { return jen.Index().Add(e.rt("Event")) }

// event refers to the constant of an event type: EventKnock, or
// events.EventOrderPlaced for a payload type of another package.
func (e *emitter) event(ev *eventType) *jen.Statement { return jen.Qual(ev.Owner, ev.ConstName()) }

// payload refers to a payload type, qualified when another package declares it.
func (e *emitter) payload(tn *types.TypeName) *jen.Statement {
	return jen.Qual(tn.Pkg().Path(), tn.Name())
}

func (e *emitter) constants() {
	local := 0
	for _, ev := range e.m.Events {
		if !e.m.foreign(ev) {
			local++
		}
	}
	if local > 0 {
		e.constBlock()
	}
	e.f.Comment("Compile-time check that the runtime is new enough for this file: if it")
	e.f.Comment("fails, upgrade github.com/necrostack/necrostack or re-run go generate.")
	e.f.Const().Id("_").Op("=").Add(e.rt("SupportPackageIsVersion1"))
}

// constBlock writes the constants of the package's own event types; those
// of payload types of other packages are theirs.
func (e *emitter) constBlock() {
	e.f.Comment("Event types of package " + e.m.Name + ": the wire names of its payload types.")
	e.f.Const().DefsFunc(func(g *jen.Group) {
		for _, ev := range e.m.Events {
			if e.m.foreign(ev) {
				continue
			}
			doc := "is the event type of envelopes handled by " + organNames(e.m.handlersOf(ev.Name)) + "."
			if ev.Type != nil {
				doc = "is the event type of " + ev.Type.Name() + " payloads."
			}
			g.Comment(ev.ConstName() + " " + doc)
			g.Id(ev.ConstName()).Op("=").Lit(ev.Name)
		}
	})
	e.f.Line()
}

func organNames(hs []*handler) string {
	names := make([]string, len(hs))
	for i, h := range hs {
		names[i] = h.Name
	}
	return strings.Join(names, ", ")
}

func (e *emitter) spine() {
	e.f.Comment(spineType + " routes the events of package " + e.m.Name + " to their organs. It is wired")
	e.f.Comment("statically by necrogen: a switch over event types, no reflection, no registry.")
	e.f.Comment("Build it with " + spineCtor + ".")
	e.f.Type().Id(spineType).StructFunc(func(g *jen.Group) {
		g.Id(e.n.runner).Op("*").Add(e.rt("Runner"))
		for _, o := range e.m.Organs {
			g.Id(e.n.field[o]).Add(organType(o))
		}
	})

	params := []jen.Code{e.id(localBackend).Add(e.rt("Backend"))}
	for _, o := range e.m.Organs {
		params = append(params, jen.Id(e.n.param[o]).Add(organType(o)))
	}
	params = append(params, e.id(localOpts).Op("...").Add(e.rt("Option")))
	e.f.Line()
	e.f.Comment(spineCtor + " returns a Spine that pulls events from the backend and hands them to")
	if len(e.m.Organs) > 0 {
		e.f.Comment("the organs; the method organs are given here. It panics if one of them is nil.")
	} else {
		e.f.Comment("the organs.")
	}
	e.f.Func().Id(spineCtor).Params(params...).Op("*").Id(spineType).BlockFunc(e.newSpineBody)

	method := func(doc []string, name string, params []jen.Code, results []jen.Code, body ...jen.Code) {
		e.f.Line()
		for _, d := range doc {
			e.f.Comment(d)
		}
		e.method(name).Params(params...).Params(results...).Block(body...)
	}
	runner := e.field(e.n.runner)
	method([]string{"Run serves events until the context is cancelled or Stop is called; see runtime.Runner.Run."},
		"Run", []jen.Code{e.ctxParam()}, []jen.Code{jen.Error()},
		jen.Return(runner.Clone().Dot("Run").Call(e.id(localCtx))))
	method([]string{"RunUntilIdle enqueues the start events, then handles events until nothing is queued", "or in flight; see runtime.Runner.RunUntilIdle."},
		"RunUntilIdle", []jen.Code{e.ctxParam(), e.id(localStart).Op("...").Add(e.rt("Event"))}, []jen.Code{jen.Error()},
		jen.Return(runner.Clone().Dot("RunUntilIdle").Call(e.id(localCtx), e.id(localStart).Op("..."))))
	method([]string{"Subscribe joins the Spine's service to the bus for the event types it handles;", "Run, RunUntilIdle and the Emit methods do it first. See runtime.Runner.Subscribe."},
		"Subscribe", []jen.Code{e.ctxParam()}, []jen.Code{jen.Error()},
		jen.Return(runner.Clone().Dot("Subscribe").Call(e.id(localCtx))))
	method([]string{"Stop ends the current run gracefully; see runtime.Runner.Stop."},
		"Stop", nil, nil, runner.Clone().Dot("Stop").Call())
	method([]string{"Backend returns the backend the Spine pulls from."},
		"Backend", nil, []jen.Code{e.rt("Backend")}, jen.Return(runner.Clone().Dot("Backend").Call()))
}

// newSpineBody is the body of NewSpine: check the organs, build the Spine,
// give it its runner.
func (e *emitter) newSpineBody(g *jen.Group) {
	for _, o := range e.m.Organs {
		if o.Pointer {
			g.If(jen.Id(e.n.param[o]).Op("==").Nil()).Block(
				jen.Panic(jen.Lit("necrostack: " + spineCtor + ": the " + o.Type.Name() + " organ is nil")),
			)
		}
	}
	g.Add(e.id(localSpine)).Op(":=").Op("&").Id(spineType).ValuesFunc(func(g *jen.Group) {
		for _, o := range e.m.Organs {
			g.Id(e.n.field[o]).Op(":").Id(e.n.param[o])
		}
	})
	// The service and its topics come first, so that the options given can
	// rename the service.
	defaults := jen.Index().Add(e.rt("Option")).Values(
		e.rt("WithService").Call(jen.Lit(serviceName(e.m.Path))),
		e.rt("WithTopics").CallFunc(func(g *jen.Group) {
			for _, ev := range e.m.Events {
				if len(e.m.handlersOf(ev.Name)) > 0 {
					g.Add(e.event(ev))
				}
			}
		}),
	)
	g.Add(e.field(e.n.runner)).Op("=").Add(e.rt("NewRunner")).Call(e.id(localBackend), e.id(localSpine),
		jen.Append(defaults, e.id(localOpts).Op("...")).Op("..."))
	g.Return(e.id(localSpine))
}

// serviceName is the default service of a package's Spine: the last element
// of its import path ("seance" for .../examples/seance, even as package
// main), or the one before a major-version suffix (".../shop/v2" is "shop").
func serviceName(pkgPath string) string {
	dir, last := path.Split(pkgPath)
	if dir != "" && len(last) > 1 && last[0] == 'v' && strings.Trim(last[1:], "0123456789") == "" {
		return path.Base(strings.TrimSuffix(dir, "/"))
	}
	return last
}

func organType(o *organ) *jen.Statement {
	if o.Pointer {
		return jen.Op("*").Id(o.Type.Name())
	}
	return jen.Id(o.Type.Name())
}

// dispatch writes the switch over event types.
func (e *emitter) dispatch() {
	out := e.id(localOut)
	e.f.Line()
	e.f.Comment("Dispatch hands one event to the organs that listen to its type, in declaration")
	e.f.Comment("order, and appends what they emit to the events given. Organ failures come back as")
	e.f.Comment("*runtime.HandlerError values joined together; an event type no organ listens to")
	e.f.Comment("is an error matching runtime.ErrNoRoute.")
	e.method("Dispatch").Params(
		e.ctxParam(), e.id(localIn).Add(e.rt("Event")), out.Clone().Add(e.events()),
	).Params(e.events(), jen.Error()).Block(
		jen.Switch(e.id(localIn).Dot("Type")).BlockFunc(func(g *jen.Group) {
			for _, ev := range e.m.Events {
				if hs := e.m.handlersOf(ev.Name); len(hs) > 0 {
					g.Case(e.event(ev)).BlockFunc(func(g *jen.Group) { e.dispatchCase(g, ev, hs) })
				}
			}
			g.Default().Block(jen.Return(out, e.rt("NoRoute").Call(e.id(localIn))))
		}),
	)
}

func (e *emitter) dispatchCase(g *jen.Group, ev *eventType, hs []*handler) {
	typed := false
	for _, h := range hs {
		typed = typed || !h.Envelope
	}
	out, err := e.id(localOut), e.id(localErr)
	if typed {
		g.List(e.id(localPayload), err).Op(":=").Add(e.rt("Payload")).Types(e.payload(ev.Type)).Call(e.id(localIn))
		g.If(err.Clone().Op("!=").Nil()).Block(jen.Return(out, err))
	}
	call := func(h *handler) *jen.Statement {
		args := []jen.Code{e.id(localCtx), e.id(localIn)}
		if !h.Envelope {
			args = append(args, e.id(localPayload))
		}
		return e.field(e.n.adapter[h]).Call(append(args, out)...)
	}
	// Through the organ middleware and the handler timeout when the runner
	// has them; else the adapter directly, at no cost.
	wrapped := func(h *handler) *jen.Statement {
		return e.field(e.n.runner).Dot("CallOrgan").Call(e.id(localCtx), jen.Lit(h.Name), e.id(localIn), out,
			jen.Func().Params(e.ctxParam(), jen.Id("_").String(), e.id(localIn).Add(e.rt("Event")), out.Clone().Add(e.events())).
				Params(e.events(), jen.Error()).Block(jen.Return(call(h))))
	}
	wraps := e.field(e.n.runner).Dot("WrapsOrgans").Call()
	if len(hs) == 1 {
		g.If(wraps).Block(jen.Return(wrapped(hs[0])))
		g.Return(call(hs[0]))
		return
	}
	errs := make([]jen.Code, len(hs))
	for i := range hs {
		errs[i] = jen.Id(e.n.errs[i])
	}
	g.Var().List(errs...).Error()
	g.If(wraps).BlockFunc(func(g *jen.Group) {
		for i, h := range hs {
			g.List(out, errs[i]).Op("=").Add(wrapped(h))
		}
	}).Else().BlockFunc(func(g *jen.Group) {
		for i, h := range hs {
			g.List(out, errs[i]).Op("=").Add(call(h))
		}
	})
	g.Return(out, jen.Qual(errorsPath, "Join").Call(errs...))
}

// adapters writes one typed adapter per handler: call, wrap the error, turn
// the result into emitted events, recover a panic. Its result starts as out,
// so that after a recovered panic the events earlier organs emitted survive.
func (e *emitter) adapters() {
	for _, h := range e.m.Handlers {
		params := []jen.Code{e.ctxParam(), e.id(localIn).Add(e.rt("Event"))}
		if !h.Envelope {
			params = append(params, e.id(localPayload).Add(e.payload(h.Payload)))
		}
		params = append(params, e.id(localOut).Add(e.events()))
		e.f.Line()
		e.f.Comment(e.n.adapter[h] + " calls " + h.Name + " and appends what it emits to the events given; after a panic it returns them as they were.")
		e.method(e.n.adapter[h]).Params(params...).
			Params(e.id(localEmitted).Add(e.events()), e.id(localErr).Error()).
			BlockFunc(func(g *jen.Group) { e.adapterBody(g, h) })
	}
}

func (e *emitter) adapterBody(g *jen.Group, h *handler) {
	organ := jen.Lit(h.Name)
	out, err, r := e.id(localOut), e.id(localErr), e.id(localResult)
	g.Add(e.id(localEmitted)).Op("=").Add(out)
	g.Defer().Add(e.rt("Recover")).Call(organ, jen.Op("&").Add(err))
	var callee *jen.Statement
	if h.Organ != nil {
		callee = e.field(e.n.field[h.Organ]).Dot(h.Func.Name())
	} else {
		callee = jen.Id(h.Func.Name())
	}
	var args []jen.Code
	if h.HasCtx {
		args = append(args, e.id(localCtx))
	}
	if h.Envelope {
		args = append(args, e.id(localIn))
	} else {
		args = append(args, e.id(localPayload))
	}
	call := callee.Call(args...)
	organError := func() *jen.Statement { return e.rt("OrganError").Call(organ, err) }

	if h.Result == resultNone {
		if h.ReturnsErr {
			g.If(err.Clone().Op("=").Add(call), err.Clone().Op("!=").Nil()).Block(jen.Return(out, organError()))
		} else {
			g.Add(call)
		}
		g.Return(out, jen.Nil())
		return
	}
	if h.ReturnsErr {
		g.List(r, err).Op(":=").Add(call)
		g.If(err.Clone().Op("!=").Nil()).Block(jen.Return(out, organError()))
	} else {
		g.Add(r).Op(":=").Add(call)
	}
	appendChild := func(v jen.Code) *jen.Statement {
		return e.rt("AppendChild").Call(out, e.id(localIn), e.event(e.m.eventOf(h.ResultType)), v)
	}
	switch h.Result {
	case resultValue:
		g.Return(appendChild(r), jen.Nil())
	case resultPointer:
		g.If(r.Clone().Op("!=").Nil()).Block(out.Clone().Op("=").Add(appendChild(jen.Op("*").Add(r))))
		g.Return(out, jen.Nil())
	case resultSlice:
		g.For(jen.List(jen.Id("_"), e.id(localElem)).Op(":=").Range().Add(r)).Block(out.Clone().Op("=").Add(appendChild(e.id(localElem))))
		g.Return(out, jen.Nil())
	case resultEnvelope, resultEnvelopes:
		arg := r
		if h.Result == resultEnvelopes {
			arg = r.Clone().Op("...")
		}
		g.List(out, err).Op("=").Add(e.rt("AppendEmitted")).Call(out, e.id(localIn), arg)
		g.Return(out, organError())
	}
}

// helpers writes, per payload type of the package, a constructor of its
// event, and per payload type the Spine handles or emits (its own or another
// package's, whose constructor it calls) an Emit method on the Spine.
func (e *emitter) helpers() {
	p := e.id(localPayload)
	for _, ev := range e.m.Events {
		if ev.Type == nil {
			continue
		}
		if !e.m.foreign(ev) {
			e.f.Line()
			e.f.Comment(newEventFunc(ev) + " returns a new " + ev.Name + " event carrying the payload.")
			e.f.Func().Id(newEventFunc(ev)).Params(p.Clone().Add(e.payload(ev.Type))).Add(e.rt("Event")).Block(
				jen.Return(e.rt("MustNewEvent").Call(e.event(ev), p)),
			)
		}
		if len(e.m.Handlers) == 0 {
			continue
		}
		e.f.Line()
		e.f.Comment(emitMethod(ev) + " publishes a new " + ev.Name + " event carrying the payload on the Spine's bus,")
		e.f.Comment("after subscribing the Spine's service (see Subscribe).")
		e.method(emitMethod(ev)).Params(e.ctxParam(), p.Clone().Add(e.payload(ev.Type))).Error().Block(
			jen.Return(e.field(e.n.runner).Dot("Emit").Call(e.id(localCtx), jen.Qual(ev.Owner, newEventFunc(ev)).Call(p))),
		)
	}
}

// routes writes the static routing table.
func (e *emitter) routes() {
	e.f.Line()
	e.f.Comment(routesFunc + " returns the routing table of the Spine: each organ and the event type it")
	e.f.Comment("listens to, in dispatch order. The slice is new on every call.")
	e.f.Func().Id(routesFunc).Params().Index().Add(e.rt("Route")).Block(
		jen.Return(jen.Index().Add(e.rt("Route")).ValuesFunc(func(g *jen.Group) {
			for _, ev := range e.m.Events {
				for _, h := range e.m.handlersOf(ev.Name) {
					payload := "runtime.Event"
					if !h.Envelope {
						payload = h.Payload.Pkg().Path() + "." + h.Payload.Name()
					}
					emits := jen.Nil()
					if es := e.m.emits(h); es != nil {
						emits = jen.Index().String().ValuesFunc(func(g *jen.Group) {
							for _, name := range es {
								g.Add(e.event(e.m.eventByName(name)))
							}
						})
					}
					g.Values(jen.Dict{
						jen.Id("EventType"):   e.event(ev),
						jen.Id("Organ"):       jen.Lit(h.Name),
						jen.Id("PayloadType"): jen.Lit(payload),
						jen.Id("Emits"):       emits,
					})
				}
			}
		})),
	)
}
