package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/necrostack/necrostack/runtime/redisstream"
)

const deadUsage = `usage: necro dead ls [-reason R] [-topic T] [-n N] [flags] SERVICE [ID...]
       necro dead show [flags] SERVICE ID
       necro dead requeue (-all | -reason R | -topic T | ID...) [-batch N] [flags] SERVICE
       necro dead purge (-all | -reason R | -topic T | ID...) [-yes] [flags] SERVICE

necro dead COMMAND -h describes a command.
`

func runDead(args []string, e env) error {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, deadUsage)
		return usageError("dead: name a command: ls, show, requeue or purge")
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(e.stdout, deadUsage)
		return nil
	case "ls":
		return runDeadLs(args[1:], e)
	case "show":
		return runDeadShow(args[1:], e)
	case "requeue":
		return runDeadRequeue(args[1:], e)
	case "purge":
		return runDeadPurge(args[1:], e)
	}
	fmt.Fprint(e.stderr, deadUsage)
	return usageError("dead: unknown command %q", args[0])
}

const selectAbout = `An ID is a dead letter's id in the stream {bus}:dead:SERVICE, or the id of its
event. -reason (max_deliveries, bad_payload, undecodable, unknown_event_type,
too_large, unencodable_emit) and -topic (an event type, or a stream key) keep
the letters that match; several IDs are any of them; all conditions hold.
`

// selection is how a command picks dead letters.
type selection struct {
	reason, topic string
	all           bool
}

func (s *selection) flags(fs *flag.FlagSet, withAll bool) {
	fs.StringVar(&s.reason, "reason", "", "only letters with this `reason`")
	fs.StringVar(&s.topic, "topic", "", "only letters of this event `type` (or from this stream key)")
	if withAll {
		fs.BoolVar(&s.all, "all", false, "every letter of the service")
	}
}

// parse parses the arguments of dead command cmd, SERVICE [ID...], and
// returns the service and the filter of the selection and the IDs. A command
// that changes letters (mustName) needs them named, or -all.
func (s *selection) parse(fs *flag.FlagSet, c *common, args []string, cmd string, mustName bool) (string, redisstream.DeadLetterFilter, error) {
	var f redisstream.DeadLetterFilter
	pos, err := parse(fs, c, args)
	if err != nil {
		return "", f, err
	}
	svc, ids, err := service(cmd, pos)
	if err != nil {
		return "", f, err
	}
	f = redisstream.DeadLetterFilter{IDs: ids, Reason: s.reason, Topic: s.topic}
	switch {
	case s.all && !f.All():
		return "", f, usageError("dead %s: -all selects every letter: leave out IDs, -reason and -topic, or -all", cmd)
	case mustName && !s.all && f.All():
		return "", f, usageError("dead %s: say which letters: IDs, -reason, -topic, or -all for every one", cmd)
	}
	return svc, f, nil
}

// service splits the arguments into the service and the rest.
func service(cmd string, pos []string) (string, []string, error) {
	if len(pos) == 0 {
		return "", nil, usageError("dead %s: name the SERVICE whose dead letters to %s (necro dead %s -h)", cmd, verbs[cmd], cmd)
	}
	return pos[0], pos[1:], nil
}

var verbs = map[string]string{"ls": "list", "show": "show", "requeue": "requeue", "purge": "purge"}

// nothing says that no letter matched, and when the service is not one of
// the bus's, which ones are.
func nothing(e env, b *redisstream.Backend, svc string) error {
	msg := fmt.Sprintf("no dead letter of service %s on bus %s matches", svc, b.Bus())
	if services, err := b.Services(e.ctx); err == nil && !slices.Contains(services, svc) {
		msg += fmt.Sprintf(" (the bus has no service %s; its services: %s)", svc, orDash(strings.Join(services, ", ")))
	}
	return noMatch("%s", msg)
}

// find returns the dead letters of svc that f matches, at most limit (0:
// all), and the Redis server's time; none is an error that says so.
func find(e env, c *common, svc string, f redisstream.DeadLetterFilter, limit int) ([]redisstream.DeadLetter, time.Time, error) {
	b, err := c.dial(e)
	if err != nil {
		return nil, time.Time{}, err
	}
	defer b.Close()
	now, err := b.ServerTime(e.ctx)
	if err != nil {
		return nil, now, err
	}
	letters, err := b.FindDeadLetters(e.ctx, svc, f, limit)
	if err == nil && len(letters) == 0 {
		err = nothing(e, b, svc)
	}
	return letters, now, err
}

