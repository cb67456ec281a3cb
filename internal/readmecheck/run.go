package readmecheck

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// commandTimeout bounds each bash process Check starts.
const commandTimeout = 5 * time.Minute

// result is what a bash process did.
type result struct {
	stdout, stderr string
	code           int   // exit status, when err is nil
	err            error // it could not run, or ran out of time
}

// runBash runs script with bash -c in dir.
func runBash(dir string, env []string, script string) result {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Dir = dir
	cmd.Env = env
	cmd.WaitDelay = 10 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		res.err = fmt.Errorf("timed out after %v", commandTimeout)
	case errors.As(err, &exit):
		res.code = exit.ExitCode()
	default:
		res.err = err
	}
	return res
}

// failure describes how res is not an exit with status want, or returns "".
func (res result) failure(want int) string {
	var msg string
	switch {
	case res.err != nil:
		msg = res.err.Error()
	case res.code != want:
		msg = fmt.Sprintf("exit status %d, want %d", res.code, want)
	default:
		return ""
	}
	if out := tail(res.stderr + res.stdout); out != "" {
		msg += "; output:\n" + out
	}
	return msg
}

// tail returns the last lines of s, at most 40.
func tail(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > 40 {
		lines = append([]string{"[...]"}, lines[len(lines)-40:]...)
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// goGetTool is the line of the quickstart that installs necrogen; the
// quickstart must have it.
const goGetTool = "go get -tool " + ModulePath + "/cmd/necrogen"

// isGoGetTool reports whether cmd is goGetTool, with or without @latest.
func isGoGetTool(cmd string) bool {
	cmd = strings.Join(strings.Fields(cmd), " ")
	return cmd == goGetTool || cmd == goGetTool+"@latest"
}

// checkQuickstart runs the quickstart block b in one bash process in a new
// temporary directory, with the files written in, and compares its last
// command's stdout with the output block out, if there is one.
func checkQuickstart(root string, b Block, files []Block, out *Block) []Problem {
	cmds, problems := commands(b)
	if len(problems) > 0 {
		return problems
	}
	if len(cmds) == 0 {
		return []Problem{{b.Line, "quickstart block has no commands"}}
	}

	// Where the files are written: before cmds[filesAt].
	filesAt := -1
	for k, line := range b.Lines() {
		if strings.TrimSpace(line) == "# files" {
			filesAt = len(cmds)
			for i, c := range cmds {
				if c.Line > b.Line+1+k {
					filesAt = i
					break
				}
			}
			break
		}
	}
	for i, c := range cmds {
		if filesAt >= 0 {
			break
		}
		if strings.HasPrefix(strings.Join(strings.Fields(c.Cmd), " "), "go mod init") {
			filesAt = i + 1
		}
	}
	if filesAt < 0 && len(files) > 0 {
		return []Problem{{b.Line, "quickstart has quickstart-file blocks but neither a `# files` line nor a `go mod init` line to write them after"}}
	}

	tmp, err := os.MkdirTemp("", "readmecheck-quickstart-")
	if err != nil {
		return []Problem{{b.Line, err.Error()}}
	}
	defer os.RemoveAll(tmp)
	work, stage := filepath.Join(tmp, "work"), filepath.Join(tmp, "files")
	stdoutFile, failedFile := filepath.Join(tmp, "stdout"), filepath.Join(tmp, "failed")
	for _, dir := range []string{work, stage} {
		if err := os.Mkdir(dir, 0o755); err != nil {
			return []Problem{{b.Line, err.Error()}}
		}
	}
	written := map[string]int{}
	for _, f := range files {
		name := filepath.FromSlash(f.Marker.Args[0])
		if line, ok := written[name]; ok {
			problems = append(problems, Problem{f.Marker.Line, fmt.Sprintf("quickstart-file %s already given at line %d", name, line)})
			continue
		}
		written[name] = f.Marker.Line
		p := filepath.Join(stage, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return append(problems, Problem{f.Line, err.Error()})
		}
		if err := os.WriteFile(p, []byte(f.Content), 0o644); err != nil {
			return append(problems, Problem{f.Line, err.Error()})
		}
	}

	// One bash process: each line in a { } group, so cd carries over, then
	// a check of its exit status that records the failing README line.
	var script strings.Builder
	script.WriteString("exec 2>&1\n")
	step := func(line int, show, text, redirect string, want int) {
		fmt.Fprintf(&script, "echo %s\n{\n%s\n}%s\n", shellQuote("+ "+show), text, redirect)
		fmt.Fprintf(&script, "st=$?; if [ $st -ne %d ]; then echo \"readmecheck: exit status $st, want %d\"; echo %d >%s; exit 1; fi\n",
			want, want, line, shellQuote(failedFile))
	}
	copyFiles := "cp -R " + shellQuote(stage) + "/. ."
	installs := false
	for i, c := range cmds {
		if i == filesAt && len(files) > 0 {
			step(c.Line, "# (quickstart files written here)", copyFiles, "", 0)
		}
		text, show := c.Text, c.Cmd
		installs = installs || isGoGetTool(c.Cmd)
		redirect := ""
		if i == len(cmds)-1 && out != nil {
			redirect = " >" + shellQuote(stdoutFile)
		}
		step(c.Line, show, text, redirect, c.Want)
	}
	if filesAt == len(cmds) && len(files) > 0 {
		step(b.Line, "# (quickstart files written here)", copyFiles, "", 0)
	}
	if !installs {
		return append(problems, Problem{b.Line, fmt.Sprintf("quickstart block has no `%s@latest` line: it must show how to install necrogen", goGetTool)})
	}

	user, err := NewUserEnv(root)
	if err != nil {
		return append(problems, Problem{b.Line, err.Error()})
	}
	defer user.Close()
	res := runBash(work, user.Env, script.String())
	if res.err != nil || res.code != 0 {
		line := b.Line
		if data, err := os.ReadFile(failedFile); err == nil {
			line, _ = strconv.Atoi(strings.TrimSpace(string(data)))
		}
		msg := "quickstart failed"
		if res.err != nil {
			msg += ": " + res.err.Error()
		}
		return append(problems, Problem{line, msg + "; transcript:\n" + tail(res.stdout+res.stderr)})
	}
	if out != nil {
		got, err := os.ReadFile(stdoutFile)
		if err != nil {
			return append(problems, Problem{out.Line, err.Error()})
		}
		if d := compare(out.Content, string(got)); d != "" {
			problems = append(problems, Problem{out.Line, fmt.Sprintf("output of the quickstart's %q differs (- README, + actual):\n%s", cmds[len(cmds)-1].Cmd, d)})
		}
	}
	return problems
}
