package main

// SummonRitual starts a séance: a medium calls a spirit to ask one question.
// It is the entry point of the chain: no organ emits it.
//
//necro:entry
type SummonRitual struct {
	Ritual   int    `json:"ritual"`
	Medium   string `json:"medium"`
	Spirit   string `json:"spirit"`
	Question string `json:"question"`
}

// SpiritAppeared says the spirit answered the call, and in which mood.
type SpiritAppeared struct {
	Ritual   int    `json:"ritual"`
	Medium   string `json:"medium"`
	Spirit   string `json:"spirit"`
	Mood     string `json:"mood"`
	Question string `json:"question"`
}

// AnswerGenerated carries the spirit's answer to the question.
type AnswerGenerated struct {
	Ritual   int    `json:"ritual"`
	Medium   string `json:"medium"`
	Spirit   string `json:"spirit"`
	Mood     string `json:"mood"`
	Question string `json:"question"`
	Answer   string `json:"answer"`
}

// OmenRevealed is the medium's reading of the answer.
type OmenRevealed struct {
	Ritual   int    `json:"ritual"`
	Medium   string `json:"medium"`
	Spirit   string `json:"spirit"`
	Mood     string `json:"mood"`
	Question string `json:"question"`
	Answer   string `json:"answer"`
	Omen     string `json:"omen"`
	Severity int    `json:"severity"` // 1 (benign) to 5 (dire)
}
