// Package chain is the four-stage Séance chain stripped to its dispatch cost —
// SUMMON_RITUAL → SPIRIT_APPEARED → ANSWER_GENERATED → OMEN_REVEALED — with its
// necrogen-generated Spine beside a hand-written switch dispatcher and a
// reflect.Value.Call dispatcher, for the benchmarks in package bench.
package chain

//go:generate go tool necrogen