func runDeadLs(args []string, e env) error {
	fs, c := newFlags("dead ls", "dead ls [-reason R] [-topic T] [-n N] [flags] SERVICE [ID...]",
		"Lists the dead letters of SERVICE, oldest first, with their reason, delivery\ncount and age. Exit 1 when none matches.\n\n"+selectAbout, e)
	var sel selection
	sel.flags(fs, false)
	limit := fs.Int("n", 0, "list at most `N` letters (0: all)")
	svc, f, err := sel.parse(fs, c, args, "ls", false)
	if err != nil {
		return err
	}
	if *limit < 0 {
		return usageError("dead ls: -n %d: use 0 or more", *limit)
	}
	letters, now, err := find(e, c, svc, f, *limit)
	if err != nil {
		return err
	}
	if c.json() {
		out := make([]letterJSON, len(letters))
		for i, d := range letters {
			out[i] = letterToJSON(d, now)
		}
		return writeJSON(e.stdout, out)
	}
	tw := table(e.stdout)
	row(tw, "ID", "AGE", "REASON", "DELIVERIES", "TYPE", "DETAIL")
	for _, d := range letters {
		row(tw, d.ID, age(now.Sub(d.Time())), d.Reason, strconv.FormatInt(d.Deliveries, 10), orDash(d.EventType()), clip(d.Detail, 72))
	}
	return tw.Flush()
}

type letterJSON struct {
	ID         string    `json:"id"`
	Service    string    `json:"service"`
	Reason     string    `json:"reason"`
	Detail     string    `json:"detail"`
	Deliveries int64     `json:"deliveries"`
	DeadAt     time.Time `json:"dead_at"`
	AgeMS      int64     `json:"age_ms"`
	Topic      string    `json:"topic"`
	OriginalID string    `json:"original_id"`
	Consumer   string    `json:"consumer"`
	EventType  *string   `json:"event_type"`
	EventID    *string   `json:"event_id"`
}

