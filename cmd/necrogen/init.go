package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/necrostack/necrostack/templates"
)

// runInit scaffolds a new NecroStack app into a directory.
func runInit(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("necrogen init", flag.ContinueOnError)
	fs.SetOutput(stderr)
	module := fs.String("module", "", "module path for a new go.mod (default: none is written; the directory joins the enclosing module)")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: necrogen init [-module path] dir")
		return exitUsage
	}
	dir := fs.Arg(0)
	files, err := templates.Render(templates.Data{Package: "main", Module: *module})
	if err != nil {
		fmt.Fprintf(stderr, "necrogen init: %v\n", err)
		return exitUsage
	}
	for name := range files {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			fmt.Fprintf(stderr, "necrogen init: %s already exists; init writes only into a new or empty directory\n", filepath.Join(dir, name))
			return exitInput
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintf(stderr, "necrogen init: %v\n", err)
		return exitInput
	}
	for _, name := range templates.Names(files) {
		if err := os.WriteFile(filepath.Join(dir, name), files[name], 0o644); err != nil {
			fmt.Fprintf(stderr, "necrogen init: %v\n", err)
			return exitInput
		}
		fmt.Fprintf(stdout, "created %s\n", filepath.Join(dir, name))
	}
	if *module != "" {
		fmt.Fprintf(stdout, "next: cd %s && go get -tool github.com/necrostack/necrostack/cmd/necrogen && go generate ./... && go run . && go test ./...\n", dir)
	} else {
		fmt.Fprintf(stdout, "next: go generate ./%s && go run ./%s && go test ./%s\n", dir, dir, dir)
	}
	return exitOK
}
