//go:build linux

package main

// The bundled page in headless Debian chromium, driven with chromedp, against the built binary.
// Everything runs inside a network namespace the test creates (a veth LAN 10.77.0.1/24 with
// multicast, plus loopback): chromium hides its host addresses behind mDNS .local names there as
// on a real LAN, and the CLI resolves them with pion's mDNS; no packet leaves the namespace.

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/p2pcopy/p2pcopy/web"
)

const labLANIP = "10.77.0.1"

// requireBrowserLab skips (or fails under CI=true) when the browser tests cannot run here.
func requireBrowserLab(t *testing.T) (chromium, ip string) {
	t.Helper()
	ci := os.Getenv("CI") == "true"
	fail := func(msg string) {
		t.Helper()
		if ci {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if testing.Short() && !ci {
		t.Skip("browser tests take a while; not in -short mode")
	}
	if os.Geteuid() != 0 {
		fail("browser tests need root: they run chromium and p2pcopy in a network namespace of their own")
	}
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			chromium = p
			break
		}
	}
	if chromium == "" {
		fail("browser tests need Debian's chromium: apt-get install chromium")
	}
	ip, err := exec.LookPath("ip")
	if err != nil {
		if _, err := os.Stat("/usr/sbin/ip"); err != nil {
			fail("browser tests need the ip tool: apt-get install iproute2")
		}
		ip = "/usr/sbin/ip"
	}
	return chromium, ip
}

type webLab struct {
	t        *testing.T
	ns       string
	ip       string
	chromium string
	bin      string // serves the page
	peerBin  string // the CLI peer: bin, unless a measurement names another build
}

var labCount atomic.Int32

func newWebLab(t *testing.T) *webLab {
	chromium, ip := requireBrowserLab(t)
	l := &webLab{t: t, ip: ip, chromium: chromium, bin: binary(t), ns: fmt.Sprintf("p2pweb-%d-%d", os.Getpid(), labCount.Add(1))}
	l.peerBin = l.bin
	if b := os.Getenv("P2PCOPY_WEB_BENCH_BIN"); b != "" { // measurements may compare builds of the CLI peer
		l.peerBin = b
	}
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(ip, args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("netns", "add", l.ns)
	t.Cleanup(func() { _ = exec.Command(ip, "netns", "del", l.ns).Run() })
	run("-n", l.ns, "link", "set", "lo", "up")
	run("-n", l.ns, "link", "add", "lan0", "type", "veth", "peer", "name", "lan1")
	run("-n", l.ns, "addr", "add", labLANIP+"/24", "dev", "lan0")
	run("-n", l.ns, "link", "set", "lan0", "up")
	run("-n", l.ns, "link", "set", "lan1", "up")
	run("-n", l.ns, "route", "add", "224.0.0.0/4", "dev", "lan0")
	// A default route, or chromium thinks it is offline and gathers no address. What it routes
	// ends on lan1, inside the namespace.
	run("-n", l.ns, "route", "add", "default", "dev", "lan0")
	return l
}

// command runs the built p2pcopy inside the namespace.
func (l *webLab) command(args ...string) *exec.Cmd {
	bin := l.peerBin
	if len(args) > 0 && args[0] == "web" {
		bin = l.bin
	}
	return exec.Command(l.ip, append([]string{"netns", "exec", l.ns, bin}, args...)...)
}

// started starts cmd and kills it when the test ends.
func (l *webLab) started(cmd *exec.Cmd) *exec.Cmd {
	l.t.Helper()
	if err := cmd.Start(); err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	return cmd
}

// servePage runs "p2pcopy web" in the namespace and returns the page's URL.
func (l *webLab) servePage(listen string) string {
	l.t.Helper()
	cmd := l.command("web", "--listen", listen)
	out, err := cmd.StdoutPipe()
	if err != nil {
		l.t.Fatal(err)
	}
	l.started(cmd)
	sc := bufio.NewScanner(out)
	if !sc.Scan() {
		l.t.Fatal("p2pcopy web printed no address")
	}
	return strings.TrimSpace(sc.Text())
}

// chromiumOptions starts Debian's chromium headless inside the lab's namespace, with the
// flags that keep it from reaching for the internet (DESIGN.md §6).
func (l *webLab) chromiumOptions() []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(l.chromium),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.ModifyCmdFunc(func(cmd *exec.Cmd) {
			cmd.Args = append([]string{"ip", "netns", "exec", l.ns, cmd.Path}, cmd.Args[1:]...)
			cmd.Path = l.ip
		}),
	}
}

