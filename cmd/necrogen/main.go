// Command necrogen generates a statically wired, reflection-free Spine for
// every package whose functions carry //necro:listens directives.
//
// Usage:
//
//	necrogen [-check] [-v] [-tags list] [packages]
//	necrogen -version
//
// With no packages it generates for the package in the current directory,
// which is what `//go:generate go tool necrogen` gives it. It writes
// necro_gen.go beside the sources, only when the content changes, atomically,
// and removes a necro_gen.go of its own whose package has no handlers left.
//
// Exit codes: 0 success (with -check: everything is up to date); 1 the input
// has errors, or with -check a file is stale, missing or orphaned (the diff is
// printed on standard output); 2 usage error, or -check could not check.
// Every problem in the input is reported at once as file:line:col: message.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/necrostack/necrostack/cmd/necrogen/internal/gen"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const (
	exitOK    = 0
	exitInput = 1
	exitUsage = 2
)

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "graph":
			return runGraph(args[1:], stdout, stderr)
		case "init":
			return runInit(args[1:], stdout, stderr)
		}
	}
	fs := flag.NewFlagSet("necrogen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	check := fs.Bool("check", false, "write nothing; exit 1 and print a diff if any generated file is stale, missing or orphaned")
	verbose := fs.Bool("v", false, "print each file written or removed")
	tags := fs.String("tags", "", "comma-separated build tags to load the packages with")
	strict := fs.Bool("strict", false, "treat flow-lint warnings as errors")
	version := fs.Bool("version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return exitOK
		}
		return exitUsage
	}
	if *version {
		fmt.Fprintln(stdout, "necrogen", moduleVersion())
		return exitOK
	}
	cwd, err := os.Getwd()
	if err != nil {
		fmt.Fprintf(stderr, "necrogen: %v\n", err)
		return exitUsage
	}
	cfg := gen.Config{Dir: cwd, Patterns: fs.Args(), Tags: splitTags(*tags), Strict: *strict}
	res, err := gen.Generate(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "necrogen: %v\n", err)
		if *check {
			return exitUsage
		}
		return exitInput
	}
	for _, d := range res.Diagnostics {
		fmt.Fprintln(stderr, d.Format(cwd))
	}
	if res.HasErrors() {
		fmt.Fprintf(stderr, "necrogen: %s; nothing written\n", countErrors(res))
		if *check {
			return exitUsage
		}
		return exitInput
	}
	if *check {
		stale := gen.Check(res)
		for _, s := range stale {
			fmt.Fprintf(stderr, "necrogen: %s: %s (run go generate)\n", res.Rel(s.Path), s.Reason)
			fmt.Fprint(stdout, s.Diff)
		}
		if len(stale) > 0 {
			return exitInput
		}
		return exitOK
	}
	report := func(action, path string) {
		if *verbose {
			fmt.Fprintf(stderr, "necrogen: %s %s\n", action, res.Rel(path))
		}
	}
	if err := gen.Write(res, report); err != nil {
		fmt.Fprintf(stderr, "necrogen: %v\n", err)
		return exitInput
	}
	return exitOK
}

const usage = `usage: necrogen [-check] [-strict] [-v] [-tags list] [packages]
       necrogen graph [-format mermaid|dot] [-tags list] [packages]
       necrogen init [-module path] dir
       necrogen -version

flags:
`

func splitTags(tags string) []string {
	if tags == "" {
		return nil
	}
	return strings.Split(tags, ",")
}

// runGraph prints the organs and events of the packages as a graph.
func runGraph(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("necrogen graph", flag.ContinueOnError)
	fs.SetOutput(stderr)
	format := fs.String("format", gen.FormatMermaid, "graph format: mermaid or dot")
	tags := fs.String("tags", "", "comma-separated build tags to load the packages with")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return exitOK
		}
		return exitUsage
	}
	if *format != gen.FormatMermaid && *format != gen.FormatDOT {
		fmt.Fprintf(stderr, "necrogen graph: unknown -format %q: use mermaid or dot\n", *format)
		return exitUsage
	}
	cwd, err := os.Getwd()
	if err != nil {
		fmt.Fprintf(stderr, "necrogen: %v\n", err)
		return exitUsage
	}
	res, err := gen.Generate(gen.Config{Dir: cwd, Patterns: fs.Args(), Tags: splitTags(*tags)})
	if err != nil {
		fmt.Fprintf(stderr, "necrogen: %v\n", err)
		return exitInput
	}
	if res.HasErrors() {
		for _, d := range res.Diagnostics {
			fmt.Fprintln(stderr, d.Format(cwd))
		}
		fmt.Fprintf(stderr, "necrogen: %s; no graph\n", countErrors(res))
		return exitInput
	}
	out, err := gen.Graph(res, *format)
	if err != nil {
		fmt.Fprintf(stderr, "necrogen: %v\n", err)
		return exitUsage
	}
	fmt.Fprint(stdout, out)
	return exitOK
}

func countErrors(res *gen.Result) string {
	n := res.ErrorCount()
	if n == 1 {
		return "1 error"
	}
	return fmt.Sprintf("%d errors", n)
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
