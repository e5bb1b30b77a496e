//go:build webbench && linux

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserThroughput measures CLI → chromium and chromium → CLI on loopback for several chunk
// sizes and flow-control thresholds, next to CLI → CLI in the same namespace. It only reports
// (timers on shared machines are noisy), so it is built only with the tag webbench:
//
//	go test -tags webbench ./cmd/p2pcopy -run TestBrowserThroughput -v [-timeout 30m]
//
// P2PCOPY_WEB_BENCH_MB (default 200), _ONLY (cli, cli2web or web2cli), _SAVE, _CHUNK, _FLOW
// ("default" for the page's own settings, or CHUNK,HIGH,LOW) and _BIN (a CLI build to compare)
// narrow it down; _PROFILE=1 logs where the time went (CPU per thread, the page's JS); _RUNS repeats everything and ends with each run's ratios to CLI → CLI. _Q adds
// to the page's query string.
func TestBrowserThroughput(t *testing.T) {
	mb := 200
	fmt.Sscan(os.Getenv("P2PCOPY_WEB_BENCH_MB"), &mb)
	runs := 1
	fmt.Sscan(os.Getenv("P2PCOPY_WEB_BENCH_RUNS"), &runs)
	lab := newWebLab(t)
	pageURL := lab.servePage("127.0.0.1:0")
	src := t.TempDir()
	randomFile(t, src, "bench.bin", mb<<20)
	file := filepath.Join(src, "bench.bin")
	mbps := func(bytes, secs float64) float64 { return bytes / secs / 1e6 }
	rate := func(bytes, secs float64) string { return fmt.Sprintf("%.1f MB/s", mbps(bytes, secs)) }

	only := os.Getenv("P2PCOPY_WEB_BENCH_ONLY") // cli, cli2web or web2cli
	var table []string
	for run := 1; run <= runs; run++ {
		var cli float64
		row := []string{}
		note := func(what string, r float64) {
			if cli > 0 {
				row = append(row, fmt.Sprintf("%s %.1f MB/s (%.2f×)", what, r, r/cli))
			} else {
				row = append(row, fmt.Sprintf("%s %.1f MB/s", what, r))
			}
		}
		// CLI → CLI, for comparison.
		if only == "" || only == "cli" {
			out := t.TempDir()
			p := joinPipes(t, lab.command("send", "--no-stun", "--json", file), lab.command("receive", "-y", "--no-stun", "--json", "-o", out))
			if err := p.receiver.Wait(); err != nil {
				t.Fatalf("receiver: %v\n%s", err, p.recvErr.String())
			}
			_ = p.sender.Wait()
			var d struct {
				Event   string
				Bytes   float64
				Seconds float64
			}
			for _, l := range strings.Split(p.sendErr.String(), "\n") {
				if json.Unmarshal([]byte(l), &d) == nil && d.Event == "done" {
					break
				}
			}
			t.Logf("CLI → CLI: %s", rate(d.Bytes, d.Seconds))
			cli = mbps(d.Bytes, d.Seconds)
			note("CLI → CLI", cli)
		}

		// CLI → chromium: the CLI's chunk size, the page hashing and discarding or staging in OPFS.
		saves := []string{"discard", "opfs"}
		if s := os.Getenv("P2PCOPY_WEB_BENCH_SAVE"); s != "" {
			saves = []string{s}
		}
		for _, save := range saves {
			if only != "" && only != "cli2web" {
				break
			}
			chunks := []int{16 << 10, 64 << 10, 256<<10 - 1}
			if c := os.Getenv("P2PCOPY_WEB_BENCH_CHUNK"); c != "" {
				chunks = chunks[:1]
				fmt.Sscan(c, &chunks[0])
			}
			for _, chunk := range chunks {
				ctx := testCtx(t, 5*time.Minute)
				bctx := lab.browser(ctx, t.TempDir())
				// --qr as a user would: the CLI then expects a browser and keeps pion's congestion
				// settings (signal/tuning.go); the answer is still pasted on stdin here.
				sender := lab.command("send", "--no-stun", "--qr", "--web-listen", labLANIP+":0", "--chunk-size", fmt.Sprint(chunk), file)
				stdin, _ := sender.StdinPipe()
				tokOut, _ := sender.StdoutPipe()
				lab.started(sender)
				tok, _ := bufio.NewReader(tokOut).ReadString('\n')
				do(t, bctx, chromedp.Navigate(pageURL+"?stun=none&save="+save+os.Getenv("P2PCOPY_WEB_BENCH_Q")+"#"+strings.TrimSpace(tok)))
				waitAccept(t, bctx)
				prof := profileStart(t, bctx)
				do(t, bctx, chromedp.Click(chromedp.CSS(`[data-testid=accept]`)))
				_, _ = io.WriteString(stdin, waitToken(t, bctx, "answer-token")+"\n")
				waitDone(t, bctx)
				prof()
				secs := eval[float64](t, bctx, `Number(document.querySelector('[data-testid=summary]').dataset.seconds)`)
				t.Logf("CLI → chromium (%s), CLI chunk %d: %s (UDP receive-buffer drops in the namespace so far: %s)", save, chunk, rate(float64(mb<<20), secs), lab.udpDrops())
				note(fmt.Sprintf("CLI → chromium (%s, %d)", save, chunk), mbps(float64(mb<<20), secs))
				_ = sender.Wait()
			}
		}

		// chromium → CLI: the page's chunk size and bufferedAmount thresholds.
		type flow struct{ chunk, high, low int }
		flows := []flow{
			{16 << 10, 1 << 20, 256 << 10}, {64 << 10, 1 << 20, 256 << 10}, {256<<10 - 1, 1 << 20, 256 << 10},
			{16 << 10, 4 << 20, 1 << 20}, {64 << 10, 4 << 20, 1 << 20}, {256<<10 - 1, 4 << 20, 1 << 20},
			{64 << 10, 8 << 20, 2 << 20}, {256<<10 - 1, 8 << 20, 2 << 20}, {256<<10 - 1, 12 << 20, 6 << 20},
		}
		switch f := os.Getenv("P2PCOPY_WEB_BENCH_FLOW"); f {
		case "":
		case "default": // the page's own settings: no query parameters
			flows = []flow{{}}
		default:
			flows = []flow{{}}
			fmt.Sscanf(f, "%d,%d,%d", &flows[0].chunk, &flows[0].high, &flows[0].low)
		}
		for _, f := range flows {
			if only != "" && only != "web2cli" {
				break
			}
			ctx := testCtx(t, 5*time.Minute)
			bctx := lab.browser(ctx, t.TempDir())
			q := "?stun=none"
			if f.chunk > 0 {
				q += fmt.Sprintf("&chunk=%d&high=%d&low=%d", f.chunk, f.high, f.low)
			}
			do(t, bctx, chromedp.Navigate(pageURL+q+os.Getenv("P2PCOPY_WEB_BENCH_Q")))
			// Files picked before the page wired up its controls would be lost (app.js sets data-ready).
			waitPage(t, bctx, "document.documentElement.dataset.ready", time.Minute)
			do(t, bctx, chromedp.SetUploadFiles(chromedp.CSS(`[data-testid=files-input]`), []string{file}))
			offer := waitToken(t, bctx, "offer-token")
			out := t.TempDir()
			recv := lab.command("receive", "-y", "--no-stun", "-o", out, offer)
			ansOut, _ := recv.StdoutPipe()
			lab.started(recv)
			answer, _ := bufio.NewReader(ansOut).ReadString('\n')
			prof := profileStart(t, bctx)
			do(t, bctx, chromedp.SetValue(chromedp.CSS(`[data-testid=token-input]`), strings.TrimSpace(answer)),
				chromedp.Click(chromedp.CSS(`[data-testid=token-go]`)))
			waitDone(t, bctx)
			prof()
			secs := eval[float64](t, bctx, `Number(document.querySelector('[data-testid=summary]').dataset.seconds)`)
			t.Logf("chromium → CLI, chunk %d, high %d, low %d: %s", f.chunk, f.high, f.low, rate(float64(mb<<20), secs))
			what := "chromium → CLI (page defaults)"
			if f.chunk > 0 {
				what = fmt.Sprintf("chromium → CLI (%d, %d, %d)", f.chunk, f.high, f.low)
			}
			note(what, mbps(float64(mb<<20), secs))
			_ = recv.Wait()
		}
		table = append(table, fmt.Sprintf("run %d: %s", run, strings.Join(row, "; ")))
	}
	t.Logf("%d MiB, ratios to CLI → CLI in the same run:\n%s", mb, strings.Join(table, "\n"))
}

// profileStart starts recording where the time goes when P2PCOPY_WEB_BENCH_PROFILE is set
// (browser_profile_test.go); the function it returns stops and logs it.
func profileStart(t *testing.T, bctx context.Context) func() {
	if os.Getenv("P2PCOPY_WEB_BENCH_PROFILE") == "" {
		return func() {}
	}
	startJSProfile(t, bctx)
	t0, stop := time.Now(), cpuSampler()
	return func() {
		before, after := stop()
		cpuReport(t, before, after, time.Since(t0))
		stopJSProfile(t, bctx)
	}
}

// udpDrops is the namespace's count of UDP datagrams dropped for a full socket receive buffer.
func (l *webLab) udpDrops() string {
	out, err := exec.Command(l.ip, "netns", "exec", l.ns, "cat", "/proc/net/snmp").Output()
	if err != nil {
		return "?"
	}
	var head []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "Udp:" {
			continue
		}
		if head == nil {
			head = f
			continue
		}
		for i, h := range head {
			if h == "RcvbufErrors" && i < len(f) {
				return f[i]
			}
		}
	}
	return "?"
}
