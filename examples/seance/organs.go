package main

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"strings"
)

var moods = []string{"restless", "melancholy", "amused", "furious", "serene", "confused"}

// SummonSpirit answers a ritual with the spirit it calls. The spirit's mood
// depends only on its name and the question, so the organ needs no state.
//
//necro:listens SUMMON_RITUAL
func SummonSpirit(_ context.Context, r SummonRitual) (SpiritAppeared, error) {
	if strings.TrimSpace(r.Spirit) == "" {
		return SpiritAppeared{}, fmt.Errorf("ritual %d: no spirit named: the medium must call someone", r.Ritual)
	}
	h := fnv.New32a()
	io.WriteString(h, r.Spirit+"\x00"+r.Question)
	mood := moods[h.Sum32()%uint32(len(moods))]
	return SpiritAppeared{Ritual: r.Ritual, Medium: r.Medium, Spirit: r.Spirit, Mood: mood, Question: r.Question}, nil
}

// Oracle is an organ with state: a seeded random source that picks answers,
// so that a run with the same seed tells the same story.
type Oracle struct {
	rng *rand.Rand
}

// NewOracle returns an Oracle whose answers follow from seed.
func NewOracle(seed uint64) *Oracle {
	return &Oracle{rng: rand.New(rand.NewPCG(seed, seed^0x5EA4CE))}
}

var answers = map[string][]string{
	"restless":   {"The door you locked is not the door that matters.", "Something below the stairs is still counting."},
	"melancholy": {"What you lost is waiting where you left it.", "The letters were never sent. Read them."},
	"amused":     {"Yes — but not in the way you hope.", "Ask the cat. It has been listening all along."},
	"furious":    {"LEAVE THE HOUSE BEFORE THE THIRD BELL.", "You know what you did in the orchard."},
	"serene":     {"All shall be well, and all manner of thing.", "The river keeps its promises."},
	"confused":   {"Which year is it, where you are?", "I was answering someone else. Or was I?"},
}

// AskQuestion puts the question to the spirit and draws its answer.
//
//necro:listens SPIRIT_APPEARED
func (o *Oracle) AskQuestion(_ context.Context, s SpiritAppeared) (AnswerGenerated, error) {
	options := answers[s.Mood]
	if len(options) == 0 {
		return AnswerGenerated{}, fmt.Errorf("ritual %d: spirit %s is in an unknown mood %q", s.Ritual, s.Spirit, s.Mood)
	}
	return AnswerGenerated{
		Ritual: s.Ritual, Medium: s.Medium, Spirit: s.Spirit, Mood: s.Mood, Question: s.Question,
		Answer: options[o.rng.IntN(len(options))],
	}, nil
}

var omens = []struct {
	sign     string
	severity int
}{
	{"a moth lands on the candle and is not burned", 1},
	{"the planchette drifts to GOODBYE on its own", 2},
	{"every clock in the house stops at 3:17", 3},
	{"frost blooms on the inside of the window", 4},
	{"the medium speaks, but in the spirit's voice", 5},
}

// InterpretResponse reads an omen into the answer: the longer and louder the
// answer, the darker the sign.
//
//necro:listens ANSWER_GENERATED
func InterpretResponse(a AnswerGenerated) OmenRevealed {
	score := len(a.Answer) / 12
	if strings.ToUpper(a.Answer) == a.Answer {
		score += 3
	}
	o := omens[min(score, len(omens)-1)]
	return OmenRevealed{
		Ritual: a.Ritual, Medium: a.Medium, Spirit: a.Spirit, Mood: a.Mood, Question: a.Question,
		Answer: a.Answer, Omen: o.sign, Severity: o.severity,
	}
}

// Manifestation is the organ that shows the séance to the living: it writes
// each omen to Out.
type Manifestation struct {
	Out io.Writer
}

// ManifestEffect prints the end of one séance.
//
//necro:listens OMEN_REVEALED
func (m *Manifestation) ManifestEffect(_ context.Context, o OmenRevealed) error {
	_, err := fmt.Fprintf(m.Out, "séance %d — %s calls %s\n  asks:    %q\n  spirit:  %s appears, %s\n  answer:  %q\n  omen:    %s %s\n",
		o.Ritual, o.Medium, o.Spirit, o.Question, o.Spirit, o.Mood, o.Answer, o.Omen, strings.Repeat("☠", o.Severity))
	return err
}
