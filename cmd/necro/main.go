// Command necro operates a NecroStack bus on Redis: it shows its topics and
// services, follows a topic, and lists, shows, requeues and purges dead
// letters. It is a thin shell over the operations of runtime/redisstream
// (Backend.Inspect, Tail, FindDeadLetters, RequeueDeadLetters,
// PurgeDeadLetters), which Go programs can call too.
//
// Usage:
//
//	necro stats [flags]
//	necro tail [-n N] [-from ID] [flags] TOPIC
//	necro dead ls [-reason R] [-topic T] [-n N] [flags] SERVICE [ID...]
//	necro dead show [flags] SERVICE ID
//	necro dead requeue (-all | -reason R | -topic T | ID...) [-batch N] [flags] SERVICE
//	necro dead purge (-all | -reason R | -topic T | ID...) [-yes] [flags] SERVICE
//
// Every command takes -bus (default "necro"), -o table|json, and -redis-url
// (default $NECRO_REDIS_URL, else redis://localhost:6379/0); flags may come
// before or after the arguments. An ID is a dead letter's id in its stream
// or its event's id. A password in the URL is never printed.
//
// Requeue puts each letter's original event into the service's inbox
// ({bus}:in:SERVICE), which only that service reads, with one Lua script per
// batch that adds the event and deletes the letter: interrupted, nothing is
// lost or doubled. Purge asks for confirmation on a terminal, or needs -yes.
//
// Exit codes: 0 success; 1 nothing matched (no dead letter matched, an empty
// bus, a requeue that left a letter where it was, a purge not confirmed);
// 2 usage error, or Redis unreachable or failing.
//
// # JSON output
//
// With -o json, times are RFC 3339 (UTC) and durations whole milliseconds
// (fields ending in _ms); a field that has no value is null. The fields:
//
//	stats    {"bus", "time", "topics": [{"topic", "stream", "length", "groups"}],
//	          "services": [{"service", "topics", "inbox": {"stream", "length", "groups"},
//	          "dead_letters", "consumers"}]}
//	         a group: {"service", "lag", "lag_capped" (true: at least lag), "pending",
//	          "oldest_pending_id", "oldest_pending_age_ms", "consumers"}
//	         a consumer: {"name", "pending", "idle_ms"}
//	dead ls  [{"id", "service", "reason", "detail", "deliveries", "dead_at", "age_ms",
//	          "topic", "original_id", "consumer", "event_type", "event_id"}]
//	dead show  one letter as in ls, and "event" (the envelope, as JSON when it
//	          is JSON, else a string; null when absent), "event_error" (why it
//	          does not decode, or null), "fields" (the original entry's other fields)
//	dead requeue {"service", "inbox", "requeued": [{"id", "event_type", "event_id",
//	          "inbox_id"}], "refused": [{"id", "reason", "why"}], "gone"}
//	dead purge {"service", "purged"}
//	tail     one object a line: {"entry_id", "event"}, or {"entry_id", "error", "fields"}
//	         for an entry that does not decode
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/necrostack/necrostack/runtime/redisstream"
)

const (
	exitOK      = 0
	exitNoMatch = 1
	exitUsage   = 2 // also: Redis unreachable or failing
)

const defaultURL = "redis://localhost:6379/0"

// env is what a run of necro sees of the world.
type env struct {
	ctx    context.Context // cancelled by SIGINT and SIGTERM
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	tty    bool // stdin is a terminal: purge may ask for confirmation
	getenv func(string) string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(os.Args[1:], env{ctx: ctx, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, tty: isTerminal(os.Stdin), getenv: os.Getenv})
	stop()
	os.Exit(code)
}

const usage = `usage: necro stats [flags]
       necro tail [-n N] [-from ID] [flags] TOPIC
       necro dead ls [-reason R] [-topic T] [-n N] [flags] SERVICE [ID...]
       necro dead show [flags] SERVICE ID
       necro dead requeue (-all | -reason R | -topic T | ID...) [-batch N] [flags] SERVICE
       necro dead purge (-all | -reason R | -topic T | ID...) [-yes] [flags] SERVICE

Every command takes these flags, before or after its arguments:
  -bus NAME       the bus (default "necro")
  -o FORMAT       table or json (default table)
  -redis-url URL  the Redis server (default $NECRO_REDIS_URL, else redis://localhost:6379/0)

An ID is a dead letter's id or its event's id. Exit codes: 0 success;
1 nothing matched; 2 usage error, or Redis unreachable or failing.
necro COMMAND -h describes a command.
`

