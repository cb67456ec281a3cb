package redisstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/necrostack/necrostack/runtime"
)

// Operations: what cmd/necro does, for Go programs too. Nothing here starts
// a consumer or joins a group: looking at a bus changes nothing in it, and
// the requeue and purge of dead letters touch only the dead letters and the
// service's inbox.

// ReleasedConsumer is the placeholder consumer that holds the entries a
// consumer handed back as it left (Close): any consumer of the service
// reclaims them at once. It shows up in a group's consumers (Inspect).
const ReleasedConsumer = releasedConsumer

// Topics returns the bus's topics (the event types published or subscribed
// to), sorted.
func (b *Backend) Topics(ctx context.Context) ([]string, error) {
	return b.members(ctx, b.TopicsKey(), "topics")
}

// Services returns the services that subscribed to the bus, sorted.
func (b *Backend) Services(ctx context.Context) ([]string, error) {
	return b.members(ctx, b.ServicesKey(), "services")
}

func (b *Backend) members(ctx context.Context, key, what string) ([]string, error) {
	m, err := b.client.SMembers(ctx, key).Result()
	if err != nil {
		return nil, fmt.Errorf("redisstream: list the %s of bus %s: %w", what, b.cfg.bus, err)
	}
	slices.Sort(m)
	return m, nil
}

// ServerTime returns the Redis server's clock. Ages of entries (their ids
// carry the server's milliseconds) are best measured against it.
func (b *Backend) ServerTime(ctx context.Context) (time.Time, error) {
	t, err := b.client.Time(ctx).Result()
	if err != nil {
		return time.Time{}, fmt.Errorf("redisstream: read the Redis server's time: %w", err)
	}
	return t, nil
}