func letterToJSON(d redisstream.DeadLetter, now time.Time) letterJSON {
	return letterJSON{
		ID: d.ID, Service: d.Service, Reason: d.Reason, Detail: d.Detail, Deliveries: d.Deliveries,
		DeadAt: d.Time(), AgeMS: ms(now.Sub(d.Time())), Topic: d.Topic, OriginalID: d.OriginalID,
		Consumer: d.Consumer, EventType: nullable(d.EventType()), EventID: nullable(d.EventID()),
	}
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func runDeadShow(args []string, e env) error {
	fs, c := newFlags("dead show", "dead show [flags] SERVICE ID",
		"Shows a dead letter of SERVICE: why it died, after how many deliveries, its\nevent's envelope and payload. ID is the letter's id or its event's id.\nExit 1 when no letter has it.\n", e)
	pos, err := parse(fs, c, args)
	if err != nil {
		return err
	}
	svc, ids, err := service("show", pos)
	if err != nil {
		return err
	}
	if len(ids) != 1 {
		return usageError("dead show: name one ID after the service, got %d", len(ids))
	}
	letters, now, err := find(e, c, svc, redisstream.DeadLetterFilter{IDs: ids}, 0)
	if err != nil {
		return err
	}
	if len(letters) > 1 {
		fmt.Fprintf(e.stderr, "necro: %d dead letters match %s; showing the first (necro dead ls %s %s lists them)\n", len(letters), ids[0], svc, ids[0])
	}
	d := letters[0]
	if c.json() {
		return writeJSON(e.stdout, showToJSON(d, now))
	}
	return printShow(e.stdout, d, now)
}

type showJSON struct {
	letterJSON
	Event      any               `json:"event"`
	EventError *string           `json:"event_error"`
	Fields     map[string]string `json:"fields"`
}

func showToJSON(d redisstream.DeadLetter, now time.Time) showJSON {
	out := showJSON{letterJSON: letterToJSON(d, now), Fields: map[string]string{}}
	for k, v := range d.Fields {
		if k != "event" {
			out.Fields[k] = v
		}
	}
	if raw, ok := d.Envelope(); ok {
		if json.Valid([]byte(raw)) {
			out.Event = json.RawMessage(raw)
		} else {
			out.Event = raw
		}
	}
	if _, err := d.Event(); err != nil {
		msg := err.Error()
		out.EventError = &msg
	}
	return out
}

func printShow(w io.Writer, d redisstream.DeadLetter, now time.Time) error {
	tw := table(w)
	field := func(name, value string) { row(tw, name, value) }
	field("dead letter", d.ID)
	field("service", d.Service)
	field("consumer", d.Consumer)
	field("reason", d.Reason)
	field("deliveries", strconv.FormatInt(d.Deliveries, 10))
	field("dead since", fmt.Sprintf("%s (%s ago)", stamp(d.Time()), age(now.Sub(d.Time()))))
	field("from", fmt.Sprintf("%s entry %s", d.Topic, d.OriginalID))
	field("last error", d.Detail)
	raw, hasEvent := d.Envelope()
	ev, decErr := d.Event()
	switch {
	case !hasEvent:
		field("event", "none: the entry had no event field")
	case decErr != nil:
		field("event", "does not decode: "+decErr.Error())
	default:
		field("event id", ev.ID.String())
		field("event type", ev.Type)
		field("timestamp", stamp(ev.Timestamp))
		if ev.CausationID != [16]byte{} {
			field("causation id", ev.CausationID.String())
			field("correlation id", ev.CorrelationID.String())
		}
	}
	for _, k := range slices.Sorted(maps.Keys(d.Fields)) {
		if k != "event" {
			field("field "+k, d.Fields[k])
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if hasEvent && decErr == nil {
		fmt.Fprintf(w, "payload:\n%s\n", indent(ev.Payload.(json.RawMessage)))
	}
	if hasEvent {
		fmt.Fprintf(w, "envelope:\n  %s\n", raw)
	}
	return nil
}

// indent returns JSON indented by two spaces, each line indented two more.
func indent(data []byte) string {
	var buf bytes.Buffer
	if json.Indent(&buf, data, "  ", "  ") != nil {
		return "  " + string(data)
	}
	return "  " + buf.String()
}

func runDeadRequeue(args []string, e env) error {
	fs, c := newFlags("dead requeue", "dead requeue (-all | -reason R | -topic T | ID...) [-batch N] [flags] SERVICE",
		`Requeues dead letters of SERVICE: puts each one's event into the service's
inbox ({bus}:in:SERVICE), which only SERVICE reads, with its topics, and
removes the letter. Each batch is one Lua script that, per letter, adds the
event and deletes the letter: if interrupted, every letter is either requeued
or still a dead letter, never both or neither. Only letters present at the
start are requeued. A letter without an original event field is refused and
left where it is. Exit 1 when none matches or one was refused.

`+selectAbout, e)
	var sel selection
	sel.flags(fs, true)
	batch := fs.Int("batch", redisstream.DefaultBatchSize, "requeue `N` letters per script call")
	svc, f, err := sel.parse(fs, c, args, "requeue", true)
	if err != nil {
		return err
	}
	if *batch < 1 {
		return usageError("dead requeue: -batch %d: use at least 1", *batch)
	}
	b, err := c.dial(e, redisstream.WithBatchSize(*batch))
	if err != nil {
		return err
	}
	defer b.Close()
	res, err := b.RequeueDeadLetters(e.ctx, svc, f)
	if len(res.Requeued)+len(res.Refused)+res.Gone == 0 && err == nil {
		return nothing(e, b, svc)
	}
	if perr := printRequeue(e, c, svc, res); perr != nil && err == nil {
		err = perr
	}
	if err != nil {
		return fmt.Errorf("%w (requeued %d before it failed; run it again for the rest: a requeued letter is not requeued twice)", err, len(res.Requeued))
	}
	for _, r := range res.Refused {
		fmt.Fprintf(e.stderr, "necro: not requeued: %s (%s): %s\n", r.ID, r.Reason, r.Why)
	}
	if len(res.Refused) > 0 {
		return noMatch("%s not requeued", letters(len(res.Refused)))
	}
	return nil
}

type requeueJSON struct {
	Service  string         `json:"service"`
	Inbox    string         `json:"inbox"`
	Requeued []requeuedJSON `json:"requeued"`
	Refused  []refusedJSON  `json:"refused"`
	Gone     int            `json:"gone"`
}

type requeuedJSON struct {
	ID        string  `json:"id"`
	EventType *string `json:"event_type"`
	EventID   *string `json:"event_id"`
	InboxID   string  `json:"inbox_id"`
}

type refusedJSON struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
	Why    string `json:"why"`
}

func printRequeue(e env, c *common, svc string, res redisstream.RequeueResult) error {
	if c.json() {
		out := requeueJSON{Service: svc, Inbox: res.Inbox, Requeued: []requeuedJSON{}, Refused: []refusedJSON{}, Gone: res.Gone}
		for _, r := range res.Requeued {
			out.Requeued = append(out.Requeued, requeuedJSON{r.ID, nullable(r.EventType()), nullable(r.EventID()), r.InboxID})
		}
		for _, r := range res.Refused {
			out.Refused = append(out.Refused, refusedJSON{r.ID, r.Reason, r.Why})
		}
		return writeJSON(e.stdout, out)
	}
	if len(res.Requeued) > 0 {
		tw := table(e.stdout)
		row(tw, "ID", "TYPE", "EVENT ID", "INBOX ID")
		for _, r := range res.Requeued {
			row(tw, r.ID, orDash(r.EventType()), orDash(r.EventID()), r.InboxID)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stdout, "requeued %s of service %s to %s", letters(len(res.Requeued)), svc, res.Inbox)
	if res.Gone > 0 {
		fmt.Fprintf(e.stdout, " (%d gone meanwhile)", res.Gone)
	}
	_, err := fmt.Fprintln(e.stdout)
	return err
}

func letters(n int) string {
	if n == 1 {
		return "1 dead letter"
	}
	return fmt.Sprintf("%d dead letters", n)
}

func runDeadPurge(args []string, e env) error {
	fs, c := newFlags("dead purge", "dead purge (-all | -reason R | -topic T | ID...) [-yes] [flags] SERVICE",
		`Deletes dead letters of SERVICE for good, after asking on the terminal, or at
once with -yes; without a terminal and without -yes it refuses (exit 2). Only
the letters present when it asked are deleted. Exit 1 when none matches or
the purge was not confirmed.

`+selectAbout, e)
	var sel selection
	sel.flags(fs, true)
	yes := fs.Bool("yes", false, "purge without asking")
	svc, f, err := sel.parse(fs, c, args, "purge", true)
	if err != nil {
		return err
	}
	b, err := c.dial(e)
	if err != nil {
		return err
	}
	defer b.Close()
	found, err := b.FindDeadLetters(e.ctx, svc, f, 0)
	if err != nil {
		return err
	}
	if len(found) == 0 {
		return nothing(e, b, svc)
	}
	f.Through = found[len(found)-1].ID
	what := fmt.Sprintf("%s of service %s on bus %s", letters(len(found)), svc, b.Bus())
	if !*yes {
		if !e.tty {
			return usageError("dead purge: would purge %s; confirm on a terminal, or pass -yes", what)
		}
		if !confirm(e, fmt.Sprintf("Purge %s? This cannot be undone. [y/N] ", what)) {
			return noMatch("nothing purged")
		}
	}
	n, err := b.PurgeDeadLetters(e.ctx, svc, f)
	if err != nil {
		return fmt.Errorf("%w (purged %d before it failed)", err, n)
	}
	if c.json() {
		return writeJSON(e.stdout, struct {
			Service string `json:"service"`
			Purged  int64  `json:"purged"`
		}{svc, n})
	}
	_, err = fmt.Fprintf(e.stdout, "purged %s of service %s\n", letters(int(n)), svc)
	return err
}

// confirm asks question on the terminal and reports whether the answer is
// yes. An interrupt while it waits is a no.
func confirm(e env, question string) bool {
	fmt.Fprint(e.stderr, question)
	answer := make(chan string, 1)
	go func() { // left blocked on the terminal after an interrupt: necro exits
		a, _ := bufio.NewReader(e.stdin).ReadString('\n')
		answer <- a
	}()
	select {
	case a := <-answer:
		a = strings.ToLower(strings.TrimSpace(a))
		return a == "y" || a == "yes"
	case <-e.ctx.Done():
		fmt.Fprintln(e.stderr)
		return false
	}
}
