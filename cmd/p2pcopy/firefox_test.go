//go:build linux

package main

// The bundled page in a real Firefox: Debian's firefox-esr, driven over WebDriver BiDi by
// puppeteer-core through the small node bridge web/browsertest/bidi.mjs (one JSON command per
// line). The tests stay in Go beside the chromium ones and share their helpers: a context that
// carries a *firefox routes eval (and so waitPage, waitDone, finishedPage…) to Firefox, the way
// a chromedp context carries its browser. Firefox, node and the CLI all run inside the test's
// network namespace (newWebLab); no packet leaves it.

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// firefoxStartLimit bounds Firefox's start-up: it took ~7 s on an idle machine, and browser
// start-up took up to 60 s under load (DESIGN §6).
const firefoxStartLimit = 3 * time.Minute

// firefoxPaths are what the Firefox tests run: the browser, node, and the bridge script.
type firefoxPaths struct{ browser, node, bridge string }

// requireFirefox skips (or fails under CI=true) when Firefox or the bridge's node modules are
// missing, saying how to install them.
func requireFirefox(t *testing.T) firefoxPaths {
	t.Helper()
	fail := func(msg string) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("browser tests take a while; not in -short mode")
	}
	var p firefoxPaths
	for _, b := range []string{"/usr/bin/firefox-esr", "/usr/bin/firefox"} {
		if _, err := os.Stat(b); err == nil {
			p.browser = b
			break
		}
	}
	if p.browser == "" {
		fail("Firefox tests need Debian's firefox-esr: apt-get install firefox-esr")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		fail("Firefox tests need node: apt-get install nodejs")
	}
	p.node = node
	dir, err := filepath.Abs("../../web/browsertest")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "puppeteer-core", "package.json")); err != nil {
		fail("Firefox tests need the bridge's node modules: (cd web/browsertest && npm ci --ignore-scripts)")
	}
	p.bridge = filepath.Join(dir, "bidi.mjs")
	return p
}

type bridgeReply struct {
	ID      int             `json:"id"`
	OK      bool            `json:"ok"`
	Value   json.RawMessage `json:"value"`
	Error   string          `json:"error"`
	Ready   bool            `json:"ready"`
	Version string          `json:"version"`
}

// firefox is one running Firefox behind the node bridge.
type firefox struct {
	stdin   io.WriteCloser
	replies chan bridgeReply
	log     *syncBuffer // the bridge's (and Firefox's) stderr, shown when something fails
	next    int
	version string
}

type firefoxKey struct{}

// firefoxFrom returns the Firefox a context carries, or nil for a chromedp context.
func firefoxFrom(ctx context.Context) *firefox {
	ff, _ := ctx.Value(firefoxKey{}).(*firefox)
	return ff
}

// firefox starts Firefox in the lab's namespace with downloads going to dir and returns a
// context that carries it. It ends when the test does.
func (l *webLab) firefox(ctx context.Context, p firefoxPaths, dir string) context.Context {
	t := l.t
	t.Helper()
	tmp := t.TempDir() // the profile puppeteer makes, removed with the test
	cmd := exec.Command(l.ip, "netns", "exec", l.ns, p.node, p.bridge)
	cmd.Env = append(os.Environ(), "FIREFOX="+p.browser, "DOWNLOADS="+dir, "TMPDIR="+tmp)
	// Its own process group, so that the cleanup can end node and every Firefox process it
	// started, by that group's id, if a polite close does not.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Commands go one at a time, so at most one reply (to a command whose wait was given up)
	// is ever left unread; the buffer keeps the reader from blocking on it.
	ff := &firefox{replies: make(chan bridgeReply, 4), log: &syncBuffer{}}
	cmd.Stderr = ff.log
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	ff.stdin = stdin
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		defer func() { _ = cmd.Wait() }() // after the last read, as os/exec asks
		defer close(ff.replies)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			var r bridgeReply
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				_, _ = fmt.Fprintf(ff.log, "bridge: not JSON: %s\n", sc.Text())
				continue
			}
			ff.replies <- r
		}
	}()
	t.Cleanup(func() {
		_ = stdin.Close() // the bridge closes Firefox and exits
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if t.Failed() {
			t.Logf("firefox bridge:\n%s", ff.log.String())
		}
	})
	select {
	case r, ok := <-ff.replies:
		if !ok || !r.Ready {
			t.Fatalf("Firefox did not start (%+v):\n%s", r, ff.log.String())
		}
		ff.version = r.Version
	case <-time.After(firefoxStartLimit):
		t.Fatalf("Firefox did not start in %s:\n%s", firefoxStartLimit, ff.log.String())
	case <-ctx.Done():
		t.Fatalf("Firefox did not start: %v\n%s", ctx.Err(), ff.log.String())
	}
	t.Logf("%s started in %s", ff.version, time.Since(start).Round(time.Millisecond))
	return context.WithValue(ctx, firefoxKey{}, ff)
}

