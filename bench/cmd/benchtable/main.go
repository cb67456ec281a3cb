// Command benchtable turns the output of the bench package's benchmarks
// (`go test -bench` lines, any number of runs of each) into the Markdown
// performance tables of the README: per workload, the median of each metric
// for bench/baseline and for NecroStack, their ratio, and the target it is
// held to, with the machine named.
//
//	go test -run '^$' -bench . -count 6 ./bench | tee bench/bench.txt
//	go run ./bench/cmd/benchtable bench/bench.txt
//
// With no file it reads standard input. The machine line names the CPU
// model (/proc/cpuinfo, else the "cpu:" line of the output), the number of
// CPUs, `go version` and `redis-server --version` as found on PATH.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	goruntime "runtime"
	"strings"
	"time"
)

func main() {
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: benchtable [file ...]   (go test -bench output; standard input when none)")
		flag.PrintDefaults()
	}
	flag.Parse()
	var in []io.Reader
	for _, name := range flag.Args() {
		f, err := os.Open(name)
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchtable:", err)
			os.Exit(1)
		}
		defer f.Close()
		in = append(in, f)
	}
	if len(in) == 0 {
		in = append(in, os.Stdin)
	}
	set, err := Parse(io.MultiReader(in...))
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
	if len(set.Samples) == 0 {
		fmt.Fprintln(os.Stderr, "benchtable: no benchmark results in the input")
		os.Exit(1)
	}
	w := bufio.NewWriter(os.Stdout)
	Render(w, set, machine(set))
	w.Flush()
}

// machine describes where the benchmarks ran.
func machine(set *Set) Machine {
	m := Machine{CPU: set.CPU, CPUs: goruntime.NumCPU(), Date: time.Now().UTC().Format("2006-01-02")}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(data)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if out, err := exec.Command("go", "version").Output(); err == nil {
		// "go version go1.26.8 linux/amd64"
		m.Go = strings.TrimPrefix(strings.TrimSpace(string(out)), "go version ")
	} else {
		m.Go = goruntime.Version() + " " + goruntime.GOOS + "/" + goruntime.GOARCH
	}
	if out, err := exec.Command("redis-server", "--version").Output(); err == nil {
		// "Redis server v=7.0.15 sha=… malloc=… bits=64 build=…"
		for f := range strings.FieldsSeq(string(out)) {
			if v, ok := strings.CutPrefix(f, "v="); ok {
				m.Redis = v
			}
		}
	}
	return m
}
