//go:build webbench && linux

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/profiler"
	"github.com/chromedp/chromedp"
)

// Where a browser transfer spends its time, for TestBrowserThroughput with
// P2PCOPY_WEB_BENCH_PROFILE=1: the CPU time of every thread on the machine over the transfer
// (chromium's renderer, network and browser threads, the CLI peer), and a sampling profile of
// the page's main thread (Chrome DevTools protocol, Profiler domain).

// threadCPU is one thread's CPU time so far, and what it is.
type threadCPU struct {
	what  string
	ticks int64
}

// clockTicks is USER_HZ, the unit of /proc/PID/task/TID/stat times (100 on every Linux
// this runs on).
const clockTicks = 100

// cpuSnapshot reads the CPU time of every thread of every process.
func cpuSnapshot() map[string]threadCPU {
	out := map[string]threadCPU{}
	stats, _ := filepath.Glob("/proc/[0-9]*/task/[0-9]*/stat")
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		s := string(b)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open {
			continue
		}
		f := strings.Fields(s[end+1:])
		if len(f) < 13 {
			continue
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		pid := strings.Split(p, "/")[2]
		out[p] = threadCPU{what: processKind(pid) + "/" + s[open+1:end], ticks: ut + st}
	}
	return out
}

// processKind names a process: p2pcopy, or chromium's process type (browser, renderer, …).
func processKind(pid string) string {
	cmd, err := os.ReadFile("/proc/" + pid + "/cmdline")
	if err != nil {
		return "?"
	}
	// chromium rewrites its command line into one space-separated string.
	args := strings.Fields(strings.ReplaceAll(string(cmd), "\x00", " "))
	if len(args) == 0 {
		return "?"
	}
	name := filepath.Base(args[0])
	if strings.Contains(name, "chrom") {
		kind := "browser"
		for _, a := range args {
			if t, ok := strings.CutPrefix(a, "--type="); ok && kind == "browser" {
				kind = t
			}
			if u, ok := strings.CutPrefix(a, "--utility-sub-type="); ok {
				kind = u
			}
		}
		return "chromium-" + kind
	}
	if strings.HasPrefix(name, "00") { // a zygote child keeps only part of its command line
		if strings.Contains(string(cmd), "--renderer-client-id") {
			return "chromium-renderer"
		}
		return "chromium-child(network?)"
	}
	return name
}

// cpuSampler snapshots every quarter second until stop is called, so that a process that ends
// before the measurement does (the CLI peer) still counts; stop returns the first snapshot and
// the last time seen of every thread.
func cpuSampler() (stop func() (first, last map[string]threadCPU)) {
	first := cpuSnapshot()
	last := map[string]threadCPU{}
	done := make(chan struct{})
	finished := make(chan struct{})
	merge := func(s map[string]threadCPU) {
		for k, v := range s {
			last[k] = v
		}
	}
	go func() {
		defer close(finished)
		for {
			select {
			case <-done:
				merge(cpuSnapshot())
				return
			case <-time.After(250 * time.Millisecond):
				merge(cpuSnapshot())
			}
		}
	}()
	return func() (map[string]threadCPU, map[string]threadCPU) {
		close(done)
		<-finished
		return first, last
	}
}

// cpuReport logs the threads that used at least 2 % of one core between two snapshots.
func cpuReport(t *testing.T, before, after map[string]threadCPU, wall time.Duration) {
	t.Helper()
	sum := map[string]int64{}
	for k, a := range after {
		d := a.ticks - before[k].ticks
		if d > 0 {
			sum[a.what] += d
		}
	}
	type row struct {
		what string
		secs float64
	}
	var rows []row
	var total float64
	for w, d := range sum {
		s := float64(d) / clockTicks
		total += s
		if s >= 0.02*wall.Seconds() {
			rows = append(rows, row{w, s})
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].secs > rows[j].secs })
	var b strings.Builder
	fmt.Fprintf(&b, "CPU over %.1f s wall (all threads on the machine: %.1f s):\n", wall.Seconds(), total)
	for _, r := range rows {
		fmt.Fprintf(&b, "  %6.2f s  %3.0f%% of a core  %s\n", r.secs, 100*r.secs/wall.Seconds(), r.what)
	}
	t.Log(b.String())
}

// startJSProfile starts sampling the page's main thread.
func startJSProfile(t *testing.T, bctx context.Context) {
	t.Helper()
	if _, err := chromedp.Call(bctx, profiler.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(bctx, profiler.SetSamplingInterval, profiler.SetSamplingIntervalParams{Interval: 200}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(bctx, profiler.Start, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
}

// stopJSProfile stops it and logs the functions with the most samples on top of the stack.
func stopJSProfile(t *testing.T, bctx context.Context) {
	t.Helper()
	res, err := chromedp.Call(bctx, profiler.Stop, cdp.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	p := res.Profile
	self := map[int64]int64{}
	for i, id := range p.Samples {
		if i < len(p.TimeDeltas) {
			self[id] += p.TimeDeltas[i]
		}
	}
	byFn := map[string]int64{}
	var total int64
	for _, n := range p.Nodes {
		cf := n.CallFrame
		name := cf.FunctionName
		if name == "" {
			name = "(anonymous)"
		}
		key := fmt.Sprintf("%s %s:%d", name, filepath.Base(cf.URL), cf.LineNumber+1)
		if cf.URL == "" {
			key = name
		}
		byFn[key] += self[n.ID]
		total += self[n.ID]
	}
	type row struct {
		fn string
		us int64
	}
	var rows []row
	for k, v := range byFn {
		rows = append(rows, row{k, v})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].us > rows[j].us })
	var b strings.Builder
	fmt.Fprintf(&b, "page main thread, %.1f s sampled, self time:\n", float64(total)/1e6)
	for i, r := range rows {
		if i == 20 {
			break
		}
		fmt.Fprintf(&b, "  %6.2f s %5.1f%%  %s\n", float64(r.us)/1e6, 100*float64(r.us)/float64(total), r.fn)
	}
	t.Log(b.String())
}
