// Package readmecheck checks that every code block in the repository's
// README.md is exercised: its one job is to read the README, find how each
// fenced code block says it is verified, and verify it. TestREADME runs it on
// the real README.md; `make test` and CI run TestREADME.
//
// # Markers
//
// Each fenced code block (``` or ~~~, with or without an info string) must be
// preceded by a marker on a line of its own, with only blank lines between
// the marker and the block:
//
//	<!-- check: KIND ARGS... -->
//
// A block without one, a marker that is not followed by a block, and an
// unknown KIND are errors. The kinds:
//
//	ci
//	    A shell block of commands CI runs: every line that is not blank or a
//	    # comment, without a trailing # comment, must equal a line of .ci/run
//	    or of the Makefile (where $$ is read as $), ignoring surrounding white
//	    space and trailing comments there too.
//	run
//	    A shell block run in the repository root, one `bash -c` per command,
//	    with the caller's environment. Each must exit 0, or N if the line ends
//	    with the comment `# exit N`. A line ending in \ continues on the next.
//	output
//	    Only right after a run block (or after a quickstart block and its
//	    quickstart-file blocks): the stdout of that block's last command,
//	    which must equal this block, up to one trailing newline.
//	graph FORMAT PKG
//	    The block equals the stdout of
//	    `go run ./cmd/necrogen graph -format FORMAT PKG` in the repository
//	    root, up to one trailing newline.
//	file PATH
//	    The block equals the file PATH (relative to the repository root), up
//	    to one trailing newline.
//	excerpt PATH
//	    Every non-blank line of the block occurs in the file PATH, in order
//	    (a subsequence of its lines, each compared with surrounding white
//	    space trimmed). Lines that are exactly `...`, `// ...` or `…` mark
//	    elisions; they are not looked for.
//	bench
//	    A shell block of benchmark commands. Each `go test` line must have a
//	    -bench flag and, unless the tests run with -short, is run in the
//	    repository root with `-benchtime=1x -count=1` appended (the last
//	    value of a repeated flag wins) and must exit 0; anything from the
//	    first unquoted |, ;, &, < or > on (e.g. `| tee bench/bench.txt`) is
//	    not run. A `make TARGET...` line needs each TARGET in the Makefile;
//	    any other line must pass the ci rule.
//	quickstart
//	    The walkthrough from an empty directory to a running app, run as a
//	    new user meets it: one shell block, at most one in the README, run
//	    line by line, exactly as written, in one bash process (so cd carries
//	    over) in a new temporary directory. The module is installed from a
//	    published version of it: a file-based module proxy serves this
//	    checkout's committed HEAD (`git archive HEAD`) as the module's latest
//	    version, and the download cache of the caller's module cache every
//	    other module (`go mod download` fills it; nothing comes from the
//	    network); the module cache is new and empty, GOFLAGS is unset, and
//	    GOSUMDB=off GOWORK=off GOTOOLCHAIN=local are set (see UserEnv). Each
//	    line must exit 0 (or N, with `# exit N`). The block must contain
//	    the line
//	        go get -tool github.com/necrostack/necrostack/cmd/necrogen@latest
//	    (or the same without @latest). The quickstart-file blocks are
//	    written into the current directory where the block has the line
//	    `# files`, or else right after its `go mod init` line.
//	quickstart-file NAME
//	    A file of the quickstart, written to NAME (a relative path).
//	skip REASON
//	    Not checked, because it cannot be here (Docker, a system package,
//	    the network); REASON is required, and the skipped blocks are logged.
package readmecheck

import (
	"fmt"
	"strings"
)

// Block is a fenced code block and the marker before it.
type Block struct {
	Line    int     // line number of the opening fence, from 1
	Info    string  // info string after the opening fence, e.g. "sh"
	Content string  // the lines between the fences, each ending in "\n"
	Marker  *Marker // nil when the block has none
}

// Lines returns the block's content lines.
func (b Block) Lines() []string {
	if b.Content == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(b.Content, "\n"), "\n")
}

// Marker is a parsed `<!-- check: KIND ARGS... -->` line.
type Marker struct {
	Line int
	Kind string
	Args []string
	Rest string // everything after KIND, as written (the reason of skip)
}

