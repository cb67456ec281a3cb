package linediff

import (
	"fmt"
	"strings"
	"testing"
)

func TestUnified(t *testing.T) {
	for _, c := range []struct{ name, a, b, want string }{
		{"equal", "a\nb\n", "a\nb\n", ""},
		{
			// Changes 6 lines apart share one hunk, as in diff -u.
			"one hunk",
			"one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\nten\n",
			"one\ntwo\nthree\nFOUR\nfive\nsix\nseven\neight\nnine\nten\neleven\n",
			"--- a\n+++ b\n@@ -1,10 +1,11 @@\n one\n two\n three\n-four\n+FOUR\n five\n six\n seven\n eight\n nine\n ten\n+eleven\n",
		},
		{
			"two hunks",
			"1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n",
			"one\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\ntwelve\n",
			"--- a\n+++ b\n@@ -1,4 +1,4 @@\n-1\n+one\n 2\n 3\n 4\n@@ -9,4 +9,4 @@\n 9\n 10\n 11\n-12\n+twelve\n",
		},
		{"new file", "", "x\ny\n", "--- a\n+++ b\n@@ -0,0 +1,2 @@\n+x\n+y\n"},
		{"removed file", "x\n", "", "--- a\n+++ b\n@@ -1,1 +0,0 @@\n-x\n"},
		{"CRLF against LF", "x\r\ny\r\n", "x\ny\n", "--- a\n+++ b\n@@ -1,2 +1,2 @@\n-x\r\n-y\r\n+x\n+y\n"},
	} {
		if got := Unified("a", "b", c.a, c.b); got != c.want {
			t.Errorf("%s:\n%s\nwant:\n%s", c.name, got, c.want)
		}
	}
}

// Inputs too large for the table still give a correct, if long, diff.
func TestLargeInputs(t *testing.T) {
	var a, b []string
	for i := range 3000 {
		a = append(a, fmt.Sprint("a", i))
		b = append(b, fmt.Sprint("b", i))
	}
	ops := Lines(append([]string{"same"}, a...), append([]string{"same"}, b...))
	if len(ops) != 6001 || ops[0] != (Op{' ', "same"}) || ops[1].Kind != '-' || ops[6000].Kind != '+' {
		t.Fatalf("got %d ops starting %v", len(ops), ops[:2])
	}
	if h := Hunks(ops); !strings.HasPrefix(h, "@@ -1,3001 +1,3001 @@\n same\n-a0\n") {
		t.Fatalf("hunk: %.60q", h)
	}
}
