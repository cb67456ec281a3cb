package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"

	"github.com/necrostack/necrostack/templates"
)

const toolPath = "github.com/necrostack/necrostack/cmd/necrogen"

const initUsage = `usage: necrogen init [-module path [-nested]] dir

Scaffolds a NecroStack app (doc.go, events.go, organs.go, main.go and a test)
into dir, which must not hold Go files yet. Inside a module the app joins it;
-module makes dir a module of its own instead, which inside another module
also needs -nested.
`

// runInit scaffolds a new NecroStack app into a directory.
func runInit(args []string, stdout, stderr io.Writer) int {
	log := logger{stderr}
	fs := flag.NewFlagSet("necrogen init", flag.ContinueOnError)
	modPath := fs.String("module", "", "make dir a new module with this path (default: dir joins the module it is in)")
	nested := fs.Bool("nested", false, "with -module: make the new module even inside another module")
	if code, ok := parse(fs, args, stderr, initUsage); !ok {
		return code
	}
	if fs.NArg() != 1 {
		log.printf("init: want one directory, got %d arguments (run necrogen init -h for usage)", fs.NArg())
		return exitUsage
	}
	if *modPath != "" {
		if err := module.CheckImportPath(*modPath); err != nil {
			log.printf("init: -module: %v", err)
			return exitUsage
		}
	} else if *nested {
		log.printf("init: -nested goes with -module")
		return exitUsage
	}
	dir := fs.Arg(0)
	abs, err := filepath.Abs(dir)
	if err != nil {
		log.printf("init: %v", err)
		return exitInput
	}
	enclosing := enclosingModule(abs)
	switch {
	case *modPath != "" && enclosing != "" && !*nested:
		log.printf("init: %s is inside the module of %s: -module would nest a second module in it; leave out -module to add the app to that module, or add -nested", dir, enclosing)
		return exitInput
	case *modPath == "" && enclosing == "":
		log.printf("init: %s is not inside a Go module: give -module path to make it a module of its own", dir)
		return exitInput
	}
	files, err := templates.Render(templates.Data{Package: "main", Module: *modPath})
	if err != nil {
		log.printf("init: %v", err)
		return exitInput
	}
	if problem := notEmpty(dir, files); problem != "" {
		log.printf("init: %s: init writes only into a directory that holds no Go files and none of the files it writes (%s)", problem, strings.Join(templates.Names(files), ", "))
		return exitInput
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		log.printf("init: %v", err)
		return exitInput
	}
	for _, name := range templates.Names(files) {
		if err := os.WriteFile(filepath.Join(dir, name), files[name], 0o644); err != nil {
			log.printf("init: %v", err)
			return exitInput
		}
		fmt.Fprintf(stdout, "created %s\n", filepath.Join(dir, name))
	}
	fmt.Fprintf(stdout, "next: %s\n", nextSteps(dir, *modPath != "", enclosing))
	return exitOK
}

// notEmpty says what in dir keeps init from writing there, or "".
func notEmpty(dir string, files map[string][]byte) string {
	for _, name := range templates.Names(files) {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return filepath.Join(dir, name) + " already exists"
		}
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	if len(matches) > 0 {
		return filepath.Join(dir, filepath.Base(matches[0])) + " already exists"
	}
	return ""
}

// enclosingModule returns the go.mod file of the module dir is in, or "".
func enclosingModule(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		if fi, err := os.Stat(filepath.Join(d, "go.mod")); err == nil && !fi.IsDir() {
			return filepath.Join(d, "go.mod")
		}
		if filepath.Dir(d) == d {
			return ""
		}
	}
}

// nextSteps is the command line that generates, runs and tests the new app.
func nextSteps(dir string, newModule bool, enclosing string) string {
	getTool := "go get -tool " + toolPath
	if newModule {
		return "cd " + dir + " && " + getTool + " && go generate ./... && go run . && go test ./..."
	}
	pkg := filepath.ToSlash(dir)
	if !filepath.IsAbs(dir) && !strings.HasPrefix(pkg, "./") && !strings.HasPrefix(pkg, "../") {
		pkg = "./" + pkg
	}
	steps := "go generate " + pkg + " && go run " + pkg + " && go test " + pkg
	if !hasTool(enclosing) {
		steps = getTool + " && " + steps
	}
	return steps
}

// hasTool reports whether the go.mod file at path declares necrogen a tool.
func hasTool(path string) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	f, err := modfile.ParseLax(path, data, nil)
	if err != nil {
		return false
	}
	return slices.ContainsFunc(f.Tool, func(t *modfile.Tool) bool { return t.Path == toolPath })
}
