package readmecheck

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// logger is a Reporter that keeps what is logged.
type logger struct{ logs []string }

func (l *logger) Logf(format string, args ...any) {
	l.logs = append(l.logs, fmt.Sprintf(format, args...))
}

// want is an expected problem: its line and words its message contains.
type want struct {
	line int
	msg  []string
}

// checkFixture checks testdata/name against root and compares the problems
// with wants, in order.
func checkFixture(t *testing.T, root, name string, wants ...want) *logger {
	t.Helper()
	md, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var l logger
	problems := Check(&l, root, md)
	for i := range max(len(problems), len(wants)) {
		switch {
		case i >= len(wants):
			t.Errorf("%s: unexpected problem %v", name, problems[i])
		case i >= len(problems):
			t.Errorf("%s: missing problem at line %d with %q", name, wants[i].line, wants[i].msg)
		default:
			p, w := problems[i], wants[i]
			if p.Line != w.line {
				t.Errorf("%s: problem %v: want it at line %d", name, p, w.line)
			}
			for _, s := range w.msg {
				if !strings.Contains(p.Msg, s) {
					t.Errorf("%s: problem %v: want %q in it", name, p, s)
				}
			}
		}
	}
	return &l
}

func fixtureRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("testdata", "root"))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func TestParse(t *testing.T) {
	md := "intro\r\n" +
		"<!-- check: run -->\r\n" + // 2
		"\n" +
		"```sh {.class}\n" + // 4
		"echo hi\n" +
		"```\n" +
		"  <!-- check:   skip  two words -->\n" + // 7
		"  ~~~~\n" + // 8
		"  ```\n" +
		"    indented\n" +
		"``` not a closing fence\n" +
		"  ~~~~~\n" +
		"```\n" + // 13
		"```\n" +
		"<!-- check: ci -->\n" + // 15
		"text\n" +
		"````\n" + // 17
		"unclosed\n"
	blocks, problems := Parse([]byte(md))
	got := fmt.Sprint(problems)
	if want := "[line 15: marker is not followed by a code block (line 16 comes first) line 17: code block is not closed]"; got != want {
		t.Errorf("problems: %s\nwant %s", got, want)
	}
	wantBlocks := []Block{
		{Line: 4, Info: "sh {.class}", Content: "echo hi\n", Marker: &Marker{Line: 2, Kind: "run", Args: []string{}}},
		{Line: 8, Content: "```\n  indented\n``` not a closing fence\n", Marker: &Marker{Line: 7, Kind: "skip", Args: []string{"two", "words"}, Rest: "two words"}},
		{Line: 13, Content: "", Marker: nil},
	}
	if !reflect.DeepEqual(blocks, wantBlocks) {
		t.Errorf("blocks:\n%s\nwant\n%s", dump(blocks), dump(wantBlocks))
	}
}