// cliError ends a run with a message and an exit code.
type cliError struct {
	code int
	msg  string
}

func (e *cliError) Error() string { return e.msg }

func usageError(format string, args ...any) error {
	return &cliError{exitUsage, fmt.Sprintf(format, args...)}
}

func noMatch(format string, args ...any) error {
	return &cliError{exitNoMatch, fmt.Sprintf(format, args...)}
}

// errHelp ends a run that printed its usage on -h.
var errHelp = errors.New("help")

func run(args []string, e env) int {
	err := dispatch(args, e)
	var ce *cliError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errHelp):
		return exitOK
	case errors.As(err, &ce):
		if ce.msg != "" {
			fmt.Fprintf(e.stderr, "necro: %s\n", ce.msg)
		}
		return ce.code
	default: // Redis failed
		fmt.Fprintf(e.stderr, "necro: %s\n", strings.TrimPrefix(err.Error(), "redisstream: "))
		return exitUsage
	}
}

func dispatch(args []string, e env) error {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return &cliError{code: exitUsage}
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(e.stdout, usage)
		return nil
	case "stats":
		return runStats(args[1:], e)
	case "tail":
		return runTail(args[1:], e)
	case "dead":
		return runDead(args[1:], e)
	}
	fmt.Fprint(e.stderr, usage)
	return usageError("unknown command %q", args[0])
}

// common holds the flags every command takes.
type common struct {
	redisURL string
	bus      string
	output   string
}

// newFlags returns the flag set of a command, with the common flags; synopsis
// and about are its usage.
func newFlags(name, synopsis, about string, e env) (*flag.FlagSet, *common) {
	fs := flag.NewFlagSet("necro "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	c := &common{}
	fs.StringVar(&c.redisURL, "redis-url", "", "the Redis server `URL` (default $NECRO_REDIS_URL, else "+defaultURL+")")
	fs.StringVar(&c.bus, "bus", redisstream.DefaultBus, "the `name` of the bus")
	fs.StringVar(&c.output, "o", "table", "output `format`: table or json")
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: necro %s\n\n%s\nflags:\n", synopsis, about)
		fs.PrintDefaults()
	}
	return fs, c
}

// parse parses args, flags and arguments in any order, and returns the
// arguments.
func parse(fs *flag.FlagSet, c *common, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			return nil, &cliError{code: exitUsage} // the flag package said why
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if c.output != "table" && c.output != "json" {
		return nil, usageError("%s: unknown -o %q: use table or json", strings.TrimPrefix(fs.Name(), "necro "), c.output)
	}
	return pos, nil
}

func (c *common) json() bool { return c.output == "json" }

// dial connects to the bus. Its errors show the URL without its password.
func (c *common) dial(e env, opts ...redisstream.Option) (*redisstream.Backend, error) {
	raw, from := c.redisURL, "-redis-url"
	if raw == "" {
		raw, from = e.getenv("NECRO_REDIS_URL"), "NECRO_REDIS_URL"
	}
	if raw == "" {
		raw, from = defaultURL, "the default URL"
	}
	ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
	defer cancel()
	opts = append([]redisstream.Option{
		redisstream.WithBus(c.bus),
		redisstream.WithLogger(slog.New(slog.DiscardHandler)), // necro reports its errors itself
	}, opts...)
	b, err := redisstream.Dial(ctx, raw, opts...)
	if err != nil {
		msg := scrub(strings.TrimPrefix(err.Error(), "redisstream: "), raw)
		if errors.Is(err, redisstream.ErrConfig) {
			if _, what, ok := strings.Cut(msg, "invalid configuration: "); ok {
				msg = what
			}
			if strings.HasPrefix(msg, "Redis URL") {
				msg += " (from " + from + ")"
			}
			return nil, usageError("%s", msg)
		}
		return nil, usageError("cannot reach Redis (from %s): %s", from, msg)
	}
	return b, nil
}

// scrub removes the password of rawURL from msg, in case anything repeated it.
func scrub(msg, rawURL string) string {
	if u, err := url.Parse(rawURL); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
	}
	return msg
}