// browser starts a fresh headless chromium in the namespace with downloads going to dir.
func (l *webLab) browser(ctx context.Context, dir string) context.Context {
	l.t.Helper()
	opts := l.chromiumOptions()
	// Chromium now and then exits at start-up on a loaded machine ("chrome failed to start",
	// seen once in a CI rehearsal); a fresh process is what a user would try too.
	var bctx context.Context
	for attempt := 1; ; attempt++ {
		actx, cancelA := chromedp.NewExecAllocator(ctx, append(opts, chromedp.UserDataDir(l.t.TempDir()))...)
		c, cancelB := chromedp.NewContext(actx)
		l.t.Cleanup(func() { cancelB(); cancelA() })
		_, err := chromedp.CallBrowser(c, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir, EventsEnabled: new(true),
		})
		if err == nil {
			bctx = c
			break
		}
		cancelB()
		cancelA()
		if attempt == 3 || ctx.Err() != nil {
			l.t.Fatalf("starting chromium (attempt %d): %v", attempt, err)
		}
		l.t.Logf("starting chromium failed (attempt %d), trying again: %v", attempt, err)
		time.Sleep(time.Second)
	}
	return bctx
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	if ff := firefoxFrom(ctx); ff != nil { // firefox_test.go: the same checks in Firefox
		return ffEval[T](t, ctx, ff, js)
	}
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return v
}

const (
	jsStatus   = `document.querySelector('[data-testid=status]').textContent`
	jsProgress = `(() => { const p = document.querySelector('[data-testid=progress]'); return p.value / p.max; })()`
)

// waitToken waits until the page shows its token in the element with that test id.
func waitToken(t *testing.T, ctx context.Context, testid string) string {
	t.Helper()
	return waitPage(t, ctx, fmt.Sprintf(`(() => { const e = document.querySelector('[data-testid=%s]'); return e && !e.hidden ? e.value : ''; })()`, testid), 2*time.Minute)
}