// Problem is one thing wrong with the README, at a line of it.
type Problem struct {
	Line int
	Msg  string
}

func (p Problem) String() string { return fmt.Sprintf("line %d: %s", p.Line, p.Msg) }

const markerPrefix = "<!-- check:"

// Parse splits markdown into its fenced code blocks, attaching to each the
// marker right before it. The problems are those of the document's shape:
// markers not followed by a block, malformed markers, unclosed blocks.
func Parse(markdown []byte) ([]Block, []Problem) {
	var (
		blocks   []Block
		problems []Problem
		pending  *Marker // marker waiting for its block
		open     *Block  // block being read
		fence    string  // its opening fence characters, e.g. "```"
		indent   int     // its opening fence's indentation
		content  strings.Builder
	)
	lines := strings.Split(strings.ReplaceAll(string(markdown), "\r\n", "\n"), "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	for i, line := range lines {
		n := i + 1
		trimmed := strings.TrimSpace(line)
		if open != nil {
			if isClosingFence(trimmed, fence) {
				open.Content = content.String()
				blocks = append(blocks, *open)
				open = nil
				continue
			}
			content.WriteString(stripIndent(line, indent))
			content.WriteByte('\n')
			continue
		}
		if trimmed == "" {
			continue
		}
		if f, info, ok := openingFence(trimmed); ok {
			open = &Block{Line: n, Info: info, Marker: pending}
			fence, indent = f, len(line)-len(strings.TrimLeft(line, " \t"))
			content.Reset()
			pending = nil
			continue
		}
		if pending != nil {
			problems = append(problems, Problem{pending.Line, fmt.Sprintf("marker is not followed by a code block (line %d comes first)", n)})
			pending = nil
		}
		if strings.HasPrefix(trimmed, markerPrefix) {
			m, err := parseMarker(n, trimmed)
			if err != "" {
				problems = append(problems, Problem{n, err})
				continue
			}
			pending = m
		}
	}
	if open != nil {
		problems = append(problems, Problem{open.Line, "code block is not closed"})
	}
	if pending != nil {
		problems = append(problems, Problem{pending.Line, "marker is not followed by a code block"})
	}
	return blocks, problems
}

// openingFence reports whether the trimmed line opens a fenced code block:
// three or more backticks or tildes, then an info string (which, after
// backticks, may not contain a backtick).
func openingFence(trimmed string) (fence, info string, ok bool) {
	for _, c := range []string{"`", "~"} {
		n := len(trimmed) - len(strings.TrimLeft(trimmed, c))
		if n < 3 {
			continue
		}
		info = strings.TrimSpace(trimmed[n:])
		if c == "`" && strings.Contains(info, "`") {
			return "", "", false
		}
		return trimmed[:n], info, true
	}
	return "", "", false
}

// isClosingFence reports whether the trimmed line closes a block opened
// with fence: the same character, at least as many, nothing after.
func isClosingFence(trimmed, fence string) bool {
	return len(trimmed) >= len(fence) && strings.Trim(trimmed, fence[:1]) == ""
}

// stripIndent removes up to n leading spaces or tabs.
func stripIndent(line string, n int) string {
	for i := 0; i < n && len(line) > 0 && (line[0] == ' ' || line[0] == '\t'); i++ {
		line = line[1:]
	}
	return line
}

// parseMarker parses a trimmed line starting with markerPrefix; it returns
// a message instead when the marker is malformed.
func parseMarker(line int, trimmed string) (*Marker, string) {
	body, ok := strings.CutSuffix(trimmed, "-->")
	if !ok {
		return nil, "marker must end with --> on the same line"
	}
	body = strings.TrimSpace(strings.TrimPrefix(body, markerPrefix))
	fields := strings.Fields(body)
	if len(fields) == 0 {
		return nil, "marker has no kind: want <!-- check: KIND ARGS... -->"
	}
	return &Marker{
		Line: line,
		Kind: fields[0],
		Args: fields[1:],
		Rest: strings.TrimSpace(strings.TrimPrefix(body, fields[0])),
	}, ""
}
