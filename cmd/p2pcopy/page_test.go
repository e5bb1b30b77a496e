//go:build linux

package main

// What a person receiving on the page sees and gets: a copy into the page that broke off
// continues on the next run, and the phone-sized page shows the offer, the progress and the
// saved file with its actions, in plain words. Uses the lab of browser_test.go.

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

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// profileBrowser starts headless chromium in the lab's namespace on the given profile folder
// (so this site's storage in the browser outlives the process), downloads going to dl. stop
// ends the browser and waits for it, so that a next one may use the same profile.
func (l *webLab) profileBrowser(ctx context.Context, profile, dl string) (bctx context.Context, stop func()) {
	l.t.Helper()
	opts := append(l.chromiumOptions(), chromedp.UserDataDir(profile))
	for attempt := 1; ; attempt++ {
		actx, cancelA := chromedp.NewExecAllocator(ctx, opts...)
		c, cancelB := chromedp.NewContext(actx)
		stop = func() { cancelB(); cancelA() }
		l.t.Cleanup(stop)
		_, err := chromedp.CallBrowser(c, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dl, EventsEnabled: new(true),
		})
		if err == nil {
			return c, stop
		}
		stop()
		if attempt == 3 || ctx.Err() != nil {
			l.t.Fatalf("starting chromium (attempt %d): %v", attempt, err)
		}
		time.Sleep(time.Second)
	}
}

// cliSend starts "p2pcopy send --no-stun --json ARGS..." in the lab and returns it with its
// token, its stdin (for the answer) and its stderr lines.
func (l *webLab) cliSend(args ...string) (cmd *exec.Cmd, token string, stdin io.WriteCloser, log *cliLines) {
	l.t.Helper()
	cmd = l.command(append([]string{"send", "--no-stun", "--json"}, args...)...)
	stdin, _ = cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	l.started(cmd)
	log = watchLines(stderr)
	tok, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		l.t.Fatalf("no token: %v\n%s", err, log.log.String())
	}
	return cmd, strings.TrimSpace(tok), stdin, log
}

// acceptOffer opens the page on the sender's token, presses Accept and hands the answer to the
// sender.
func acceptOffer(t *testing.T, bctx context.Context, url string, stdin io.Writer) {
	t.Helper()
	openPage(t, bctx, url)
	waitAccept(t, bctx)
	do(t, bctx, chromedp.Click(chromedp.CSS(`[data-testid=accept]`)))
	answer := waitToken(t, bctx, "answer-token")
	if _, err := io.WriteString(stdin, answer+"\n"); err != nil {
		t.Fatal(err)
	}
}

