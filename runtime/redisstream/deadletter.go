package redisstream

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// DeadLetter is an entry of a service's dead-letter stream.
type DeadLetter struct {
	ID         string            // its id in the dead-letter stream
	Topic      string            // the stream it came from
	OriginalID string            // its id in that stream
	Reason     string            // one of the Reason constants
	Detail     string            // what was wrong, in words
	Deliveries int64             // how many times it had been handed out
	Service    string            // the service that dead-lettered it
	Consumer   string            // and its consumer
	Fields     map[string]string // the original entry's fields: "event" holds its envelope
}

// DeadLetters returns up to count dead letters of service, oldest first,
// starting after the dead-letter id after ("" for the beginning). Dead
// letters are never trimmed.
func (b *Backend) DeadLetters(ctx context.Context, service, after string, count int64) ([]DeadLetter, error) {
	start := "-"
	if after != "" {
		start = "(" + after
	}
	key := b.DeadLetterKey(service)
	msgs, err := b.client.XRangeN(ctx, key, start, "+", count).Result()
	if err != nil {
		return nil, fmt.Errorf("redisstream: read dead letters %s: %w", key, err)
	}
	out := make([]DeadLetter, 0, len(msgs))
	for _, m := range msgs {
		d := DeadLetter{ID: m.ID, Fields: map[string]string{}}
		for k, v := range m.Values {
			s := fmt.Sprint(v)
			switch k {
			case "topic":
				d.Topic = s
			case "original_id":
				d.OriginalID = s
			case "reason":
				d.Reason = s
			case "detail":
				d.Detail = s
			case "deliveries":
				d.Deliveries, _ = strconv.ParseInt(s, 10, 64)
			case "service":
				d.Service = s
			case "consumer":
				d.Consumer = s
			default:
				if name, ok := strings.CutPrefix(k, "original:"); ok {
					d.Fields[name] = s
				}
			}
		}
		out = append(out, d)
	}
	return out, nil
}
