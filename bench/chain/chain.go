package chain

import (
	"context"
	"sync/atomic"
)

// SummonRitual starts a chain.
//
//necro:entry
type SummonRitual struct {
	Ritual int
	Spirit string
}

// SpiritAppeared is the second stage.
type SpiritAppeared struct {
	Ritual int
	Spirit string
	Mood   int
}

// AnswerGenerated is the third stage.
type AnswerGenerated struct {
	Ritual int
	Answer int
}

// OmenRevealed ends a chain.
type OmenRevealed struct {
	Ritual   int
	Severity int
}

// SummonSpirit is stage one.
//
//necro:listens SUMMON_RITUAL
func SummonSpirit(_ context.Context, r SummonRitual) (SpiritAppeared, error) {
	return SpiritAppeared{Ritual: r.Ritual, Spirit: r.Spirit, Mood: len(r.Spirit) % 6}, nil
}

// Oracle is a method organ, as in the demo. Its counter is atomic so that
// it is safe with several workers (runtime.WithWorkers).
type Oracle struct{ Asked atomic.Int64 }

// AskQuestion is stage two.
//
//necro:listens SPIRIT_APPEARED
func (o *Oracle) AskQuestion(_ context.Context, s SpiritAppeared) (AnswerGenerated, error) {
	asked := o.Asked.Add(1)
	return AnswerGenerated{Ritual: s.Ritual, Answer: s.Mood*7 + int(asked%3)}, nil
}

// InterpretResponse is stage three.
//
//necro:listens ANSWER_GENERATED
func InterpretResponse(_ context.Context, a AnswerGenerated) (OmenRevealed, error) {
	return OmenRevealed{Ritual: a.Ritual, Severity: a.Answer%5 + 1}, nil
}

// Sink counts the omens that end each chain, atomically (safe with several
// workers).
//
// Window, when set, is the service-mode benchmarks' window of chains in
// flight: the producer puts a token in before it emits a root, and
// ManifestEffect takes one out as the chain ends.
type Sink struct {
	Omens, Severity atomic.Int64
	Window          chan struct{}
}

// ManifestEffect is stage four: it emits nothing.
//
//necro:listens OMEN_REVEALED
func (s *Sink) ManifestEffect(_ context.Context, o OmenRevealed) error {
	s.Omens.Add(1)
	s.Severity.Add(int64(o.Severity))
	if s.Window != nil {
		<-s.Window
	}
	return nil
}