// IDTime returns the time a stream entry id carries: the server's clock, in
// milliseconds, when the entry was added. It is the zero time for an id
// that is not "ms-seq".
func IDTime(id string) time.Time {
	l, _, ok := strings.Cut(id, "-")
	ms, err := strconv.ParseInt(l, 10, 64)
	if !ok || err != nil {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// Time returns when the letter was dead-lettered (the time its id carries).
func (d DeadLetter) Time() time.Time { return IDTime(d.ID) }

// Envelope returns the original entry's "event" field, the event's JSON
// envelope, and whether it has one. A letter without one (an entry written
// to a topic by something other than NecroStack) cannot be requeued.
func (d DeadLetter) Envelope() (string, bool) {
	e, ok := d.Fields[entryField]
	return e, ok
}

// Event decodes the letter's envelope, strictly, as a consumer would.
func (d DeadLetter) Event() (runtime.Event, error) {
	e, ok := d.Envelope()
	if !ok {
		return runtime.Event{}, errors.New("the dead letter has no original event field")
	}
	return runtime.DecodeEvent([]byte(e))
}

// EventID returns the "id" of the letter's envelope, or "" when it has none
// that can be read. The envelope need not be valid for this: an id is read
// from any JSON object that has one.
func (d DeadLetter) EventID() string { id, _ := d.peek(); return id }

// EventType returns the "event_type" of the letter's envelope, or when it
// has none that can be read, the event type of the topic the letter came
// from ("" for an inbox).
func (d DeadLetter) EventType() string {
	if _, t := d.peek(); t != "" {
		return t
	}
	if _, t, ok := strings.Cut(d.Topic, "}:t:"); ok {
		return t
	}
	return ""
}

// peek reads the id and type of the envelope leniently.
func (d DeadLetter) peek() (id, eventType string) {
	e, ok := d.Envelope()
	if !ok {
		return "", ""
	}
	var head struct {
		ID   any `json:"id"`
		Type any `json:"event_type"`
	}
	if json.Unmarshal([]byte(e), &head) != nil {
		return "", ""
	}
	id, _ = head.ID.(string)
	eventType, _ = head.Type.(string)
	return id, eventType
}

// DeadLetterFilter selects dead letters of a service. Its conditions all
// hold for a letter it matches; the zero value matches every letter.
type DeadLetterFilter struct {
	// IDs matches a letter whose id in the dead-letter stream, or whose
	// event's id (the envelope's "id"), is one of them; empty: any letter.
	IDs []string
	// Reason matches a letter with this reason (ReasonMaxDeliveries…); "": any.
	Reason string
	// Topic matches a letter of this event type (EventType), or from this
	// stream key; "": any.
	Topic string
	// Through matches a letter at or before this dead-letter id; "": any.
	// RequeueDeadLetters and PurgeDeadLetters set it to the newest letter
	// when they start, so letters that arrive meanwhile are left alone.
	Through string
}

// All reports whether f selects every letter it bounds: no ids, reason or
// topic.
func (f DeadLetterFilter) All() bool {
	return len(f.IDs) == 0 && f.Reason == "" && f.Topic == ""
}

// Match reports whether d is selected by f.
func (f DeadLetterFilter) Match(d DeadLetter) bool {
	if f.Through != "" && lessID(f.Through, d.ID) {
		return false
	}
	if f.Reason != "" && d.Reason != f.Reason {
		return false
	}
	if f.Topic != "" && d.EventType() != f.Topic && d.Topic != f.Topic {
		return false
	}
	if len(f.IDs) > 0 && !slices.Contains(f.IDs, d.ID) {
		if id := d.EventID(); id == "" || !slices.Contains(f.IDs, id) {
			return false
		}
	}
	return true
}

// FindDeadLetters returns the dead letters of service that f matches,
// oldest first: at most limit of them (0: all). It reads the dead letters
// WithBatchSize at a time.
func (b *Backend) FindDeadLetters(ctx context.Context, service string, f DeadLetterFilter, limit int) ([]DeadLetter, error) {
	var out []DeadLetter
	err := b.scanDeadLetters(ctx, service, f, func(page []DeadLetter) (bool, error) {
		for _, d := range page {
			out = append(out, d)
			if limit > 0 && len(out) == limit {
				return false, nil
			}
		}
		return true, nil
	})
	return out, err
}

// scanDeadLetters hands each page of the letters f matches to each, oldest
// first, until each returns false or an error.
func (b *Backend) scanDeadLetters(ctx context.Context, service string, f DeadLetterFilter, each func([]DeadLetter) (bool, error)) error {
	after := ""
	for {
		page, err := b.DeadLetters(ctx, service, after, int64(b.cfg.batchSize))
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return nil
		}
		after = page[len(page)-1].ID
		last := len(page) < b.cfg.batchSize || f.Through != "" && !lessID(after, f.Through)
		matched := slices.DeleteFunc(page, func(d DeadLetter) bool { return !f.Match(d) })
		if len(matched) > 0 {
			more, err := each(matched)
			if err != nil || !more {
				return err
			}
		}
		if last {
			return nil
		}
	}
}

// newestDeadLetter returns the id of service's newest dead letter, or "".
func (b *Backend) newestDeadLetter(ctx context.Context, service string) (string, error) {
	key := b.DeadLetterKey(service)
	msgs, err := b.client.XRevRangeN(ctx, key, "+", "-", 1).Result()
	if err != nil {
		return "", fmt.Errorf("redisstream: read dead letters %s: %w", key, err)
	}
	if len(msgs) == 0 {
		return "", nil
	}
	return msgs[0].ID, nil
}

// bound returns f bound to the newest dead letter when it has no bound;
// ok is false when there is no dead letter.
func (b *Backend) bound(ctx context.Context, service string, f DeadLetterFilter) (DeadLetterFilter, bool, error) {
	newest, err := b.newestDeadLetter(ctx, service)
	if err != nil || newest == "" {
		return f, false, err
	}
	if f.Through == "" || lessID(newest, f.Through) {
		f.Through = newest
	}
	return f, true, nil
}

// Requeued is a dead letter that RequeueDeadLetters put back.
type Requeued struct {
	DeadLetter        // as it was
	InboxID    string // the id of its event in the service's inbox
}

// Refused is a dead letter that RequeueDeadLetters left where it is.
type Refused struct {
	DeadLetter
	Why string
}

// RequeueResult says what RequeueDeadLetters did.
type RequeueResult struct {
	Inbox    string     // the service's inbox: where the events went
	Requeued []Requeued // put back into the inbox and removed from the dead letters
	Refused  []Refused  // left as dead letters: there is no event to put back
	// Gone counts letters that matched but were removed (requeued or purged
	// by someone else) before their turn.
	Gone int
}

// requeueScript moves dead letters ARGV[1..] of KEYS[1] to the inbox
// KEYS[2]: per letter, it adds the original envelope to the inbox and
// deletes the letter, in this one script, so a letter is always either a
// dead letter or in the inbox — never both, never neither. It returns, per
// letter, the new inbox id, "gone" when the letter is no longer there, or
// "noevent" when it has no original envelope (left where it is).
var requeueScript = redis.NewScript(`
local out = {}
for i, id in ipairs(ARGV) do
  local e = redis.call('XRANGE', KEYS[1], id, id)
  if #e == 0 then
    out[i] = 'gone'
  else
    local f, ev = e[1][2], nil
    for j = 1, #f, 2 do
      if f[j] == 'original:event' then ev = f[j + 1] end
    end
    if ev then
      out[i] = redis.call('XADD', KEYS[2], '*', 'event', ev)
      redis.call('XDEL', KEYS[1], id)
    else
      out[i] = 'noevent'
    end
  end
end
return out
`)

// RequeueDeadLetters puts the dead letters of service that f matches back
// into the service's inbox (InboxKey), which the service reads with its
// topics, so that only the service that failed handles them again, as new
// deliveries of the original envelope. Only the letters present when it
// starts are requeued (f is bound to the newest, see Through), so a letter
// that fails again meanwhile is not requeued twice.
//
// Each batch of WithBatchSize letters is one Lua script that, per letter,
// adds the envelope to the inbox and deletes the letter: if Redis dies
// midway, every letter is either requeued or still a dead letter, never both
// or neither. A letter without an original event field is refused and left
// where it is. On an error the result says what was requeued before it.
func (b *Backend) RequeueDeadLetters(ctx context.Context, service string, f DeadLetterFilter) (RequeueResult, error) {
	res := RequeueResult{Inbox: b.InboxKey(service)}
	f, found, err := b.bound(ctx, service, f)
	if err != nil || !found {
		return res, err
	}
	keys := []string{b.DeadLetterKey(service), res.Inbox}
	err = b.scanDeadLetters(ctx, service, f, func(page []DeadLetter) (bool, error) {
		batch := make([]DeadLetter, 0, len(page))
		for _, d := range page {
			if _, ok := d.Envelope(); ok {
				batch = append(batch, d)
			} else {
				res.Refused = append(res.Refused, Refused{d, refusedNoEvent})
			}
		}
		if len(batch) == 0 {
			return true, nil
		}
		ids := make([]any, len(batch))
		for i, d := range batch {
			ids[i] = d.ID
		}
		got, err := requeueScript.Run(ctx, b.client, keys, ids...).StringSlice()
		if err != nil {
			return false, fmt.Errorf("redisstream: requeue dead letters of service %s to %s: %w", service, res.Inbox, err)
		}
		for i, r := range got {
			switch r {
			case "gone":
				res.Gone++
			case "noevent":
				res.Refused = append(res.Refused, Refused{batch[i], refusedNoEvent})
			default:
				res.Requeued = append(res.Requeued, Requeued{batch[i], r})
			}
		}
		return ctx.Err() == nil, ctx.Err()
	})
	return res, err
}

const refusedNoEvent = "it has no original event field (the entry was not written by NecroStack): there is no event to requeue; look at it with necro dead show, or purge it"

// PurgeDeadLetters deletes the dead letters of service that f matches and
// returns how many it deleted. Only the letters present when it starts are
// deleted (f is bound to the newest, see Through): a letter that arrives
// meanwhile is kept. With a filter that selects every letter (All), the
// stream is trimmed through the bound in one command; otherwise the letters
// are deleted by id, WithBatchSize at a time.
func (b *Backend) PurgeDeadLetters(ctx context.Context, service string, f DeadLetterFilter) (int64, error) {
	f, found, err := b.bound(ctx, service, f)
	if err != nil || !found {
		return 0, err
	}
	key := b.DeadLetterKey(service)
	if f.All() {
		n, err := b.client.XTrimMinID(ctx, key, nextID(f.Through)).Result()
		if err != nil {
			return 0, fmt.Errorf("redisstream: purge dead letters %s: %w", key, err)
		}
		return n, nil
	}
	var total int64
	err = b.scanDeadLetters(ctx, service, f, func(page []DeadLetter) (bool, error) {
		ids := make([]string, len(page))
		for i, d := range page {
			ids[i] = d.ID
		}
		n, err := b.client.XDel(ctx, key, ids...).Result()
		total += n
		if err != nil {
			return false, fmt.Errorf("redisstream: purge dead letters %s: %w", key, err)
		}
		return ctx.Err() == nil, ctx.Err()
	})
	return total, err
}

// nextID returns the id just after id: XTRIM MINID there keeps everything
// after id.
func nextID(id string) string {
	ms, seq := splitID(id)
	if seq == ^uint64(0) {
		return strconv.FormatUint(ms+1, 10) + "-0"
	}
	return strconv.FormatUint(ms, 10) + "-" + strconv.FormatUint(seq+1, 10)
}

// BusStats is a snapshot of a bus: its topics with each service's consumer
// group on them, and its services.
type BusStats struct {
	Bus      string
	Time     time.Time      // the Redis server's clock when the snapshot was taken: ages are measured against it
	Topics   []TopicStats   // sorted by topic
	Services []ServiceStats // sorted by service
}

// StreamStats describes a stream and the consumer groups on it.
type StreamStats struct {
	Stream string       // its key
	Length int64        // entries it holds
	Groups []GroupStats // sorted by service; none for a stream that no service reads
}

// TopicStats describes a topic.
type TopicStats struct {
	Topic string // the event type
	StreamStats
}

// GroupStats describes a service's consumer group on a stream.
type GroupStats struct {
	Service string
	// Lag counts entries not yet delivered to the service. Redis 7 keeps
	// it; when Redis cannot tell (before Redis 7, for a group created at the
	// newest entry of a stream that had some, or after entries were
	// deleted), Inspect counts the entries after the group's last delivered
	// one, up to MaxCountedLag: LagCapped then says there are more.
	Lag       int64
	LagCapped bool
	// Pending counts entries delivered to a consumer and not yet settled
	// (handled, retried, or held by ReleasedConsumer).
	Pending int64
	// OldestPendingID is the oldest pending entry, "" when none; its age is
	// how long ago it was added to the stream.
	OldestPendingID  string
	OldestPendingAge time.Duration
	Consumers        []ConsumerStats // sorted by name
}

// MaxCountedLag is as far as Inspect counts a lag that Redis does not keep.
const MaxCountedLag = 10_000

// countAfterScript counts the entries of stream KEYS[1] after id ARGV[1],
// up to ARGV[2], server-side, a page at a time.
var countAfterScript = redis.NewScript(`
local n, from, cap = 0, '(' .. ARGV[1], tonumber(ARGV[2])
while n < cap do
  local r = redis.call('XRANGE', KEYS[1], from, '+', 'COUNT', math.min(1000, cap - n))
  if #r == 0 then break end
  n = n + #r
  from = '(' .. r[#r][1]
end
return n
`)

// ConsumerStats describes a consumer of a service.
type ConsumerStats struct {
	Name    string
	Pending int64         // entries it holds
	Idle    time.Duration // since it last read or settled
}

// ServiceStats describes a service of the bus.
type ServiceStats struct {
	Service     string
	Topics      []string    // the topics it has a consumer group on, sorted
	Inbox       StreamStats // its inbox, where requeued dead letters wait
	DeadLetters int64       // entries of its dead-letter stream
	// Consumers are its consumers over all its streams: what each holds,
	// summed, and its least idle time.
	Consumers []ConsumerStats
}

// Inspect takes a snapshot of the bus: every topic's length and, per
// service that reads it, the lag, pending entries, the age of the oldest
// pending one, and the consumers with their idle time; and every service's
// inbox, dead-letter count and consumers. It only reads.
func (b *Backend) Inspect(ctx context.Context) (BusStats, error) {
	st := BusStats{Bus: b.cfg.bus}
	now, err := b.ServerTime(ctx)
	if err != nil {
		return st, err
	}
	st.Time = now
	topics, err := b.Topics(ctx)
	if err != nil {
		return st, err
	}
	services, err := b.Services(ctx)
	if err != nil {
		return st, err
	}
	lagKnown, err := b.lagKnown(ctx)
	if err != nil {
		return st, err
	}
	keys := make([]string, len(topics))
	for i, t := range topics {
		keys[i] = b.TopicKey(t)
	}
	streams, err := b.streamStats(ctx, keys, now, lagKnown)
	if err != nil {
		return st, err
	}
	listens := map[string][]string{}    // service → the topics it has a group on
	groups := map[string][]GroupStats{} // service → its groups
	for i, t := range topics {
		st.Topics = append(st.Topics, TopicStats{Topic: t, StreamStats: streams[i]})
		for _, g := range streams[i].Groups {
			listens[g.Service] = append(listens[g.Service], t)
			groups[g.Service] = append(groups[g.Service], g)
		}
	}
	// A group whose service is not in the services set (one of an older
	// version of NecroStack) is a service all the same.
	for s := range listens {
		if !slices.Contains(services, s) {
			services = append(services, s)
		}
	}
	slices.Sort(services)
	keys = keys[:0]
	for _, s := range services {
		keys = append(keys, b.InboxKey(s))
	}
	inboxes, err := b.streamStats(ctx, keys, now, lagKnown)
	if err != nil {
		return st, err
	}
	dead := make([]*redis.IntCmd, len(services))
	if _, err := b.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, s := range services {
			dead[i] = p.XLen(ctx, b.DeadLetterKey(s))
		}
		return nil
	}); err != nil {
		return st, fmt.Errorf("redisstream: count the dead letters of bus %s: %w", b.cfg.bus, err)
	}
	for i, s := range services {
		ss := ServiceStats{Service: s, Topics: listens[s], Inbox: inboxes[i], DeadLetters: dead[i].Val()}
		for _, g := range inboxes[i].Groups {
			if g.Service == s {
				groups[s] = append(groups[s], g)
			}
		}
		ss.Consumers = mergeConsumers(groups[s])
		st.Services = append(st.Services, ss)
	}
	return st, nil
}

