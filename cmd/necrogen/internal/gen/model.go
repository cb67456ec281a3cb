package gen

import (
	"cmp"
	"go/token"
	"go/types"
	"slices"

	necroruntime "github.com/necrostack/necrostack/runtime"
)

// runtimePath is the import path of the package generated code runs on.
const runtimePath = "github.com/necrostack/necrostack/runtime"

// The generator imports the runtime it writes code for. That keeps the two
// in step — generated files refer to this constant, which the runtime of the
// same module version must have — and it makes `go get -tool
// github.com/necrostack/necrostack/cmd/necrogen` record the checksums of the
// runtime's own dependencies, so that the user's first build of generated
// code needs no second go get.
const _ = necroruntime.SupportPackageIsVersion1

// resultKind is the shape of what a handler returns (before an optional error).
type resultKind int

const (
	resultNone      resultKind = iota // func(...) or func(...) error
	resultValue                       // T
	resultPointer                     // *T: nil emits nothing
	resultSlice                       // []T
	resultEnvelope                    // runtime.Event
	resultEnvelopes                   // []runtime.Event
)

// eventType is one event type of a package: a payload type declared in it,
// a name only its envelope handlers use, or a payload type of another
// package (its owner) that its handlers take or return.
type eventType struct {
	Name     string          // wire name, e.g. SPIRIT_APPEARED
	Type     *types.TypeName // payload type; nil for a name only envelope handlers use
	Pos      token.Pos       // the type declaration, or the first directive naming it; for a foreign type, its first use here
	Decl     token.Pos       // the declaration of Type, in its own package
	Explicit token.Pos       // the //necro:event directive, if any
	Entry    bool            // declared an entry point with //necro:entry
	Marked   bool            // Type carries //necro:event or //necro:entry
	Owner    string          // import path of the package that declares Type and names the event type
}

// ConstName is the generated constant for the event type: EventSpiritAppeared.
func (e *eventType) ConstName() string {
	if e.Type != nil {
		return "Event" + exportName(e.Type.Name())
	}
	return "Event" + camel(e.Name)
}

// organ is a type whose methods are handlers: it becomes a parameter of NewSpine.
type organ struct {
	Type    *types.TypeName
	Pointer bool   // methods have pointer receivers
	Param   string // parameter and field name in the Spine
}

// handler is one //necro:listens function or method.
type handler struct {
	Name       string // SummonSpirit or Oracle.AskQuestion
	Func       *types.Func
	Pos        token.Pos
	File       string
	Organ      *organ // nil for a plain function
	HasCtx     bool
	Envelope   bool            // takes runtime.Event
	Payload    *types.TypeName // the parameter type, unless Envelope
	Listens    []string        // event types, in directive order
	Result     resultKind
	ResultType *types.TypeName // for value, pointer and slice results
	ReturnsErr bool
}

// pkgModel is everything necrogen knows about one package.
type pkgModel struct {
	Path     string
	Name     string
	Dir      string
	Types    *types.Package
	Events   []*eventType // sorted by Name
	Organs   []*organ     // in declaration order of their types
	Handlers []*handler   // in declaration order: file name, then position

	listens bool // it has //necro:listens directives, valid or not

	byName    map[string]*eventType
	byType    map[*types.TypeName]*eventType
	listeners map[string][]*handler // event type → its handlers, in order; see index
	names     *names                // identifiers of the generated file; see assignNames
	codecs    *codecPlan            // JSON codecs of the payload types; see planCodecs
}

func newModel(path, name, dir string) *pkgModel {
	return &pkgModel{Path: path, Name: name, Dir: dir, byName: map[string]*eventType{}, byType: map[*types.TypeName]*eventType{}}
}

// addEvent adds an event type; one without an owner is the package's own.
func (m *pkgModel) addEvent(e *eventType) {
	if e.Owner == "" {
		e.Owner = m.Path
	}
	m.Events = append(m.Events, e)
	m.byName[e.Name] = e
	if e.Type != nil {
		m.byType[e.Type] = e
	}
}

// rename gives an event type a new name.
func (m *pkgModel) rename(e *eventType, name string) {
	delete(m.byName, e.Name)
	e.Name = name
	m.byName[name] = e
}

// foreign reports whether e is a payload type of another package: its
// constant and constructor are that package's, not generated here.
func (m *pkgModel) foreign(e *eventType) bool { return e.Owner != m.Path }

// eventByName returns the event type with the given name, or nil.
func (m *pkgModel) eventByName(name string) *eventType { return m.byName[name] }

// eventOf returns the event type of a payload type, or nil.
func (m *pkgModel) eventOf(t *types.TypeName) *eventType { return m.byType[t] }

// generates reports whether the package gets a generated file: it has
// handlers (a Spine), or payload types of its own marked as event types (an
// event package: their constants and constructors).
func (m *pkgModel) generates() bool {
	if m == nil {
		return false
	}
	if len(m.Handlers) > 0 {
		return true
	}
	for _, e := range m.Events {
		if e.Type != nil && !m.foreign(e) {
			return true
		}
	}
	return false
}

// index sorts the event types and records the handlers of each; the model
// is complete after it.
func (m *pkgModel) index() {
	slices.SortFunc(m.Events, func(x, y *eventType) int { return cmp.Compare(x.Name, y.Name) })
	m.listeners = map[string][]*handler{}
	for _, h := range m.Handlers {
		for _, l := range h.Listens {
			m.listeners[l] = append(m.listeners[l], h)
		}
	}
}

// handlersOf returns the handlers of an event type, in dispatch order.
func (m *pkgModel) handlersOf(event string) []*handler { return m.listeners[event] }

// emits returns the event types a handler's result can emit; nil when it
// returns envelopes (any type) or nothing.
func (m *pkgModel) emits(h *handler) []string {
	if h.ResultType == nil {
		return nil
	}
	if e := m.eventOf(h.ResultType); e != nil {
		return []string{e.Name}
	}
	return nil
}

func exportName(s string) string {
	if s == "" {
		return s
	}
	if c := s[0]; c >= 'a' && c <= 'z' {
		return string(c-'a'+'A') + s[1:]
	}
	return s
}
