package gen

import (
	"go/ast"
	"go/token"
	"regexp"
	"strings"
)

// Directive verbs. A directive is a line comment "//necro:VERB [ARG ...]"
// with no space after the slashes, as go.dev/doc/comment requires of tool
// directives.
const (
	verbListens = "listens"
	verbEvent   = "event"
	verbEntry   = "entry"
)

var knownVerbs = []string{verbListens, verbEvent, verbEntry}

// directive is one //necro: comment line.
type directive struct {
	Pos  token.Pos
	Verb string
	Args []string
}

var nearMiss = regexp.MustCompile(`^//\s+necro\s*:|^//necro\s+:|^//\s*NECRO:`)

// scanDirectives finds every //necro: line in a file's comments, and reports
// near misses (a space after //, a wrong case) and unknown verbs. It reads
// the raw comment text: CommentGroup.Text drops directive lines.
func scanDirectives(f *ast.File, d *diags) map[token.Pos]directive {
	out := map[token.Pos]directive{}
	for _, cg := range f.Comments {
		for _, c := range cg.List {
			text := c.Text
			if !strings.HasPrefix(text, "//necro:") {
				if nearMiss.MatchString(text) {
					d.errorf(c.Slash, "%q is not a necrogen directive: write it with no space, as //necro:%s", text, guessVerb(text))
				}
				continue
			}
			fields := strings.Fields(strings.TrimPrefix(text, "//necro:"))
			if len(fields) == 0 {
				d.errorf(c.Slash, "//necro: has no verb: use //necro:listens, //necro:event or //necro:entry")
				continue
			}
			verb := fields[0]
			known := false
			for _, v := range knownVerbs {
				known = known || verb == v
			}
			if !known {
				d.errorf(c.Slash, "unknown directive //necro:%s: did you mean //necro:%s? (known: //necro:listens, //necro:event, //necro:entry)", verb, closestVerb(verb))
				continue
			}
			out[c.Slash] = directive{Pos: c.Slash, Verb: verb, Args: fields[1:]}
		}
	}
	return out
}

// guessVerb returns what a near-miss directive probably meant, after "//necro:".
func guessVerb(text string) string {
	_, rest, _ := strings.Cut(text, ":")
	if rest = strings.TrimSpace(rest); rest == "" {
		return verbListens
	}
	return rest
}

// closestVerb returns the known verb nearest to v by edit distance.
func closestVerb(v string) string {
	best, bestD := knownVerbs[0], 1<<30
	for _, k := range knownVerbs {
		if d := editDistance(v, k); d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

var eventNameRE = regexp.MustCompile(`^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$`)

// validEventName reports whether name is a valid event type: SCREAMING_SNAKE_CASE.
func validEventName(name string) bool { return eventNameRE.MatchString(name) }

// screamingSnake turns a Go type name into its default event type:
// SpiritAppeared -> SPIRIT_APPEARED, HTTPRequest -> HTTP_REQUEST, ETLStart -> ETL_START.
func screamingSnake(name string) string {
	var b strings.Builder
	rs := []rune(name)
	for i, r := range rs {
		isUpper := r >= 'A' && r <= 'Z'
		if i > 0 && isUpper {
			prev := rs[i-1]
			prevLowerOrDigit := (prev >= 'a' && prev <= 'z') || (prev >= '0' && prev <= '9')
			nextLower := i+1 < len(rs) && rs[i+1] >= 'a' && rs[i+1] <= 'z'
			prevUpper := prev >= 'A' && prev <= 'Z'
			if prevLowerOrDigit || (prevUpper && nextLower) {
				b.WriteByte('_')
			}
		}
		if r == '_' {
			if b.Len() > 0 && !strings.HasSuffix(b.String(), "_") {
				b.WriteByte('_')
			}
			continue
		}
		b.WriteString(strings.ToUpper(string(r)))
	}
	return strings.Trim(b.String(), "_")
}

// camel turns an event type into a Go identifier part: SPIRIT_APPEARED -> SpiritAppeared.
func camel(event string) string {
	var b strings.Builder
	for _, part := range strings.Split(event, "_") {
		if part == "" {
			continue
		}
		b.WriteString(part[:1])
		b.WriteString(strings.ToLower(part[1:]))
	}
	return b.String()
}