// openPage navigates a Chromium tab to url and waits until the page has wired up its controls
// (app.js sets data-ready). A page that did not start within 30 s is reloaded once, as a person
// would: under a CI run's load one tab once stayed at its first "ready" for a minute with no
// sign of app.js (seen in a rehearsal; never reproduced).
func openPage(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	do(t, ctx, chromedp.Navigate(url))
	const ready = `document.documentElement.dataset.ready === 'yes' ? 'y' : ''`
	for attempt := 1; ; attempt++ {
		end := time.Now().Add(30 * time.Second)
		for time.Now().Before(end) {
			if eval[string](t, ctx, "(() => { try { return "+ready+"; } catch { return ''; } })()") != "" {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		if attempt == 2 {
			t.Fatalf("the page at %s did not start (status %q)", url, eval[string](t, ctx, jsStatus))
		}
		t.Logf("the page at %s did not start in 30 s; reloading it", url)
		do(t, ctx, chromedp.Reload())
	}
}

// waitAccept waits until the page shows its Accept button.
func waitAccept(t *testing.T, ctx context.Context) {
	t.Helper()
	waitPage(t, ctx, `(() => { const b = document.querySelector('[data-testid=accept]'); return b && b.offsetParent ? 'shown' : ''; })()`, time.Minute)
}

// waitPage polls js until it gives a non-empty string; an error status fails the test at once.
func waitPage(t *testing.T, ctx context.Context, js string, limit time.Duration) string {
	t.Helper()
	end := time.Now().Add(limit)
	for time.Now().Before(end) {
		if v := eval[string](t, ctx, "(() => { try { return "+js+"; } catch { return ''; } })()"); v != "" {
			return v
		}
		if st := eval[string](t, ctx, "(() => { try { return "+jsStatus+"; } catch { return ''; } })()"); strings.HasPrefix(st, "error:") {
			t.Fatalf("page: %s", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("page: waited %s for %s; status %q", limit, js, eval[string](t, ctx, jsStatus))
	return ""
}

// waitDone waits for the page's status to end in "done", with a watchdog on progress rather than
// a fixed deadline: it fails when neither the status nor the progress changed for a minute.
func waitDone(t *testing.T, ctx context.Context) {
	t.Helper()
	last, changed := "", time.Now()
	for {
		st := eval[string](t, ctx, jsStatus)
		if st == "done" {
			return
		}
		if strings.HasPrefix(st, "error:") {
			t.Fatalf("page: %s", st)
		}
		now := fmt.Sprintf("%s|%v", st, eval[float64](t, ctx, jsProgress))
		if now != last {
			last, changed = now, time.Now()
		}
		if time.Since(changed) > time.Minute {
			t.Fatalf("page made no progress for a minute: %s", now)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitDownload waits until chromium finished writing name into dir, then checks its bytes.
func waitDownload(t *testing.T, dir, name string, want []byte) {
	t.Helper()
	p := filepath.Join(dir, name)
	last, changed := int64(-1), time.Now()
	for {
		fi, err := os.Stat(p)
		if err == nil && fi.Size() == int64(len(want)) {
			if _, err := os.Stat(p + ".crdownload"); os.IsNotExist(err) {
				break
			}
		}
		var size int64
		if err == nil {
			size = fi.Size()
		}
		if size != last {
			last, changed = size, time.Now()
		}
		if time.Since(changed) > time.Minute {
			entries, _ := os.ReadDir(dir)
			t.Fatalf("download of %s stalled at %d of %d bytes; %s holds %v", name, size, len(want), dir, entries)
		}
		time.Sleep(100 * time.Millisecond)
	}
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(got) != sha256.Sum256(want) {
		t.Fatalf("downloaded %s differs from what was sent", name)
	}
}

func randomFile(t *testing.T, dir, name string, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	_, _ = rand.Read(b)
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

// answerAndFinish hands the page's answer to the sending CLI, waits for the page to finish and
// checks what both sides show: a full progress bar, a finished page, the CLI's clean exit and
// the same verification code on both.
func answerAndFinish(t *testing.T, ctx context.Context, stdin io.Writer, answer string, sender *exec.Cmd, log *syncBuffer) {
	t.Helper()
	if _, err := io.WriteString(stdin, answer+"\n"); err != nil {
		t.Fatal(err)
	}
	waitDone(t, ctx)
	if p := eval[float64](t, ctx, jsProgress); p != 1 {
		t.Errorf("progress ended at %v, want 1", p)
	}
	finishedPage(t, ctx)
	waitExit(t, sender, log)
	code := eval[string](t, ctx, `document.querySelector('[data-testid=verify-code]').textContent`)
	if !strings.Contains(log.String(), code) {
		t.Errorf("verification code %q on the page is not in the CLI's output:\n%s", code, log.String())
	}
}

// cliLines collects a process's stderr and hands out lines that match.
type cliLines struct {
	log   syncBuffer
	lines chan string
}

func watchLines(r io.Reader) *cliLines {
	c := &cliLines{lines: make(chan string, 100)}
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			_, _ = c.log.Write([]byte(sc.Text() + "\n"))
			select {
			case c.lines <- sc.Text():
			default:
			}
		}
		close(c.lines)
	}()
	return c
}

func (c *cliLines) wait(t *testing.T, match func(string) bool) string {
	t.Helper()
	timeout := time.After(2 * time.Minute)
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				t.Fatalf("p2pcopy ended without the expected line:\n%s", c.log.String())
			}
			if match(l) {
				return l
			}
		case <-timeout:
			t.Fatalf("p2pcopy printed no expected line in 2 minutes:\n%s", c.log.String())
		}
	}
}

func waitExit(t *testing.T, cmd *exec.Cmd, log *syncBuffer) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("p2pcopy: %v\n%s", err, log.String())
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("p2pcopy did not exit:\n%s", log.String())
	}
}

// TestBrowserReceivesFromCLI: p2pcopy send FILE; the page opened at <page>#<token> shows the
// offer, Accept gives the answer that is pasted into the CLI, and 100 MB of random bytes arrive
// identical on disk through each save path headless chromium can exercise.
func TestBrowserReceivesFromCLI(t *testing.T) {
	lab := newWebLab(t)
	pageURL := lab.servePage("127.0.0.1:0")
	src := t.TempDir()
	data := randomFile(t, src, "random.bin", 100<<20)
	for _, mode := range []string{"opfs", "sw", "blob", "picker"} {
		t.Run(mode, func(t *testing.T) {
			ctx := testCtx(t, 6*time.Minute)
			dl := t.TempDir()
			bctx := lab.browser(ctx, dl)
			if mode == "picker" {
				// showSaveFilePicker aborts headless: stand in for the dialog with a handle in the
				// origin's private file system, so the page's own picker code path writes the file.
				if _, err := chromedp.Call(bctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `
					window.showSaveFilePicker = async (o) => {
						window.__picked = o.suggestedName;
						return (await navigator.storage.getDirectory()).getFileHandle('picked-' + o.suggestedName, { create: true });
					};`}); err != nil {
					t.Fatal(err)
				}
			}
			sender := lab.command("send", "--no-stun", "--json", filepath.Join(src, "random.bin"))
			stdin, _ := sender.StdinPipe()
			tokOut, _ := sender.StdoutPipe()
			stderr, _ := sender.StderrPipe()
			lab.started(sender)
			log := watchLines(stderr)
			tok, err := bufio.NewReader(tokOut).ReadString('\n')
			if err != nil {
				t.Fatalf("no token: %v\n%s", err, log.log.String())
			}
			openPage(t, bctx, pageURL+"?stun=none&save="+mode+"#"+strings.TrimSpace(tok))
			waitAccept(t, bctx)
			if what := eval[string](t, bctx, `document.getElementById('offered-what').textContent`); what != "random.bin (104.9 MB)" {
				t.Errorf("page shows the offer as %q", what)
			}
			do(t, bctx, chromedp.Click(chromedp.CSS(`[data-testid=accept]`)))
			answer := waitToken(t, bctx, "answer-token")
			t.Logf("offer %s answer %s", strings.TrimSpace(tok), answer)
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("p2pcopy send:\n%s", log.log.String())
				}
			})
			answerAndFinish(t, bctx, stdin, answer, sender, &log.log)
			if mode == "opfs" { // the finished page looks the same whichever way it saved
				screens(t, bctx, "received")
			}
			if mode == "picker" {
				got := eval[string](t, bctx, `(async () => {
					const f = await (await (await navigator.storage.getDirectory()).getFileHandle('picked-random.bin')).getFile();
					const d = new Uint8Array(await crypto.subtle.digest('SHA-256', await f.arrayBuffer()));
					return f.size + ':' + Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
				})()`)
				sum := sha256.Sum256(data)
				if want := fmt.Sprintf("%d:%x", len(data), sum); got != want {
					t.Fatalf("picked file: %s, want %s", got, want)
				}
				return
			}
			waitDownload(t, dl, "random.bin", data)
			if how := eval[string](t, bctx, `document.querySelector('[data-testid=saved] li').dataset.how`); how != mode {
				t.Errorf("saved by %q, want %q", how, mode)
			}
		})
	}
}