// TestPageResumesReceive: a 64 MiB copy from the CLI into the page breaks off (the sender is
// killed) past 30 %; the page says in plain words that opening the link again continues it. The
// same send run again, opened in the same browser profile, resumes: the sender reports a resume
// offset above zero and sends fewer bytes than the file has; the downloaded file is identical,
// and the page keeps no partial copy afterwards.
func TestPageResumesReceive(t *testing.T) {
	lab := newWebLab(t)
	pageURL := lab.servePage("127.0.0.1:0")
	ctx := testCtx(t, 8*time.Minute)
	src, dl, profile := t.TempDir(), t.TempDir(), t.TempDir()
	const size = 64 << 20 // at ~35 MB/s into Chromium, over a second between 30 % and the end for the kill
	data := randomFile(t, src, "random.bin", size)
	file := filepath.Join(src, "random.bin")

	// First run: broken off past 30 %.
	bctx, stop := lab.profileBrowser(ctx, profile, dl)
	sender, tok, stdin, log1 := lab.cliSend(file)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("first p2pcopy send:\n%s", log1.log.String())
		}
	})
	acceptOffer(t, bctx, pageURL+"?stun=none&save=opfs#"+tok, stdin)
	waitPage(t, bctx, `(`+jsProgress+` >= 0.3) ? 'y' : ''`, 2*time.Minute)
	_ = sender.Process.Kill()
	_, _ = sender.Process.Wait()
	at := eval[float64](t, bctx, jsProgress)
	if at >= 1 {
		t.Fatalf("the copy finished (%v) before the sender was killed: nothing to resume", at)
	}
	st := waitStatusError(t, bctx)
	if !strings.Contains(st, "open the same link again") {
		t.Errorf("the broken-off page says %q, want it to say that opening the link again continues", st)
	}
	if w := internalWords.FindString(st); w != "" {
		t.Errorf("the broken-off page says %q", st)
	}
	t.Logf("first run broke off at %.0f %%: %s", at*100, st)
	stop() // the phone's browser is gone too; what it stored stays in the profile

	// Second run: the same send, the same browser profile.
	bctx, _ = lab.profileBrowser(ctx, profile, dl)
	sender, tok, stdin, log := lab.cliSend(file)
	acceptOffer(t, bctx, pageURL+"?stun=none&save=opfs#"+tok, stdin)
	waitDone(t, bctx)
	waitExit(t, sender, &log.log)
	waitDownload(t, dl, "random.bin", data)

	var resumed struct {
		Event  string
		Offset int64
	}
	var sent struct {
		Event   string
		Sent    int64
		Resumed int64
	}
	for _, l := range strings.Split(log.log.String(), "\n") {
		switch {
		case strings.Contains(l, `"event":"resume"`):
			_ = json.Unmarshal([]byte(l), &resumed)
		case strings.Contains(l, `"resumed"`):
			_ = json.Unmarshal([]byte(l), &sent)
		}
	}
	t.Logf("second run: the sender resumed at %d and sent %d of %d bytes", resumed.Offset, sent.Sent, size)
	if resumed.Offset <= 0 || resumed.Offset >= size {
		t.Errorf("the sender resumed at %d, want a partial offset (0 < offset < %d):\n%s", resumed.Offset, size, log.log.String())
	}
	if sent.Resumed != resumed.Offset || sent.Sent+sent.Resumed != size {
		t.Errorf("the sender sent %d and skipped %d bytes of %d, want the resumed prefix skipped", sent.Sent, sent.Resumed, size)
	}
	if got := eval[string](t, bctx, `document.querySelector('[data-testid=summary]').dataset.resumed || ''`); got != fmt.Sprint(resumed.Offset) {
		t.Errorf("the page resumed at %q, the sender at %d", got, resumed.Offset)
	}
	finishedPage(t, bctx)
	if left := eval[int](t, bctx, `(async () => {
		const root = await navigator.storage.getDirectory();
		let n = 0;
		for await (const [name, h] of root.entries()) {
			if (name !== 'p2pcopy-part') continue;
			for await (const x of h.values()) n++;
		}
		return n;
	})()`); left != 0 {
		t.Errorf("%d partial copies left in the browser after a verified copy", left)
	}
}

