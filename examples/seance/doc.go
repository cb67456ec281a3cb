// Seance is NecroStack's main demo: four organs pass a séance down a chain of
// events — SUMMON_RITUAL → SPIRIT_APPEARED → ANSWER_GENERATED → OMEN_REVEALED —
// through a Spine that necrogen generates from the //necro:listens directives
// in organs.go.
//
//	go run ./examples/seance                 # one séance, random spirit
//	go run ./examples/seance -seed 7 -rituals 3
//	go run ./examples/seance -backend redis -redis-url redis://localhost:6379/0
package main

//go:generate go tool necrogen