// TestBrowserSendsToCLI: files picked on the page (three, one empty) arrive in p2pcopy receive
// verified and identical on disk; the CLI answered the page's offer, and the page honoured the
// CLI's request to resume a partial file.
func TestBrowserSendsToCLI(t *testing.T) {
	lab := newWebLab(t)
	pageURL := lab.servePage("127.0.0.1:0")
	ctx := testCtx(t, 6*time.Minute)
	bctx := lab.browser(ctx, t.TempDir())
	src, out := t.TempDir(), t.TempDir()
	files := map[string][]byte{
		"a.bin":     randomFile(t, src, "a.bin", 20<<20+5),
		"empty.txt": randomFile(t, src, "empty.txt", 0),
		"c.txt":     randomFile(t, src, "c.txt", 1000),
	}
	// An earlier run left the first 8 MiB of a.bin: the page hashes its own prefix and sends only
	// the rest (§2.3).
	if err := os.WriteFile(filepath.Join(out, "a.bin.p2pcopy-part"), files["a.bin"][:8<<20], 0o644); err != nil {
		t.Fatal(err)
	}
	openPage(t, bctx, pageURL+"?stun=none")
	do(t, bctx, chromedp.SetUploadFiles(chromedp.CSS(`[data-testid=files-input]`), []string{
		filepath.Join(src, "a.bin"), filepath.Join(src, "empty.txt"), filepath.Join(src, "c.txt"),
	}))
	offer := waitToken(t, bctx, "offer-token")
	if link := eval[string](t, bctx, `document.querySelector('[data-testid=link]').textContent`); link != pageURL+"?stun=none#"+offer {
		t.Errorf("page link %q, want the page URL with the offer in its fragment", link)
	}
	if n := eval[int](t, bctx, `document.querySelectorAll('[data-testid=qr] svg path').length`); n != 1 {
		t.Errorf("no QR code of the link on the page")
	}
	recv := lab.command("receive", "-y", "--no-stun", "-o", out, offer)
	ansOut, _ := recv.StdoutPipe()
	stderr, _ := recv.StderrPipe()
	lab.started(recv)
	log := watchLines(stderr)
	answer, err := bufio.NewReader(ansOut).ReadString('\n')
	if err != nil {
		t.Fatalf("no answer: %v\n%s", err, log.log.String())
	}
	// Pasting the page's own offer back is refused as such, and the page waits for another paste.
	do(t, bctx,
		chromedp.SetValue(chromedp.CSS(`[data-testid=token-input]`), offer),
		chromedp.Click(chromedp.CSS(`[data-testid=token-go]`)))
	if st := waitStatusError(t, bctx); !strings.HasPrefix(st, "error: bad token: this is your own token") {
		t.Errorf("own token pasted back: %q", st)
	}
	do(t, bctx,
		chromedp.SetValue(chromedp.CSS(`[data-testid=token-input]`), strings.TrimSpace(answer)),
		chromedp.Click(chromedp.CSS(`[data-testid=token-go]`)))
	waitDone(t, bctx)
	waitExit(t, recv, &log.log)
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(out, name))
		if err != nil || sha256.Sum256(got) != sha256.Sum256(want) {
			t.Errorf("%s: %d bytes (%v), want %d identical bytes", name, len(got), err, len(want))
		}
	}
	if !strings.Contains(log.log.String(), "resuming a.bin at 8.4 MB") {
		t.Errorf("the CLI did not resume a.bin:\n%s", log.log.String())
	}
	if !strings.Contains(log.log.String(), "verified") {
		t.Errorf("the CLI did not report verification:\n%s", log.log.String())
	}
	screens(t, bctx, "sent")
}