// call sends one command to the bridge and waits for its reply. Commands go one at a time.
func (ff *firefox) call(ctx context.Context, op string, args map[string]any) (json.RawMessage, error) {
	ff.next++
	cmd := map[string]any{"id": ff.next, "op": op}
	for k, v := range args {
		cmd[k] = v
	}
	b, err := json.Marshal(cmd)
	if err != nil {
		return nil, err
	}
	if _, err := ff.stdin.Write(append(b, '\n')); err != nil {
		return nil, fmt.Errorf("firefox %s: %w\n%s", op, err, ff.log.String())
	}
	for {
		select {
		case r, ok := <-ff.replies:
			if !ok {
				return nil, fmt.Errorf("firefox %s: the bridge exited:\n%s", op, ff.log.String())
			}
			if r.ID != ff.next {
				continue // a reply to a command whose wait was given up
			}
			if !r.OK {
				return nil, fmt.Errorf("firefox %s: %s", op, r.Error)
			}
			return r.Value, nil
		case <-ctx.Done():
			return nil, fmt.Errorf("firefox %s: %w", op, ctx.Err())
		}
	}
}

// ffDo runs bridge commands in order and fails the test on the first error.
func ffDo(t *testing.T, ctx context.Context, steps ...ffStep) {
	t.Helper()
	ff := firefoxFrom(ctx)
	if ff == nil {
		t.Fatal("not a Firefox context")
	}
	for _, s := range steps {
		if _, err := ff.call(ctx, s.op, s.args); err != nil {
			t.Fatal(err)
		}
	}
}

type ffStep struct {
	op   string
	args map[string]any
}

func ffGoto(url string) ffStep  { return ffStep{"goto", map[string]any{"url": url}} }
func ffClick(sel string) ffStep { return ffStep{"click", map[string]any{"selector": sel}} }
func ffSetValue(sel, v string) ffStep {
	return ffStep{"setValue", map[string]any{"selector": sel, "value": v}}
}
func ffUpload(sel string, files ...string) ffStep {
	return ffStep{"upload", map[string]any{"selector": sel, "files": files}}
}

// ffEval evaluates js in Firefox's page (awaiting a promise) and decodes its value into T.
func ffEval[T any](t *testing.T, ctx context.Context, ff *firefox, js string) T {
	t.Helper()
	var v T
	raw, err := ff.call(ctx, "eval", map[string]any{"js": js})
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s: %v (value %s)", js, err, raw)
	}
	return v
}

