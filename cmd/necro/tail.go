package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/necrostack/necrostack/runtime/redisstream"
)

const tailAbout = `Follows the topic TOPIC (an event type) of the bus: prints each new event,
decoded, one a line — in a table, its time, type, id and payload; in JSON,
{"entry_id", "event"}, or {"entry_id", "error", "fields"} for an entry that
does not decode — until interrupted (Ctrl-C) or -n events were printed.
It joins no consumer group: tailing changes nothing on the bus.
`

// tailBlock is the longest one read blocks: an interrupt ends tail within it.
const tailBlock = 500 * time.Millisecond

// errEnough stops Tail after -n entries.
var errEnough = errors.New("enough entries")

func runTail(args []string, e env) error {
	fs, c := newFlags("tail", "tail [-n N] [-from ID] [flags] TOPIC", tailAbout, e)
	n := fs.Int("n", 0, "stop after `N` events (0: follow until interrupted)")
	from := fs.String("from", "$", "start after entry `ID`: $ for new events only, 0 for the oldest retained")
	pos, err := parse(fs, c, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError("tail takes one TOPIC, got %d arguments (necro tail -h)", len(pos))
	}
	if *n < 0 {
		return usageError("tail: -n %d: use 0 or more", *n)
	}
	topic := pos[0]
	b, err := c.dial(e, redisstream.WithBlock(tailBlock))
	if err != nil {
		return err
	}
	defer b.Close()
	if topics, err := b.Topics(e.ctx); err != nil {
		return err
	} else if !slices.Contains(topics, topic) {
		fmt.Fprintf(e.stderr, "necro: %s is not a topic of bus %s yet (topics: %s); waiting for its first event\n",
			topic, b.Bus(), orDash(strings.Join(topics, ", ")))
	}
	seen := 0
	err = b.Tail(e.ctx, topic, *from, func(t redisstream.TailEntry) error {
		if err := printEntry(e, c, t); err != nil {
			return err
		}
		if seen++; *n > 0 && seen >= *n {
			return errEnough
		}
		return nil
	})
	if errors.Is(err, errEnough) || errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

type tailJSON struct {
	EntryID string            `json:"entry_id"`
	Event   json.RawMessage   `json:"event,omitempty"`
	Error   string            `json:"error,omitempty"`
	Fields  map[string]string `json:"fields,omitempty"`
}

func printEntry(e env, c *common, t redisstream.TailEntry) error {
	if c.json() {
		out := tailJSON{EntryID: t.ID}
		if t.Err == nil {
			out.Event = json.RawMessage(t.Fields["event"])
		} else {
			out.Error, out.Fields = t.Err.Error(), t.Fields
		}
		data, err := json.Marshal(out)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(e.stdout, "%s\n", data)
		return err
	}
	if t.Err != nil {
		fields, _ := json.Marshal(t.Fields)
		_, err := fmt.Fprintf(e.stdout, "%s  undecodable entry %s: %v; its fields: %s\n", stamp(redisstream.IDTime(t.ID)), t.ID, t.Err, fields)
		return err
	}
	payload, _ := json.Marshal(t.Event.Payload) // a json.RawMessage, valid: it decoded
	_, err := fmt.Fprintf(e.stdout, "%s  %s  %s  %s\n", stamp(t.Event.Timestamp), t.Event.Type, t.Event.ID, payload)
	return err
}
