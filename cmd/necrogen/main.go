// Command necrogen generates a statically wired, reflection-free Spine for
// every package whose functions carry //necro:listens directives, and the
// event-type constants and constructors of every package that marks payload
// types //necro:event or //necro:entry. Over several packages it generates
// them in import order, so that a package's payload types are generated
// before the handlers of other packages use them.
//
// Usage:
//
//	necrogen [-check] [-strict] [-v] [-tags list] [packages]
//	necrogen graph [-format mermaid|dot] [-tags list] [packages]
//	necrogen init [-module path [-nested]] dir
//	necrogen -version
//
// With no packages it generates for the package in the current directory,
// which is what `//go:generate go tool necrogen` gives it. It writes
// necro_gen.go beside the sources, only when the content changes, atomically,
// and removes a necro_gen.go of its own whose package has nothing left to
// generate.
// Every problem in the input is reported at once, as
// "necrogen: file:line:col: message"; every message starts with "necrogen: ".
//
// Exit codes (the same table is in `necrogen -h` and the README):
//
//	0  success: files written or already up to date (warnings allowed);
//	   with -check, every generated file is up to date
//	1  the input has errors (diagnostics, a package that cannot be loaded),
//	   a file cannot be written, or -check found a stale, missing or
//	   orphaned file (its diff is on standard output)
//	2  usage: an unknown flag, a bad flag value, a missing argument
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/necrostack/necrostack/cmd/necrogen/internal/gen"
)

func main() {
	if os.Getenv("GOGC") == "" {
		// necrogen is a short-lived process that allocates a lot (parse,
		// print and type-check what it generates): collect less often.
		debug.SetGCPercent(gen.GCPercent)
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const (
	exitOK    = 0
	exitInput = 1
	exitUsage = 2
)

const usage = `usage: necrogen [-check] [-strict] [-v] [-tags list] [packages]
       necrogen graph [-format mermaid|dot] [-tags list] [packages]
       necrogen init [-module path [-nested]] dir
       necrogen -version
`

const exitCodes = `
exit codes:
  0  success: files written or already up to date (warnings allowed);
     with -check, every generated file is up to date
  1  the input has errors (diagnostics, a package that cannot be loaded),
     a file cannot be written, or -check found a stale, missing or
     orphaned file (its diff is on standard output)
  2  usage: an unknown flag, a bad flag value, a missing argument
`

// logger prints messages, each prefixed "necrogen: ".
type logger struct{ w io.Writer }

func (l logger) printf(format string, args ...any) {
	fmt.Fprintf(l.w, "necrogen: "+format+"\n", args...)
}

// parse parses a flag set's arguments. It prints help for -h (and returns
// exitOK) and a one-line message for a bad flag (exitUsage); ok is true when
// the command should go on.
func parse(fs *flag.FlagSet, args []string, stderr io.Writer, help string) (code int, ok bool) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	switch {
	case err == nil:
		return exitOK, true
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stderr, help, "\nflags:\n")
		fs.SetOutput(stderr)
		fs.PrintDefaults()
		if fs.Name() == "necrogen" {
			fmt.Fprint(stderr, exitCodes)
		}
		return exitOK, false
	default:
		logger{stderr}.printf("%s (run %s -h for usage)", err, fs.Name())
		return exitUsage, false
	}
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "graph":
			return runGraph(args[1:], stdout, stderr)
		case "init":
			return runInit(args[1:], stdout, stderr)
		}
	}
	log := logger{stderr}
	fs := flag.NewFlagSet("necrogen", flag.ContinueOnError)
	check := fs.Bool("check", false, "write nothing; exit 1 and print a diff if any generated file is stale, missing or orphaned")
	verbose := fs.Bool("v", false, "print each file written or removed")
	tags := fs.String("tags", "", "comma-separated build tags to load the packages with")
	strict := fs.Bool("strict", false, "treat flow-lint and wire warnings as errors")
	version := fs.Bool("version", false, "print the version and exit")
	if code, ok := parse(fs, args, stderr, usage); !ok {
		return code
	}
	if *version {
		fmt.Fprintln(stdout, "necrogen", moduleVersion())
		return exitOK
	}
	res, code := generate(gen.Config{Patterns: fs.Args(), Tags: splitTags(*tags), Strict: *strict}, log, "nothing written")
	if res == nil {
		return code
	}
	if *check {
		stale := gen.Check(res)
		for _, s := range stale {
			log.printf("%s: %s (run go generate)", res.Rel(s.Path), s.Reason)
			fmt.Fprint(stdout, s.Diff)
		}
		if len(stale) > 0 {
			return exitInput
		}
		return exitOK
	}
	report := func(action, path string) {
		if *verbose {
			log.printf("%s %s", action, res.Rel(path))
		}
	}
	if err := gen.Write(res, report); err != nil {
		log.printf("%v", err)
		return exitInput
	}
	return exitOK
}

// generate runs the generator in the current directory and prints its
// diagnostics. It returns a nil result, with the exit code, when the input
// has errors or cannot be loaded.
func generate(cfg gen.Config, log logger, outcome string) (*gen.Result, int) {
	cwd, err := os.Getwd()
	if err != nil {
		log.printf("%v", err)
		return nil, exitInput
	}
	cfg.Dir = cwd
	res, err := gen.Generate(cfg)
	if err != nil {
		log.printf("%v", err)
		return nil, exitInput
	}
	for _, d := range res.Diagnostics {
		log.printf("%s", d.Format(cwd))
	}
	if n := res.ErrorCount(); n > 0 {
		log.printf("%s; %s", plural(n, "error"), outcome)
		return nil, exitInput
	}
	return res, exitOK
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func splitTags(tags string) []string {
	if tags == "" {
		return nil
	}
	return strings.Split(tags, ",")
}

// runGraph prints the organs and events of the packages as a graph.
func runGraph(args []string, stdout, stderr io.Writer) int {
	log := logger{stderr}
	fs := flag.NewFlagSet("necrogen graph", flag.ContinueOnError)
	format := fs.String("format", gen.FormatMermaid, "graph format: mermaid or dot")
	tags := fs.String("tags", "", "comma-separated build tags to load the packages with")
	if code, ok := parse(fs, args, stderr, "usage: necrogen graph [-format mermaid|dot] [-tags list] [packages]\n"); !ok {
		return code
	}
	if *format != gen.FormatMermaid && *format != gen.FormatDOT {
		log.printf("graph: unknown -format %q: use mermaid or dot", *format)
		return exitUsage
	}
	res, code := generate(gen.Config{Patterns: fs.Args(), Tags: splitTags(*tags)}, log, "no graph")
	if res == nil {
		return code
	}
	out, err := gen.Graph(res, *format)
	if err != nil {
		log.printf("graph: %v", err)
		return exitUsage
	}
	fmt.Fprint(stdout, out)
	return exitOK
}

// moduleVersion is the version of the necrostack module this binary was built
// from; it is never written into generated files.
func moduleVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	for _, dep := range info.Deps {
		if dep.Path == "github.com/necrostack/necrostack" {
			return dep.Version
		}
	}
	return info.Main.Version
}
