package readmecheck

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// Reporter is where Check logs what it skips; a *testing.T is one.
type Reporter interface {
	Logf(format string, args ...any)
}

// arity is how many arguments each kind takes; -1 means one or more.
var arity = map[string]int{
	"ci":              0,
	"run":             0,
	"output":          0,
	"graph":           2,
	"file":            1,
	"excerpt":         1,
	"bench":           0,
	"quickstart":      0,
	"quickstart-file": 1,
	"skip":            -1,
}

// Check checks every code block of markdown against the repository at root
// and returns what is wrong, in the order found. Blocks marked skip, and
// bench blocks under `go test -short`, are logged to r and not run.
func Check(r Reporter, root string, markdown []byte) []Problem {
	blocks, problems := Parse(markdown)
	report := func(line int, format string, args ...any) {
		problems = append(problems, Problem{line, fmt.Sprintf(format, args...)})
	}

	var quickstart, quickstartOut *Block // run last, once all its files are known
	var files []Block
	for i, b := range blocks {
		m := b.Marker
		if m == nil {
			report(b.Line, "code block has no marker: put <!-- check: KIND ARGS... --> before it (see package readmecheck)")
			continue
		}
		want, known := arity[m.Kind]
		switch {
		case !known:
			report(m.Line, "unknown check kind %q", m.Kind)
			continue
		case want == -1 && len(m.Args) == 0:
			report(m.Line, "check: %s needs an argument", m.Kind)
			continue
		case want >= 0 && len(m.Args) != want:
			report(m.Line, "check: %s takes %d argument(s), got %d", m.Kind, want, len(m.Args))
			continue
		}
		var ps []Problem
		switch m.Kind {
		case "ci":
			ps = checkCI(root, b)
		case "run":
			ps = checkRun(root, b, outputAfter(blocks, i))
		case "output":
			if !followsRunner(blocks, i) {
				report(m.Line, "an output block must come right after a run block (or a quickstart block and its files)")
			}
		case "graph":
			ps = checkGraph(root, b, m.Args[0], m.Args[1])
		case "file":
			ps = checkFile(root, b, m.Args[0])
		case "excerpt":
			ps = checkExcerpt(root, b, m.Args[0])
		case "bench":
			ps = checkBench(r, root, b, testing.Short())
		case "quickstart":
			if quickstart != nil {
				report(b.Line, "a second quickstart block; the first is at line %d", quickstart.Line)
				continue
			}
			quickstart = &blocks[i]
			quickstartOut = outputAfter(blocks, i)
		case "quickstart-file":
			if !filepath.IsLocal(filepath.FromSlash(m.Args[0])) {
				report(m.Line, "quickstart-file %s: want a relative path inside the module", m.Args[0])
				continue
			}
			files = append(files, b)
		case "skip":
			r.Logf("README line %d: block not checked: %s", b.Line, m.Rest)
		}
		problems = append(problems, ps...)
	}
	switch {
	case quickstart != nil:
		problems = append(problems, checkQuickstart(root, *quickstart, files, quickstartOut)...)
	case len(files) > 0:
		report(files[0].Marker.Line, "quickstart-file without a quickstart block")
	}
	sort.SliceStable(problems, func(i, j int) bool { return problems[i].Line < problems[j].Line })
	return problems
}

// outputAfter returns the output block that belongs to the run or
// quickstart block blocks[i], or nil.
func outputAfter(blocks []Block, i int) *Block {
	kind := blocks[i].Marker.Kind
	for j := i + 1; j < len(blocks); j++ {
		switch blockKind(blocks[j]) {
		case "output":
			return &blocks[j]
		case "quickstart-file":
			if kind == "quickstart" {
				continue
			}
		}
		return nil
	}
	return nil
}

// followsRunner reports whether the output block blocks[i] belongs to a run
// or quickstart block.
func followsRunner(blocks []Block, i int) bool {
	for j := i - 1; j >= 0; j-- {
		switch blockKind(blocks[j]) {
		case "run", "quickstart":
			return outputAfter(blocks, j) == &blocks[i]
		case "quickstart-file":
			continue
		}
		return false
	}
	return false
}

func blockKind(b Block) string {
	if b.Marker == nil {
		return ""
	}
	return b.Marker.Kind
}

// checkCI checks that each command of b is a line CI runs.
func checkCI(root string, b Block) []Problem {
	cmds, problems := commands(b)
	for _, c := range cmds {
		if !inCI(root, c.Cmd) {
			problems = append(problems, Problem{c.Line, fmt.Sprintf("%q is not a line of .ci/run or Makefile, so CI does not run it", c.Cmd)})
		}
	}
	return problems
}