// pagePost posts body to the page's /answer from inside the page and returns the HTTP status.
func pagePost(t *testing.T, ctx context.Context, body string) int {
	t.Helper()
	b, _ := json.Marshal(body)
	return eval[int](t, ctx, fmt.Sprintf(`fetch('/answer', { method: 'POST', body: %s }).then((r) => r.status)`, b))
}

// TestScanAndGo: p2pcopy send --qr serves the page on the (namespace's) LAN address and prints
// the link; the page opened from it hands its answer back by itself and the file arrives. An
// answer without the secret is refused, and so is a second one.
func TestScanAndGo(t *testing.T) {
	lab := newWebLab(t)
	ctx := testCtx(t, 6*time.Minute)
	dl := t.TempDir()
	bctx := lab.browser(ctx, dl)
	src := t.TempDir()
	data := randomFile(t, src, "photo.jpg", 10<<20)
	sender := lab.command("send", "--no-stun", "--qr", "--json", "--web-listen", labLANIP+":0", filepath.Join(src, "photo.jpg"))
	stdin, _ := sender.StdinPipe() // open, never written: the answer must come back through the page
	defer stdin.Close()
	stderr, _ := sender.StderrPipe()
	lab.started(sender)
	log := watchLines(stderr)
	var ev struct{ URL string }
	line := log.wait(t, func(l string) bool { return strings.Contains(l, `"event":"link"`) })
	if err := json.Unmarshal([]byte(line), &ev); err != nil {
		t.Fatal(err)
	}
	origin, frag, _ := strings.Cut(ev.URL, "#")
	if !strings.HasPrefix(origin, "http://"+labLANIP+":") || !strings.Contains(frag, "&k=") {
		t.Fatalf("link %q: want http://%s:PORT/...#TOKEN&k=SECRET", ev.URL, labLANIP)
	}
	secret := frag[strings.Index(frag, "&k=")+3:]
	if len(secret) != 22 {
		t.Errorf("secret %q: want 22 base64url characters (128 bits)", secret)
	}

	// A forged answer (no knowledge of the secret) is refused before the real page gets there.
	base := origin[:strings.Index(origin[len("http://"):], "/")+len("http://")+1]
	do(t, bctx, chromedp.Navigate(base))
	forged := `{"answer":"p2pc1.AAAA","mac":"` + web.AnswerMAC("guess", "p2pc1.AAAA") + `"}`
	if st := pagePost(t, bctx, forged); st != 403 {
		t.Errorf("forged answer: HTTP %d, want 403", st)
	}
	if st := pagePost(t, bctx, `not json`); st != 403 {
		t.Errorf("garbage: HTTP %d, want 403", st)
	}

	openPage(t, bctx, ev.URL)
	waitAccept(t, bctx)
	if u := eval[string](t, bctx, `location.href`); strings.Contains(u, "k=") {
		t.Errorf("the secret stayed in the address bar: %s", u)
	}
	do(t, bctx, chromedp.Click(chromedp.CSS(`[data-testid=accept]`)))
	answer := waitToken(t, bctx, "answer-token")
	waitDone(t, bctx)
	waitExit(t, sender, &log.log)
	waitDownload(t, dl, "photo.jpg", data)
	if strings.Contains(log.log.String(), answer) {
		t.Errorf("the CLI printed the answer it was handed")
	}
	// The server is gone with the CLI; a replay against a fresh run is covered by TestAnswerBox.
}