// mergeConsumers returns the consumers of groups, each once: what it holds
// in all of them, and its least idle time.
func mergeConsumers(groups []GroupStats) []ConsumerStats {
	var out []ConsumerStats
	at := map[string]int{}
	for _, g := range groups {
		for _, c := range g.Consumers {
			i, ok := at[c.Name]
			if !ok {
				at[c.Name] = len(out)
				out = append(out, c)
				continue
			}
			out[i].Pending += c.Pending
			out[i].Idle = min(out[i].Idle, c.Idle)
		}
	}
	slices.SortFunc(out, func(a, b ConsumerStats) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// lagKnown reports whether the server tells a group's lag (Redis 7 or later).
func (b *Backend) lagKnown(ctx context.Context) (bool, error) {
	info, err := b.client.Info(ctx, "server").Result()
	if err != nil {
		return false, fmt.Errorf("redisstream: read the Redis server's version: %w", err)
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			major, _, _ := strings.Cut(v, ".")
			n, err := strconv.Atoi(major)
			return err == nil && n >= 7, nil
		}
	}
	return false, nil
}

// streamStats describes the streams keys, in two round trips.
func (b *Backend) streamStats(ctx context.Context, keys []string, now time.Time, lagKnown bool) ([]StreamStats, error) {
	out := make([]StreamStats, len(keys))
	lens := make([]*redis.IntCmd, len(keys))
	infos := make([]*redis.XInfoGroupsCmd, len(keys))
	// The commands' own errors are read below: a stream that does not exist
	// (yet) answers XINFO GROUPS with an error, and is empty.
	_, _ = b.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			lens[i] = p.XLen(ctx, k)
			infos[i] = p.XInfoGroups(ctx, k)
		}
		return nil
	})
	type at struct {
		stream, group int
		last          string // the group's last delivered id, when its lag must be counted
	}
	var where []at
	var pend []*redis.XPendingCmd
	var cons []*redis.XInfoConsumersCmd
	var counts []*redis.Cmd
	for i, k := range keys {
		n, err := lens[i].Result()
		if err != nil {
			return nil, fmt.Errorf("redisstream: read %s: %w", k, err)
		}
		out[i] = StreamStats{Stream: k, Length: n}
		groups, err := infos[i].Result()
		if err != nil {
			if n == 0 && strings.Contains(err.Error(), "no such key") {
				continue
			}
			return nil, fmt.Errorf("redisstream: read the consumer groups of %s: %w", k, err)
		}
		for _, g := range groups {
			out[i].Groups = append(out[i].Groups, GroupStats{Service: g.Name, Lag: g.Lag, Pending: g.Pending})
			w := at{stream: i, group: len(out[i].Groups) - 1}
			if !lagKnown || g.Lag < 0 {
				w.last = g.LastDeliveredID
			}
			where = append(where, w)
		}
	}
	if len(where) == 0 {
		return out, nil
	}
	_, _ = b.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, w := range where {
			k, g := keys[w.stream], out[w.stream].Groups[w.group].Service
			pend = append(pend, p.XPending(ctx, k, g))
			cons = append(cons, p.XInfoConsumers(ctx, k, g))
			var count *redis.Cmd
			if w.last != "" {
				count = countAfterScript.Eval(ctx, p, []string{k}, w.last, MaxCountedLag)
			}
			counts = append(counts, count)
		}
		return nil
	})
	for j, w := range where {
		g := &out[w.stream].Groups[w.group]
		if counts[j] != nil {
			n, err := counts[j].Int64()
			if err != nil {
				return nil, fmt.Errorf("redisstream: count the lag of service %s on %s: %w", g.Service, keys[w.stream], err)
			}
			g.Lag, g.LagCapped = n, n >= MaxCountedLag
		}
		p, err := pend[j].Result()
		if err != nil {
			return nil, fmt.Errorf("redisstream: read what service %s holds of %s: %w", g.Service, keys[w.stream], err)
		}
		if p.Count > 0 {
			g.OldestPendingID = p.Lower
			g.OldestPendingAge = max(now.Sub(IDTime(p.Lower)), 0)
		}
		cs, err := cons[j].Result()
		if err != nil {
			return nil, fmt.Errorf("redisstream: read the consumers of service %s on %s: %w", g.Service, keys[w.stream], err)
		}
		for _, c := range cs {
			g.Consumers = append(g.Consumers, ConsumerStats{Name: c.Name, Pending: c.Pending, Idle: c.Idle})
		}
		slices.SortFunc(g.Consumers, func(a, b ConsumerStats) int { return strings.Compare(a.Name, b.Name) })
	}
	for i := range out {
		slices.SortFunc(out[i].Groups, func(a, b GroupStats) int { return strings.Compare(a.Service, b.Service) })
	}
	return out, nil
}