// TestFirefox: the page in Firefox receives a file sent by p2pcopy send, and sends files to
// p2pcopy receive; each ends with identical bytes, the same verification code on both sides and
// a finished page a person can read at phone and desktop sizes. One Firefox serves both.
func TestFirefox(t *testing.T) {
	paths := requireFirefox(t)
	lab := newWebLab(t)
	pageURL := lab.servePage("127.0.0.1:0")
	ctx := testCtx(t, 8*time.Minute)
	dl := t.TempDir()
	fctx := lab.firefox(ctx, paths, dl)

	t.Run("ReceivesFromCLI", func(t *testing.T) {
		start := time.Now()
		src := t.TempDir()
		data := randomFile(t, src, "random.bin", 30<<20)
		sender := lab.command("send", "--no-stun", "--json", filepath.Join(src, "random.bin"))
		stdin, _ := sender.StdinPipe()
		tokOut, _ := sender.StdoutPipe()
		stderr, _ := sender.StderrPipe()
		lab.started(sender)
		log := watchLines(stderr)
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("p2pcopy send:\n%s", log.log.String())
			}
		})
		tok, err := bufio.NewReader(tokOut).ReadString('\n')
		if err != nil {
			t.Fatalf("no token: %v\n%s", err, log.log.String())
		}
		// No save mode asked for: the page picks what Firefox has (no save dialog API there).
		ffDo(t, fctx, ffGoto(pageURL+"?stun=none#"+strings.TrimSpace(tok)))
		waitAccept(t, fctx)
		if what := eval[string](t, fctx, `document.getElementById('offered-what').textContent`); what != "random.bin (31.5 MB)" {
			t.Errorf("page shows the offer as %q", what)
		}
		ffDo(t, fctx, ffClick(`[data-testid=accept]`))
		answer := waitToken(t, fctx, "answer-token")
		answerAndFinish(t, fctx, stdin, answer, sender, &log.log)
		// What the person gets: the file in Firefox's download folder, byte for byte.
		waitDownload(t, dl, "random.bin", data)
		// And the copy the page kept in the browser's storage, read back in the page.
		if got, want := opfsFile(t, fctx, "random.bin"), fmt.Sprintf("%d:%x", len(data), sha256.Sum256(data)); got != want {
			t.Errorf("the page's stored copy: %s, want %s", got, want)
		}
		t.Logf("30 MiB CLI → Firefox in %s", time.Since(start).Round(time.Millisecond))
		screens(t, fctx, "received")
	})

	t.Run("SendsToCLI", func(t *testing.T) {
		start := time.Now()
		src, out := t.TempDir(), t.TempDir()
		files := map[string][]byte{
			"a.bin":     randomFile(t, src, "a.bin", 20<<20+5),
			"empty.txt": randomFile(t, src, "empty.txt", 0),
		}
		// A different query from the last run's URL, so that Firefox loads the page afresh.
		ffDo(t, fctx, ffGoto(pageURL+"?stun=none&run=send"),
			ffUpload(`[data-testid=files-input]`, filepath.Join(src, "a.bin"), filepath.Join(src, "empty.txt")))
		offer := waitToken(t, fctx, "offer-token")
		recv := lab.command("receive", "-y", "--no-stun", "-o", out, offer)
		ansOut, _ := recv.StdoutPipe()
		stderr, _ := recv.StderrPipe()
		lab.started(recv)
		log := watchLines(stderr)
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("p2pcopy receive:\n%s", log.log.String())
			}
		})
		answer, err := bufio.NewReader(ansOut).ReadString('\n')
		if err != nil {
			t.Fatalf("no answer: %v\n%s", err, log.log.String())
		}
		ffDo(t, fctx, ffSetValue(`[data-testid=token-input]`, strings.TrimSpace(answer)), ffClick(`[data-testid=token-go]`))
		waitDone(t, fctx)
		waitExit(t, recv, &log.log)
		for name, want := range files {
			got, err := os.ReadFile(filepath.Join(out, name))
			if err != nil || sha256.Sum256(got) != sha256.Sum256(want) {
				t.Errorf("%s: %d bytes (%v), want %d identical bytes", name, len(got), err, len(want))
			}
		}
		if !strings.Contains(log.log.String(), "verified") {
			t.Errorf("the CLI did not report verification:\n%s", log.log.String())
		}
		code := eval[string](t, fctx, `document.querySelector('[data-testid=verify-code]').textContent`)
		if !strings.Contains(log.log.String(), code) {
			t.Errorf("verification code %q on the page is not in the CLI's output:\n%s", code, log.log.String())
		}
		if w := internalWords.FindString(eval[string](t, fctx, `document.body.innerText`)); w != "" {
			t.Errorf("the finished page shows %q", w)
		}
		t.Logf("20 MiB + an empty file Firefox → CLI in %s", time.Since(start).Round(time.Millisecond))
		screens(t, fctx, "sent")
	})
}

// opfsFile finds the file whose name ends in name in the page's private file system and returns
// "size:sha256" of it, so the test checks the bytes the page stored without knowing its layout.
func opfsFile(t *testing.T, ctx context.Context, name string) string {
	t.Helper()
	b, _ := json.Marshal(name)
	got := eval[string](t, ctx, `(async () => {
		const want = `+string(b)+`;
		const walk = async (dir) => {
			for await (const [n, h] of dir.entries()) {
				if (h.kind === 'directory') { const f = await walk(h); if (f) return f; }
				else if (n === want || n.endsWith('-' + want)) return h.getFile();
			}
			return null;
		};
		const f = await walk(await navigator.storage.getDirectory());
		if (!f) return 'none';
		const d = new Uint8Array(await crypto.subtle.digest('SHA-256', await f.arrayBuffer()));
		return f.size + ':' + Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
	})()`)
	if got == "none" {
		t.Fatalf("no %s in the page's private file system", name)
	}
	return got
}