// inCI reports whether cmd equals a line of .ci/run or of the Makefile.
func inCI(root, cmd string) bool {
	for _, name := range []string{".ci/run", "Makefile"} {
		data, _ := os.ReadFile(filepath.Join(root, filepath.FromSlash(name)))
		for _, line := range strings.Split(string(data), "\n") {
			line, _ = splitComment(line)
			line = strings.TrimSpace(line)
			if line == cmd || (name == "Makefile" && strings.ReplaceAll(line, "$$", "$") == cmd) {
				return true
			}
		}
	}
	return false
}

// checkRun runs each command of b in root and compares the last one's
// stdout with the output block out, if there is one.
func checkRun(root string, b Block, out *Block) []Problem {
	cmds, problems := commands(b)
	if len(cmds) == 0 {
		return append(problems, Problem{b.Line, "run block has no commands"})
	}
	var last result
	for _, c := range cmds {
		last = runBash(root, os.Environ(), c.Text)
		if msg := last.failure(c.Want); msg != "" {
			return append(problems, Problem{c.Line, fmt.Sprintf("%s: %s", c.Cmd, msg)})
		}
	}
	if out != nil {
		if d := compare(out.Content, last.stdout); d != "" {
			problems = append(problems, Problem{out.Line, fmt.Sprintf("output of %q differs (- README, + actual):\n%s", cmds[len(cmds)-1].Cmd, d)})
		}
	}
	return problems
}

// checkGraph compares b with what necrogen graph prints.
func checkGraph(root string, b Block, format, pkg string) []Problem {
	cmd := "go run ./cmd/necrogen graph -format " + shellQuote(format) + " " + shellQuote(pkg)
	res := runBash(root, os.Environ(), cmd)
	if msg := res.failure(0); msg != "" {
		return []Problem{{b.Line, fmt.Sprintf("%s: %s", cmd, msg)}}
	}
	if d := compare(b.Content, res.stdout); d != "" {
		return []Problem{{b.Line, fmt.Sprintf("block differs from `%s` (- README, + actual):\n%s", cmd, d)}}
	}
	return nil
}

// readRepoFile reads the slash-separated path name under root.
func readRepoFile(root, name string) (string, error) {
	p := filepath.FromSlash(name)
	if !filepath.IsLocal(p) {
		return "", fmt.Errorf("%s: want a path relative to the repository root", name)
	}
	data, err := os.ReadFile(filepath.Join(root, p))
	return string(data), err
}

// checkFile compares b with the file name.
func checkFile(root string, b Block, name string) []Problem {
	data, err := readRepoFile(root, name)
	if err != nil {
		return []Problem{{b.Line, err.Error()}}
	}
	if d := compare(b.Content, data); d != "" {
		return []Problem{{b.Line, fmt.Sprintf("block differs from %s (- README, + file):\n%s", name, d)}}
	}
	return nil
}

// isElision reports whether a trimmed excerpt line stands for omitted lines.
func isElision(line string) bool {
	return line == "..." || line == "// ..." || line == "…"
}

// checkExcerpt checks that the non-blank lines of b are a subsequence of
// the lines of the file name, white space around each line aside.
func checkExcerpt(root string, b Block, name string) []Problem {
	data, err := readRepoFile(root, name)
	if err != nil {
		return []Problem{{b.Line, err.Error()}}
	}
	fileLines := strings.Split(data, "\n")
	for i := range fileLines {
		fileLines[i] = strings.TrimSpace(fileLines[i])
	}
	next := 0 // index in fileLines where the search goes on
	for k, line := range b.Lines() {
		want := strings.TrimSpace(line)
		if want == "" || isElision(want) {
			continue
		}
		found := -1
		for j := next; j < len(fileLines); j++ {
			if fileLines[j] == want {
				found = j
				break
			}
		}
		if found < 0 {
			where := "is not in " + name
			for j := 0; j < next; j++ {
				if fileLines[j] == want {
					where = fmt.Sprintf("is in %s only at line %d, before the excerpt's previous line (line %d there)", name, j+1, next)
					break
				}
			}
			return []Problem{{b.Line + 1 + k, fmt.Sprintf("excerpt line %q %s", want, where)}}
		}
		next = found + 1
	}
	return nil
}

var makeTarget = regexp.MustCompile(`^([A-Za-z0-9_.\- ]+):([^=]|$)`)

// makeTargets returns the targets defined in root's Makefile.
func makeTargets(root string) map[string]bool {
	data, _ := os.ReadFile(filepath.Join(root, "Makefile"))
	targets := map[string]bool{}
	for _, line := range strings.Split(string(data), "\n") {
		if m := makeTarget.FindStringSubmatch(line); m != nil {
			for _, t := range strings.Fields(m[1]) {
				targets[t] = true
			}
		}
	}
	return targets
}