// TestBrowserBadToken: a bad token pasted into the page shows the same cause as the CLI prints
// for it.
func TestBrowserBadToken(t *testing.T) {
	lab := newWebLab(t)
	pageURL := lab.servePage("127.0.0.1:0")
	ctx := testCtx(t, 4*time.Minute)
	bctx := lab.browser(ctx, t.TempDir())
	vf := readTokenVectors(t)
	cases := map[string]string{}
	for _, v := range vf.Invalid {
		switch v.Name {
		case "truncated-in-fingerprint", "checksum-changed", "bad-char-bang", "version-2", "two-different-tokens", "plain-text":
			cases[v.Name] = v.Input
		}
	}
	for _, v := range vf.Valid {
		if v.Name == "answer-receiver-active-ipv6-mdns-relay" {
			cases["answer-where-offer-expected"] = v.Token
		}
	}
	if len(cases) != 7 {
		t.Fatalf("found %d of 7 token vectors", len(cases))
	}
	n := 0
	for name, tok := range cases {
		var stderr strings.Builder
		cmd := lab.command("receive", "-y", "--no-stun", tok)
		cmd.Stderr = &stderr
		if err := cmd.Run(); exitCodeOf(err) != 2 {
			t.Fatalf("%s: p2pcopy receive exit %d, want 2: %s", name, exitCodeOf(err), stderr.String())
		}
		cliCause := strings.TrimPrefix(strings.TrimSpace(stderr.String()), "p2pcopy: ")
		n++
		// A click before the page wired up its controls would be lost (app.js sets data-ready).
		openPage(t, bctx, fmt.Sprintf("%s?stun=none&n=%d", pageURL, n))
		do(t, bctx, chromedp.SetValue(chromedp.CSS(`[data-testid=token-input]`), tok),
			chromedp.Click(chromedp.CSS(`[data-testid=token-go]`)))
		st := waitStatusError(t, bctx)
		if st != "error: "+cliCause {
			t.Errorf("%s: page says %q, the CLI %q", name, st, cliCause)
		}
	}
}