// pageShot saves a screenshot of the page as a test artifact: into $P2PCOPY_TEST_ARTIFACTS
// when set (CI uploads it), else into the test's temporary folder.
func pageShot(t *testing.T, bctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("P2PCOPY_TEST_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
}

// jsVisibleSections lists the ids of the sections a person sees.
const jsVisibleSections = `Array.from(document.querySelectorAll('main > section, main > header, main > footer, #lede')).filter((e) => e.offsetParent !== null && e.getBoundingClientRect().height > 0).map((e) => e.id || e.tagName.toLowerCase()).join(' ')`

// jsTooWide gives what is wider than the screen: the page, or any element reaching past its
// right edge.
const jsTooWide = `(() => {
	const w = window.innerWidth, out = [];
	if (document.documentElement.scrollWidth > w) out.push('page ' + document.documentElement.scrollWidth + ' > ' + w);
	for (const e of document.querySelectorAll('body *')) {
		const r = e.getBoundingClientRect();
		if (e.offsetParent !== null && r.width > 0 && r.right > w + 0.5) out.push((e.id || e.tagName.toLowerCase()) + ' to ' + Math.round(r.right));
	}
	return out.join(', ');
})()`

// TestPagePhoneFirst: a phone (360×740, dark mode) opens the link a sender's QR code holds.
// Before Accept it shows only the offer, with the file's name and size and how the page will
// keep it; Accept has the focus. After the copy: the saved file with a Download action, nothing
// wider than the screen, the colours of dark mode, no internal words, focus on the result, and a
// spoken progress that did not chatter.
func TestPagePhoneFirst(t *testing.T) {
	lab := newWebLab(t)
	ctx := testCtx(t, 6*time.Minute)
	dl := t.TempDir()
	bctx := lab.browser(ctx, dl)
	if _, err := chromedp.Call(bctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{Width: 360, Height: 740, DeviceScaleFactor: 2, Mobile: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(bctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}}); err != nil {
		t.Fatal(err)
	}
	// A phone's Screen Wake Lock and share sheet, which headless chromium on Linux lacks, stand
	// in as recorders: the page must hold the lock while copying and offer the file to share.
	if _, err := chromedp.Call(bctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `
		window.__wake = [];
		Object.defineProperty(navigator, 'wakeLock', { value: { request: async (type) => {
			window.__wake.push('request ' + type);
			const l = new EventTarget();
			l.release = async () => { window.__wake.push('release ' + document.querySelector('[data-testid=status]')?.textContent); };
			return l;
		} } });
		navigator.canShare = (d) => !!d && Array.isArray(d.files) && d.files.length > 0;
		navigator.share = async (d) => { window.__shared = d.files.map((f) => f.name + ' ' + f.size + ' ' + f.type); };`}); err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	data := randomFile(t, src, "holiday photo.jpg", 30<<20)
	sender := lab.command("send", "--no-stun", "--qr", "--json", "--web-listen", labLANIP+":0", filepath.Join(src, "holiday photo.jpg"))
	stdin, _ := sender.StdinPipe() // never written: the answer goes back through the page
	defer stdin.Close()
	stderr, _ := sender.StderrPipe()
	lab.started(sender)
	log := watchLines(stderr)
	var ev struct{ URL string }
	if err := json.Unmarshal([]byte(log.wait(t, func(l string) bool { return strings.Contains(l, `"event":"link"`) })), &ev); err != nil {
		t.Fatal(err)
	}
	openPage(t, bctx, ev.URL)
	waitAccept(t, bctx)
	waitPage(t, bctx, `document.getElementById('save-note').textContent`, time.Minute)

	// A page served by the CLI on the LAN (http) cannot keep files in the browser: it says so,
	// and the limit of holding them in memory, before Accept.
	if note := eval[string](t, bctx, `document.getElementById('save-note').textContent`); !strings.Contains(note, "held in memory") || !strings.Contains(note, "2.0 GB") {
		t.Errorf("before Accept the page says %q, want the in-memory way and its limit", note)
	}
	if got := eval[string](t, bctx, jsVisibleSections); got != "header offered progress-box" {
		t.Errorf("before Accept the phone shows %q, want only the offer (header offered progress-box)", got)
	}
	if got := eval[string](t, bctx, `document.getElementById('offered').innerText.replace(/\s+/g, ' ').trim()`); !strings.HasPrefix(got, "Your peer offers holiday photo.jpg (31.5 MB)") {
		t.Errorf("the offer reads %q", got)
	}
	if got := eval[string](t, bctx, `document.activeElement?.dataset.testid ?? ''`); got != "accept" {
		t.Errorf("focus is on %q before Accept, want the Accept button", got)
	}
	if w := eval[string](t, bctx, jsTooWide); w != "" {
		t.Errorf("before Accept, wider than the 360 px screen: %s", w)
	}
	if w := internalWords.FindString(eval[string](t, bctx, `document.body.innerText`)); w != "" {
		t.Errorf("before Accept the page shows %q", w)
	}
	pageShot(t, bctx, "phone-offer.png")
	// Count what the live region would speak.
	eval[bool](t, bctx, `(() => { window.__spoken = []; new MutationObserver(() => window.__spoken.push(document.querySelector('[data-testid=progress-live]').textContent)).observe(document.querySelector('[data-testid=progress-live]'), { childList: true, characterData: true, subtree: true }); window.__t0 = Date.now(); return true; })()`)
	do(t, bctx, chromedp.Click(chromedp.CSS(`[data-testid=accept]`)))
	waitDone(t, bctx)
	seconds := eval[float64](t, bctx, `(Date.now() - window.__t0) / 1000`)
	waitExit(t, sender, &log.log)
	waitDownload(t, dl, "holiday photo.jpg", data)
	pageShot(t, bctx, "phone-saved.png")

	finishedPage(t, bctx)
	if w := eval[string](t, bctx, jsTooWide); w != "" {
		t.Errorf("the finished page is wider than the 360 px screen: %s", w)
	}
	if got := eval[string](t, bctx, `Array.from(document.querySelectorAll('[data-testid=saved] li button')).filter((b) => b.offsetParent).map((b) => b.textContent).join(' ')`); !strings.Contains(got, "Download") || !strings.Contains(got, "Open") {
		t.Errorf("the saved photo offers %q, want Open and Download", got)
	}
	if got := eval[string](t, bctx, `document.activeElement?.dataset.testid ?? ''`); got != "saved-title" {
		t.Errorf("focus after the copy is on %q, want the saved result", got)
	}
	// Tab from there reaches the file's actions first.
	if got := eval[string](t, bctx, `(() => { const all = Array.from(document.querySelectorAll('button, a[href], textarea, input, [tabindex]')).filter((e) => e.offsetParent && e.tabIndex >= 0); return all.map((e) => e.dataset.testid || e.id).join(' '); })()`); got != "open share download" {
		t.Errorf("the finished page's focus order: %q, want open share download", got)
	}
	if got := eval[string](t, bctx, `window.__wake.join(', ')`); got != "request screen, release done" {
		t.Errorf("wake lock: %q, want it taken when the copy starts and released when it is done", got)
	}
	do(t, bctx, chromedp.Click(chromedp.CSS(`[data-testid=share]`)))
	if got := waitPage(t, bctx, `(window.__shared || []).join()`, 10*time.Second); got != "holiday photo.jpg 31457280 image/jpeg" {
		t.Errorf("shared %q", got)
	}
	// Download hands the verified file over again: headless chromium holds back a second
	// download from one page, so the link the button follows is checked instead.
	eval[bool](t, bctx, `(() => {
		const click = HTMLAnchorElement.prototype.click, url = URL.createObjectURL;
		HTMLAnchorElement.prototype.click = function () { window.__link = this.download + ' ' + window.__blob.size; return click.call(this); };
		URL.createObjectURL = (b) => { window.__blob = b; return url(b); };
		return true;
	})()`)
	do(t, bctx, chromedp.Click(chromedp.CSS(`[data-testid=download]`)))
	if got := waitPage(t, bctx, `window.__link || ''`, 10*time.Second); got != "holiday photo.jpg 31457280" {
		t.Errorf("Download gives %q", got)
	}
	if got := eval[string](t, bctx, `getComputedStyle(document.body).backgroundColor`); got != "rgb(17, 17, 17)" {
		t.Errorf("dark mode background %q, want rgb(17, 17, 17)", got)
	}
	spoken := eval[[]string](t, bctx, `window.__spoken`)
	if max := int(seconds/4) + 2; len(spoken) > max {
		t.Errorf("the live region spoke %d times in %.0f s (at most %d): %q", len(spoken), seconds, max, spoken)
	}
	t.Logf("spoken in %.1f s: %q", seconds, spoken)
}