// checkBench checks the benchmark commands of b, running each go test line
// once with one iteration per benchmark unless short.
func checkBench(r Reporter, root string, b Block, short bool) []Problem {
	cmds, problems := commands(b)
	var run []command
	for _, c := range cmds {
		fields := strings.Fields(c.Cmd)
		switch {
		case len(fields) >= 2 && fields[0] == "go" && fields[1] == "test":
			if !hasBenchFlag(fields) {
				problems = append(problems, Problem{c.Line, fmt.Sprintf("%q has no -bench flag", c.Cmd)})
				continue
			}
			run = append(run, c)
		case len(fields) >= 1 && fields[0] == "make":
			targets := makeTargets(root)
			for _, t := range fields[1:] {
				if !strings.HasPrefix(t, "-") && !strings.Contains(t, "=") && !targets[t] {
					problems = append(problems, Problem{c.Line, fmt.Sprintf("the Makefile has no target %q", t)})
				}
			}
		default:
			if !inCI(root, c.Cmd) {
				problems = append(problems, Problem{c.Line, fmt.Sprintf("%q is neither `go test -bench` nor `make TARGET`, nor a line of .ci/run or Makefile", c.Cmd)})
			}
		}
	}
	if short {
		if len(run) > 0 {
			r.Logf("README line %d: benchmarks not run in -short mode", b.Line)
		}
		return problems
	}
	for _, c := range run {
		cmd := cutAtOperator(c.Cmd) + " -benchtime=1x -count=1"
		if res := runBash(root, os.Environ(), cmd); res.failure(0) != "" {
			problems = append(problems, Problem{c.Line, fmt.Sprintf("%s: %s", cmd, res.failure(0))})
		}
	}
	return problems
}

// hasBenchFlag reports whether the go test arguments select benchmarks.
func hasBenchFlag(fields []string) bool {
	for _, f := range fields {
		if !strings.HasPrefix(f, "-") {
			continue
		}
		f = strings.TrimPrefix(strings.TrimPrefix(f, "-"), "-")
		f = strings.TrimPrefix(f, "test.")
		if f == "bench" || strings.HasPrefix(f, "bench=") {
			return true
		}
	}
	return false
}

// command is one shell command of a block.
type command struct {
	Line int    // README line of its first line
	Text string // as written, continuation lines and comment included
	Cmd  string // without the trailing comment, trimmed
	Want int    // exit status wanted
}

var exitComment = regexp.MustCompile(`^exit\s+(\d+)$`)

// commands returns the commands of a shell block: its lines that are not
// blank or comments, a line ending in \ joined with the next.
func commands(b Block) ([]command, []Problem) {
	var cmds []command
	var problems []Problem
	lines := b.Lines()
	for k := 0; k < len(lines); k++ {
		first := k
		text := lines[k]
		for strings.HasSuffix(text, `\`) && k+1 < len(lines) {
			k++
			text += "\n" + lines[k]
		}
		trimmed := strings.TrimSpace(text)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		cmd, comment := splitComment(text)
		c := command{Line: b.Line + 1 + first, Text: text, Cmd: strings.TrimSpace(cmd)}
		if m := exitComment.FindStringSubmatch(comment); m != nil {
			c.Want, _ = strconv.Atoi(m[1])
		}
		if c.Want > 255 {
			problems = append(problems, Problem{c.Line, "exit status above 255"})
			continue
		}
		cmds = append(cmds, c)
	}
	return cmds, problems
}

// scanShell calls f with the index of each byte of s that is outside
// quotes and not escaped, until f returns false.
func scanShell(s string, f func(i int) bool) {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote == '\'':
			if c == '\'' {
				quote = 0
			}
		case quote == '"':
			if c == '\\' {
				i++
			} else if c == '"' {
				quote = 0
			}
		case c == '\\':
			i++
		case c == '\'' || c == '"':
			quote = c
		default:
			if !f(i) {
				return
			}
		}
	}
}

// splitComment splits a shell line at its comment: an unquoted # at the
// start of a word. The comment is returned trimmed, without the #.
func splitComment(line string) (cmd, comment string) {
	cut := -1
	scanShell(line, func(i int) bool {
		if line[i] == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t' || line[i-1] == '\n') {
			cut = i
			return false
		}
		return true
	})
	if cut < 0 {
		return line, ""
	}
	return line[:cut], strings.TrimSpace(line[cut+1:])
}

// cutAtOperator returns cmd up to its first unquoted |, ;, &, < or >.
func cutAtOperator(cmd string) string {
	cut := len(cmd)
	scanShell(cmd, func(i int) bool {
		if strings.IndexByte("|;&<>", cmd[i]) >= 0 {
			cut = i
			return false
		}
		return true
	})
	return strings.TrimSpace(cmd[:cut])
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_./:=@+-]+$`)

// shellQuote quotes s for bash, when it needs quoting.
func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