func waitStatusError(t *testing.T, ctx context.Context) string {
	t.Helper()
	end := time.Now().Add(time.Minute)
	for time.Now().Before(end) {
		if st := eval[string](t, ctx, jsStatus); strings.HasPrefix(st, "error:") {
			return st
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no error status; status %q", eval[string](t, ctx, jsStatus))
	return ""
}

type tokenVectorFile struct {
	Valid []struct {
		Name, Token string
	}
	Invalid []struct {
		Name, Input string
	}
}

func readTokenVectors(t *testing.T) tokenVectorFile {
	t.Helper()
	b, err := os.ReadFile("../../signal/testdata/tokens.json")
	if err != nil {
		t.Fatal(err)
	}
	var vf tokenVectorFile
	if err := json.Unmarshal(b, &vf); err != nil {
		t.Fatal(err)
	}
	return vf
}

// TestPageLoadsNothingFromElsewhere: the browser's network log of a page load (and of making an
// offer) holds requests to the serving host only.
func TestPageLoadsNothingFromElsewhere(t *testing.T) {
	lab := newWebLab(t)
	pageURL := lab.servePage("127.0.0.1:0")
	ctx := testCtx(t, 3*time.Minute)
	bctx := lab.browser(ctx, t.TempDir())
	if _, err := chromedp.Call(bctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	lctx, stop := context.WithCancel(bctx)
	urls := make(chan []string, 1)
	events := chromedp.Events(lctx, network.RequestWillBeSent)
	go func() {
		var seen []string
		for ev, err := range events {
			if err != nil {
				break
			}
			seen = append(seen, ev.Request.URL)
		}
		urls <- seen
	}()
	do(t, bctx, chromedp.Navigate(pageURL))
	waitPage(t, bctx, `document.readyState === 'complete' && document.querySelector('[data-testid=status]').textContent === 'ready' ? 'y' : ''`, time.Minute)
	time.Sleep(time.Second)
	stop()
	seen := <-urls
	if len(seen) < 5 {
		t.Fatalf("only %d requests seen: %v", len(seen), seen)
	}
	for _, u := range seen {
		if !strings.HasPrefix(u, pageURL) && !strings.HasPrefix(u, "data:") {
			t.Errorf("request to elsewhere: %s", u)
		}
	}
}

// TestBrowserToBrowser: two tabs of the same page copy a file both ways round: the sender
// offering first, and the receiver offering first.
func TestBrowserToBrowser(t *testing.T) {
	lab := newWebLab(t)
	pageURL := lab.servePage("127.0.0.1:0") + "?stun=none&save=blob"
	ctx := testCtx(t, 6*time.Minute)
	dl := t.TempDir()
	bctx := lab.browser(ctx, dl)
	src := t.TempDir()
	data := randomFile(t, src, "b2b.bin", 8<<20+1)
	tab := func() context.Context {
		c, cancel := chromedp.NewContext(bctx)
		t.Cleanup(cancel)
		return c
	}
	t.Run("sender-first", func(t *testing.T) {
		a, b := tab(), tab()
		openPage(t, a, pageURL)
		do(t, a, chromedp.SetUploadFiles(chromedp.CSS(`[data-testid=files-input]`), []string{filepath.Join(src, "b2b.bin")}))
		offer := waitToken(t, a, "offer-token")
		openPage(t, b, pageURL+"#"+offer)
		waitAccept(t, b)
		do(t, b, chromedp.Click(chromedp.CSS(`[data-testid=accept]`)))
		answer := waitToken(t, b, "answer-token")
		do(t, a, chromedp.SetValue(chromedp.CSS(`[data-testid=token-input]`), answer),
			chromedp.Click(chromedp.CSS(`[data-testid=token-go]`)))
		waitDone(t, b)
		waitDone(t, a)
		waitDownload(t, dl, "b2b.bin", data)
	})
	t.Run("receiver-first", func(t *testing.T) {
		_ = os.Remove(filepath.Join(dl, "b2b.bin"))
		a, b := tab(), tab()
		openPage(t, b, pageURL)
		do(t, b, chromedp.Click(chromedp.CSS(`[data-testid=receive-first]`)))
		offer := waitToken(t, b, "offer-token")
		openPage(t, a, pageURL+"#"+offer)
		waitAccept(t, a)
		do(t, a, chromedp.SetUploadFiles(chromedp.CSS(`[data-testid=files-input]`), []string{filepath.Join(src, "b2b.bin")}))
		waitPage(t, a, `document.querySelector('[data-testid=accept]').disabled ? '' : 'y'`, time.Minute)
		do(t, a, chromedp.Click(chromedp.CSS(`[data-testid=accept]`)))
		answer := waitToken(t, a, "answer-token")
		do(t, b, chromedp.SetValue(chromedp.CSS(`[data-testid=token-input]`), answer),
			chromedp.Click(chromedp.CSS(`[data-testid=token-go]`)))
		waitDone(t, a)
		waitDone(t, b)
		waitDownload(t, dl, "b2b.bin", data)
	})
}

// TestScanAndGoHostedPage: with --web-url the link opens a copy of the page hosted elsewhere
// (here: p2pcopy web on loopback) and carries the CLI's origin in r=; the page hands its answer
// back across origins and the file arrives.
func TestScanAndGoHostedPage(t *testing.T) {
	lab := newWebLab(t)
	hosted := lab.servePage("127.0.0.1:0")
	ctx := testCtx(t, 6*time.Minute)
	dl := t.TempDir()
	bctx := lab.browser(ctx, dl)
	src := t.TempDir()
	data := randomFile(t, src, "notes.pdf", 3<<20+7)
	sender := lab.command("send", "--no-stun", "--qr", "--json", "--web-listen", labLANIP+":0", "--web-url", hosted, filepath.Join(src, "notes.pdf"))
	stdin, _ := sender.StdinPipe()
	defer stdin.Close()
	stderr, _ := sender.StderrPipe()
	lab.started(sender)
	log := watchLines(stderr)
	var ev struct{ URL string }
	if err := json.Unmarshal([]byte(log.wait(t, func(l string) bool { return strings.Contains(l, `"event":"link"`) })), &ev); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ev.URL, hosted+"?stun=none#p2pc1.") || !strings.Contains(ev.URL, "&r=http%3A%2F%2F"+labLANIP+"%3A") {
		t.Fatalf("link %q: want the hosted page with r= naming the CLI's origin", ev.URL)
	}
	openPage(t, bctx, ev.URL)
	waitAccept(t, bctx)
	do(t, bctx, chromedp.Click(chromedp.CSS(`[data-testid=accept]`)))
	waitPage(t, bctx, `document.getElementById('mine-hint').textContent.includes('back') ? document.getElementById('mine-hint').textContent : ''`, time.Minute)
	if hint := eval[string](t, bctx, `document.getElementById('mine-hint').textContent`); !strings.Contains(hint, "went back to your peer") {
		t.Fatalf("page: %s", hint)
	}
	waitDone(t, bctx)
	waitExit(t, sender, &log.log)
	waitDownload(t, dl, "notes.pdf", data)
}

// internalWords are names a person receiving a file should never have to read: storage APIs,
// DOM exception names, WebRTC plumbing.
var internalWords = regexp.MustCompile(`(?i)\b(opfs|blob|picker|AbortError|NotAllowedError|SecurityError|DOMException|SDP|ICE|DTLS|SCTP)\b`)

// finishedPage checks what a finished receive leaves on screen: the finished steps (the offer
// with its Accept button, the answer to hand back) are gone, and no internal word is visible.
func finishedPage(t *testing.T, bctx context.Context) {
	t.Helper()
	visible := eval[string](t, bctx, `document.body.innerText`)
	if w := internalWords.FindString(visible); w != "" {
		t.Errorf("the finished page shows %q:\n%s", w, visible)
	}
	for _, id := range []string{"accept", "answer-token"} {
		if shown := eval[bool](t, bctx, `(() => { const e = document.querySelector('[data-testid=`+id+`]'); return !!e && e.offsetParent !== null; })()`); shown {
			t.Errorf("the finished page still shows %s", id)
		}
	}
}
