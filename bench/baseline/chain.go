package baseline

import (
	"context"
	"sync/atomic"
)

// The event types: the same names as bench/chain's.
const (
	TypeSummonRitual    = "SUMMON_RITUAL"
	TypeSpiritAppeared  = "SPIRIT_APPEARED"
	TypeAnswerGenerated = "ANSWER_GENERATED"
	TypeOmenRevealed    = "OMEN_REVEALED"
)

// Types lists the event types in chain order.
var Types = [...]string{TypeSummonRitual, TypeSpiritAppeared, TypeAnswerGenerated, TypeOmenRevealed}

// SummonRitual starts a chain.
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

// The organs have the same signatures and compute the same values as
// bench/chain's, so that the organs cost the same on both sides.

// SummonSpirit is stage one.
func SummonSpirit(_ context.Context, r SummonRitual) (SpiritAppeared, error) {
	return SpiritAppeared{Ritual: r.Ritual, Spirit: r.Spirit, Mood: len(r.Spirit) % 6}, nil
}

// Oracle is stage two's organ; its counter is atomic, as bench/chain's is,
// so that it is safe with several workers.
type Oracle struct{ Asked atomic.Int64 }

// AskQuestion is stage two.
func (o *Oracle) AskQuestion(_ context.Context, s SpiritAppeared) (AnswerGenerated, error) {
	asked := o.Asked.Add(1)
	return AnswerGenerated{Ritual: s.Ritual, Answer: s.Mood*7 + int(asked%3)}, nil
}

// InterpretResponse is stage three.
func InterpretResponse(_ context.Context, a AnswerGenerated) (OmenRevealed, error) {
	return OmenRevealed{Ritual: a.Ritual, Severity: a.Answer%5 + 1}, nil
}

// Sink counts the omens that end each chain. Window, when set, is the
// service-mode window of chains in flight: the producer puts a token in
// before it publishes a root, ManifestEffect takes one out.
type Sink struct {
	Omens, Severity atomic.Int64
	Window          chan struct{}
}

// ManifestEffect is stage four: it emits nothing.
func (s *Sink) ManifestEffect(_ context.Context, o OmenRevealed) error {
	s.Omens.Add(1)
	s.Severity.Add(int64(o.Severity))
	if s.Window != nil {
		<-s.Window
	}
	return nil
}
