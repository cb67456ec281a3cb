package runtime

import (
	"io"
	"log/slog"
	"time"
)

// Log attribute keys used by the Runner (and the backends) for every event.
const (
	LogKeyEventID   = "event_id"
	LogKeyEventType = "event_type"
	LogKeyOrgan     = "organ"
	LogKeyEmitted   = "emitted"
	LogKeyAttempt   = "attempt"
)

// NewJSONLogger returns a slog JSON logger writing to w at the given level,
// with time in UTC RFC 3339 ending in Z. It is what the Runner uses, on
// standard error at slog.LevelInfo, when WithLogger is not given.
func NewJSONLogger(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey && a.Value.Kind() == slog.KindTime {
				return slog.String(slog.TimeKey, a.Value.Time().UTC().Format(time.RFC3339Nano))
			}
			return a
		},
	}))
}