func dump(blocks []Block) string {
	var b strings.Builder
	for _, bl := range blocks {
		fmt.Fprintf(&b, "%+v", bl)
		if bl.Marker != nil {
			fmt.Fprintf(&b, " marker %+v", *bl.Marker)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func TestCommands(t *testing.T) {
	b := Block{Line: 10, Content: "# comment\n\necho 'a # b' \"#\" c#d # the rest\nfalse   # exit 4\nfoo \\\n  bar # exit 1\n"}
	cmds, problems := commands(b)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	want := []command{
		{Line: 13, Text: "echo 'a # b' \"#\" c#d # the rest", Cmd: "echo 'a # b' \"#\" c#d"},
		{Line: 14, Text: "false   # exit 4", Cmd: "false", Want: 4},
		{Line: 15, Text: "foo \\\n  bar # exit 1", Cmd: "foo \\\n  bar", Want: 1},
	}
	if !reflect.DeepEqual(cmds, want) {
		t.Errorf("commands:\n%+v\nwant\n%+v", cmds, want)
	}
	if got := cutAtOperator(`go test -bench 'a|b' ./x | tee "o>ut" > f`); got != `go test -bench 'a|b' ./x` {
		t.Errorf("cutAtOperator: %q", got)
	}
}

func TestCompare(t *testing.T) {
	if d := compare("a\nb\n", "a\nb"); d != "" {
		t.Errorf("one trailing newline should not count: %s", d)
	}
	if d := compare("a\n", "a\n\n"); d == "" {
		t.Error("a second trailing newline should count")
	}
	var a, b []string
	for i := 1; i <= 20; i++ {
		a = append(a, fmt.Sprint(i))
	}
	b = append(append(b, a...), "21")
	b[4] = "five"
	want := "@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n@@ -18,3 +18,4 @@\n 18\n 19\n 20\n+21"
	if d := compare(strings.Join(a, "\n"), strings.Join(b, "\n")); d != want {
		t.Errorf("diff:\n%s\nwant\n%s", d, want)
	}
}

func TestPass(t *testing.T) {
	root := fixtureRoot(t)
	l := checkFixture(t, root, "pass.md")
	if got := strings.Join(l.logs, "\n"); !strings.Contains(got, "line 55: block not checked: needs Docker") {
		t.Errorf("skipped block not logged; logs:\n%s", got)
	}
	if _, err := os.Stat(filepath.Join(root, "bench.txt")); err == nil {
		os.Remove(filepath.Join(root, "bench.txt"))
		t.Error("the bench check ran what follows | in a go test line")
	}
}

func TestUnmarked(t *testing.T) {
	checkFixture(t, fixtureRoot(t), "unmarked.md",
		want{9, []string{"no marker"}},
		want{13, []string{"not followed by a code block", "line 14"}},
		want{16, []string{"no marker"}},
		want{20, []string{`unknown check kind "teleport"`}},
		want{25, []string{"skip needs an argument"}},
		want{30, []string{"file takes 1 argument(s), got 0"}},
		want{35, []string{"must end with -->"}},
		want{37, []string{"no marker"}},
		want{41, []string{"output block must come right after a run block"}},
		want{47, []string{"not closed"}},
	)
}

func TestFailing(t *testing.T) {
	checkFixture(t, fixtureRoot(t), "failing.md",
		want{6, []string{`"make lint" is not a line of .ci/run or Makefile`}},
		want{12, []string{"exit 3", "exit status 3, want 2"}},
		want{22, []string{"output of", "differs", "\n one\n-2\n+two\n three"}},
		want{29, []string{"differs from greeting.txt", "\n hello\n-there\n+world"}},
		want{37, []string{`"// Greet says hello." is in code.go only at line 5, before`}},
		want{43, []string{`"return \"goodbye\"" is not in code.go`}},
		want{47, []string{"want a path relative to the repository root"}},
		want{53, []string{`"go test ./..." has no -bench flag`}},
		want{54, []string{`no target "benchstat"`}},
		want{55, []string{"neither `go test -bench` nor `make TARGET`"}},
		want{58, []string{"quickstart-file without a quickstart block"}},
	)
}

func TestBenchFails(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go test")
	}
	root := fixtureRoot(t)
	b := Block{Line: 1, Content: "go test -run '^$' -bench . ./nosuchpackage\n"}
	problems := checkBench(&logger{}, root, b, false)
	if len(problems) != 1 || problems[0].Line != 2 || !strings.Contains(problems[0].Msg, "-benchtime=1x -count=1: exit status 1") {
		t.Errorf("problems: %v", problems)
	}
	var l logger
	if problems := checkBench(&l, root, b, true); len(problems) != 0 || len(l.logs) != 1 {
		t.Errorf("in short mode: problems %v, logs %q", problems, l.logs)
	}
}

func TestGraph(t *testing.T) {
	root := repoRoot(t)
	cmd := exec.Command("go", "run", "./cmd/necrogen", "graph", "-format", "dot", "./examples/etl")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	good := "<!-- check: graph dot ./examples/etl -->\n```dot\n" + string(out) + "```\n"
	if problems := Check(&logger{}, root, []byte(good)); len(problems) != 0 {
		t.Errorf("problems: %v", problems)
	}
	md, err := os.ReadFile(filepath.Join("testdata", "graph_stale.md"))
	if err != nil {
		t.Fatal(err)
	}
	problems := Check(&logger{}, root, md)
	if len(problems) != 1 || problems[0].Line != 4 || !strings.Contains(problems[0].Msg, "\n-    OLD_EVENT([OLD_EVENT])\n") {
		t.Errorf("problems: %v", problems)
	}
}

func TestQuickstart(t *testing.T) {
	checkFixture(t, repoRoot(t), "quickstart.md")
}

func TestQuickstartFails(t *testing.T) {
	checkFixture(t, repoRoot(t), "quickstart_fail.md",
		want{7, []string{"quickstart failed", "+ test -f missing.go", "exit status 1, want 0"}},
		want{13, []string{"a second quickstart block; the first is at line 4"}},
		want{22, []string{"main.go already given at line 17"}},
	)
	checkFixture(t, repoRoot(t), "quickstart_noget.md",
		want{4, []string{"no `go get -tool github.com/necrostack/necrostack/cmd/necrogen@latest` line"}},
	)
}
