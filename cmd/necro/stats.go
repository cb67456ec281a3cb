package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/necrostack/necrostack/runtime/redisstream"
)

var statsAbout = fmt.Sprintf(`Shows the bus. Per topic, and per service that reads it: the topic's length;
the service's lag (entries not yet delivered to it; where Redis does not keep
it, necro counts it, up to %[1]d, shown as %[1]d+); pending entries
(delivered, not yet settled); the age of the oldest pending one; and how many
consumers it has. A service's inbox, where requeued dead letters wait, is the
topic "(inbox)". Per service: its topics and dead letters. Per consumer of a
service: the entries it holds and how long it has been idle; %[2]s
holds what consumers that left handed back, for any consumer of the service
to take. Exit 1 when the bus has neither topics nor services.
`, redisstream.MaxCountedLag, redisstream.ReleasedConsumer)

func runStats(args []string, e env) error {
	fs, c := newFlags("stats", "stats [flags]", statsAbout, e)
	pos, err := parse(fs, c, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError("stats takes no arguments, got %q", strings.Join(pos, " "))
	}
	b, err := c.dial(e)
	if err != nil {
		return err
	}
	defer b.Close()
	st, err := b.Inspect(e.ctx)
	if err != nil {
		return err
	}
	if len(st.Topics) == 0 && len(st.Services) == 0 {
		return noMatch("bus %s has no topics and no services (is -bus right?)", st.Bus)
	}
	if c.json() {
		return writeJSON(e.stdout, statsToJSON(st))
	}
	printStats(e, st)
	return nil
}

func printStats(e env, st redisstream.BusStats) {
	tw := table(e.stdout)
	row(tw, "TOPIC", "SERVICE", "LENGTH", "LAG", "PENDING", "OLDEST PENDING", "CONSUMERS")
	streamRows := func(topic string, s redisstream.StreamStats) {
		if len(s.Groups) == 0 {
			row(tw, topic, "-", strconv.FormatInt(s.Length, 10), "-", "-", "-", "-")
		}
		for _, g := range s.Groups {
			lag, oldest := strconv.FormatInt(g.Lag, 10), "-"
			if g.LagCapped {
				lag += "+"
			}
			if g.OldestPendingID != "" {
				oldest = age(g.OldestPendingAge)
			}
			row(tw, topic, g.Service, strconv.FormatInt(s.Length, 10), lag, strconv.FormatInt(g.Pending, 10), oldest, strconv.Itoa(len(g.Consumers)))
		}
	}
	for _, t := range st.Topics {
		streamRows(t.Topic, t.StreamStats)
	}
	for _, s := range st.Services {
		if s.Inbox.Length > 0 || len(s.Inbox.Groups) > 0 {
			streamRows("(inbox)", s.Inbox)
		}
	}
	tw.Flush()
	if len(st.Services) == 0 {
		return
	}
	fmt.Fprintln(e.stdout)
	row(tw, "SERVICE", "TOPICS", "DEAD LETTERS", "CONSUMERS")
	for _, s := range st.Services {
		row(tw, s.Service, orDash(strings.Join(s.Topics, ",")), strconv.FormatInt(s.DeadLetters, 10), strconv.Itoa(len(s.Consumers)))
	}
	tw.Flush()
	fmt.Fprintln(e.stdout)
	row(tw, "SERVICE", "CONSUMER", "PENDING", "IDLE")
	for _, s := range st.Services {
		for _, c := range s.Consumers {
			row(tw, s.Service, c.Name, strconv.FormatInt(c.Pending, 10), age(c.Idle))
		}
	}
	tw.Flush()
}

type statsJSON struct {
	Bus      string        `json:"bus"`
	Time     time.Time     `json:"time"`
	Topics   []topicJSON   `json:"topics"`
	Services []serviceJSON `json:"services"`
}

type streamJSON struct {
	Stream string      `json:"stream"`
	Length int64       `json:"length"`
	Groups []groupJSON `json:"groups"`
}

type topicJSON struct {
	Topic string `json:"topic"`
	streamJSON
}

type groupJSON struct {
	Service            string         `json:"service"`
	Lag                int64          `json:"lag"`
	LagCapped          bool           `json:"lag_capped"`
	Pending            int64          `json:"pending"`
	OldestPendingID    *string        `json:"oldest_pending_id"`
	OldestPendingAgeMS *int64         `json:"oldest_pending_age_ms"`
	Consumers          []consumerJSON `json:"consumers"`
}

type consumerJSON struct {
	Name    string `json:"name"`
	Pending int64  `json:"pending"`
	IdleMS  int64  `json:"idle_ms"`
}

type serviceJSON struct {
	Service     string         `json:"service"`
	Topics      []string       `json:"topics"`
	Inbox       streamJSON     `json:"inbox"`
	DeadLetters int64          `json:"dead_letters"`
	Consumers   []consumerJSON `json:"consumers"`
}

func statsToJSON(st redisstream.BusStats) statsJSON {
	out := statsJSON{Bus: st.Bus, Time: st.Time.UTC(), Topics: []topicJSON{}, Services: []serviceJSON{}}
	for _, t := range st.Topics {
		out.Topics = append(out.Topics, topicJSON{t.Topic, streamToJSON(t.StreamStats)})
	}
	for _, s := range st.Services {
		out.Services = append(out.Services, serviceJSON{
			Service:     s.Service,
			Topics:      append([]string{}, s.Topics...),
			Inbox:       streamToJSON(s.Inbox),
			DeadLetters: s.DeadLetters,
			Consumers:   consumersToJSON(s.Consumers),
		})
	}
	return out
}

func streamToJSON(s redisstream.StreamStats) streamJSON {
	out := streamJSON{Stream: s.Stream, Length: s.Length, Groups: []groupJSON{}}
	for _, g := range s.Groups {
		gj := groupJSON{Service: g.Service, Lag: g.Lag, LagCapped: g.LagCapped, Pending: g.Pending, Consumers: consumersToJSON(g.Consumers)}
		if g.OldestPendingID != "" {
			id, a := g.OldestPendingID, ms(g.OldestPendingAge)
			gj.OldestPendingID, gj.OldestPendingAgeMS = &id, &a
		}
		out.Groups = append(out.Groups, gj)
	}
	return out
}

func consumersToJSON(cs []redisstream.ConsumerStats) []consumerJSON {
	out := []consumerJSON{}
	for _, c := range cs {
		out = append(out, consumerJSON{Name: c.Name, Pending: c.Pending, IdleMS: ms(c.Idle)})
	}
	return out
}