// TailEntry is an entry of a topic that Tail read.
type TailEntry struct {
	ID     string            // its id in the topic's stream
	Fields map[string]string // its fields as written: "event" holds the JSON envelope
	Event  runtime.Event     // the decoded envelope, when Err is nil
	Err    error             // why the entry does not decode
}

// Tail follows the topic of an event type: it calls each with every entry
// added after from — "$" (or "") for entries added from now on, "0" for the
// oldest retained, or an entry id — in order, until ctx is done (it then
// returns ctx.Err()) or each returns an error (which it returns). It reads
// with XREAD … BLOCK for at most WithBlock at a time, so it returns within
// that time once ctx is done. It joins no consumer group: tailing changes
// nothing on the bus.
func (b *Backend) Tail(ctx context.Context, eventType, from string, each func(TailEntry) error) error {
	key := b.TopicKey(eventType)
	if from == "" || from == "$" {
		info, err := b.client.XInfoStream(ctx, key).Result()
		switch {
		case err == nil:
			from = info.LastGeneratedID
		case strings.Contains(err.Error(), "no such key"):
			from = "0-0"
		default:
			return fmt.Errorf("redisstream: tail %s: %w", key, err)
		}
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		res, err := b.client.XRead(ctx, &redis.XReadArgs{
			Streams: []string{key, from},
			Count:   int64(b.cfg.batchSize),
			Block:   b.cfg.block,
		}).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("redisstream: tail %s: %w", key, err)
		}
		for _, s := range res {
			for _, m := range s.Messages {
				from = m.ID
				e := TailEntry{ID: m.ID, Fields: make(map[string]string, len(m.Values))}
				for k, v := range m.Values {
					e.Fields[k] = fmt.Sprint(v)
				}
				if raw, ok := e.Fields[entryField]; ok {
					e.Event, e.Err = runtime.DecodeEvent([]byte(raw))
				} else {
					e.Err = fmt.Errorf("the entry has no %q field", entryField)
				}
				if err := each(e); err != nil {
					return err
				}
			}
		}
	}
}
