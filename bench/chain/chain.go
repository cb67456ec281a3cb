package chain

import "context"

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

// Oracle is a method organ, as in the demo.
type Oracle struct{ Asked int }

// AskQuestion is stage two.
//
//necro:listens SPIRIT_APPEARED
func (o *Oracle) AskQuestion(_ context.Context, s SpiritAppeared) (AnswerGenerated, error) {
	o.Asked++
	return AnswerGenerated{Ritual: s.Ritual, Answer: s.Mood*7 + o.Asked%3}, nil
}

// InterpretResponse is stage three.
//
//necro:listens ANSWER_GENERATED
func InterpretResponse(_ context.Context, a AnswerGenerated) (OmenRevealed, error) {
	return OmenRevealed{Ritual: a.Ritual, Severity: a.Answer%5 + 1}, nil
}

// Sink counts the omens that end each chain.
type Sink struct{ Omens, Severity int }

// ManifestEffect is stage four: it emits nothing.
//
//necro:listens OMEN_REVEALED
func (s *Sink) ManifestEffect(_ context.Context, o OmenRevealed) error {
	s.Omens++
	s.Severity += o.Severity
	return nil
}
