// Package templates holds the files that `necrogen init` scaffolds a new
// NecroStack app from, embedded so that the installed tool carries them.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"text/template"
)

//go:embed app/*.tmpl
var files embed.FS

// Data fills in the templates.
type Data struct {
	Package string // Go package name of the app
	Module  string // module path for go.mod; "" writes no go.mod
}

// Render returns the scaffold's files by name (relative to the app
// directory), with the templates executed against d.
func Render(d Data) (map[string][]byte, error) {
	entries, err := fs.ReadDir(files, "app")
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".tmpl")
		if name == "go.mod" && d.Module == "" {
			continue
		}
		t, err := template.ParseFS(files, "app/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", e.Name(), err)
		}
		var buf bytes.Buffer
		if err := t.Execute(&buf, d); err != nil {
			return nil, fmt.Errorf("template %s: %w", e.Name(), err)
		}
		out[name] = buf.Bytes()
	}
	return out, nil
}

// Names returns the file names of a rendered scaffold, sorted.
func Names(files map[string][]byte) []string {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
