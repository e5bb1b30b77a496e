// Command testsummary reads `go test -json` on stdin and prints what a person needs: one line per
// package, the full output of every failed test, and a closing "N passed, N failed, N skipped"
// line. It exits non-zero when anything failed, or when CI=true and any test was skipped (tests
// that need root or a browser must run in CI).
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

type event struct {
	Action     string
	Package    string
	Test       string
	Output     string
	Elapsed    float64
	ImportPath string
}

func main() {
	nodeTAP := flag.String("node", "", "also count the tests of this node --test (TAP) output")
	flag.Parse()
	output := map[string][]string{} // "pkg test" -> lines
	var passed, failed, skipped []string
	var pkgFailed []string
	var pkgLines []string
	build := map[string][]string{}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	for in.Scan() {
		line := in.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil {
			fmt.Println(string(line)) // not JSON: e.g. a build error printed by go itself
			continue
		}
		key := e.Package + " " + e.Test
		switch e.Action {
		case "build-output":
			build[e.ImportPath] = append(build[e.ImportPath], e.Output)
		case "output":
			output[key] = append(output[key], e.Output)
		case "pass":
			if e.Test != "" {
				passed = append(passed, key)
			} else {
				pkgLines = append(pkgLines, fmt.Sprintf("ok   %s %.1fs", e.Package, e.Elapsed))
			}
		case "fail":
			if e.Test != "" {
				failed = append(failed, key)
			} else {
				pkgFailed = append(pkgFailed, e.Package)
				pkgLines = append(pkgLines, fmt.Sprintf("FAIL %s %.1fs", e.Package, e.Elapsed))
			}
		case "skip":
			if e.Test != "" {
				skipped = append(skipped, key)
			}
		}
	}
	for path, lines := range build {
		fmt.Printf("=== build output of %s\n%s", path, strings.Join(lines, ""))
	}
	for _, k := range failed {
		fmt.Printf("=== FAIL %s\n%s", k, strings.Join(output[k], ""))
	}
	for _, p := range pkgFailed {
		if lines := output[p+" "]; len(lines) > 0 {
			fmt.Printf("=== package %s\n%s", p, strings.Join(lines, ""))
		}
	}
	sort.Strings(skipped)
	for _, k := range skipped {
		reason := strings.TrimSpace(strings.Join(output[k], ""))
		fmt.Printf("SKIP %s: %s\n", k, lastLine(reason))
	}
	if *nodeTAP != "" {
		n := nodeTests(*nodeTAP)
		passed, failed, skipped = append(passed, n.passed...), append(failed, n.failed...), append(skipped, n.skipped...)
		pkgLines = append(pkgLines, n.line)
	}
	sort.Strings(pkgLines)
	fmt.Println(strings.Join(pkgLines, "\n"))
	fmt.Printf("tests: %d passed, %d failed, %d skipped\n", len(passed), len(failed), len(skipped))
	switch {
	case len(failed) > 0 || len(pkgFailed) > 0:
		os.Exit(1)
	case len(skipped) > 0 && os.Getenv("CI") == "true":
		fmt.Println("CI=true: no test may be skipped here (CI has root and chromium)")
		os.Exit(1)
	}
}

func lastLine(s string) string {
	lines := strings.Split(s, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" && !strings.HasPrefix(l, "---") {
			return l
		}
	}
	return s
}

type nodeResult struct {
	passed, failed, skipped []string
	line                    string
}

// nodeTests counts the tests of a node --test run from its TAP summary ("# pass N", "# fail N",
// "# skipped N"). A run without a summary (node crashed, or a syntax error) counts as one failed
// test; "node: not installed" as one skipped test. Output of failed runs is printed.
func nodeTests(path string) nodeResult {
	b, err := os.ReadFile(path)
	text := string(b)
	var r nodeResult
	if err != nil || strings.HasPrefix(text, "node: not installed") {
		r.skipped = []string{"web/test (node --test): node is not installed"}
		fmt.Println("SKIP web/test (node --test): node is not installed (apt-get install nodejs)")
		r.line = "SKIP web/test (node --test)"
		return r
	}
	count := func(key string) int {
		for _, l := range strings.Split(text, "\n") {
			if v, ok := strings.CutPrefix(l, "# "+key+" "); ok {
				n, _ := strconv.Atoi(strings.TrimSpace(v))
				return n
			}
		}
		return -1
	}
	pass, fail, skip := count("pass"), count("fail"), count("skipped")
	if pass < 0 || fail < 0 {
		fmt.Printf("=== FAIL web/test (node --test): no summary\n%s", text)
		r.failed = []string{"web/test (node --test)"}
		r.line = "FAIL web/test (node --test)"
		return r
	}
	for i := 0; i < pass; i++ {
		r.passed = append(r.passed, "web/test")
	}
	for i := 0; i < max(skip, 0); i++ {
		r.skipped = append(r.skipped, "web/test")
	}
	for i := 0; i < fail; i++ {
		r.failed = append(r.failed, "web/test")
	}
	if fail > 0 {
		fmt.Printf("=== FAIL web/test (node --test)\n%s", text)
		r.line = "FAIL web/test (node --test)"
	} else {
		r.line = fmt.Sprintf("ok   web/test (node --test, %d tests)", pass)
	}
	return r
}
