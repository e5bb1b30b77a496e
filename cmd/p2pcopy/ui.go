package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/p2pcopy/p2pcopy/signal"
	"github.com/p2pcopy/p2pcopy/transfer"
	"github.com/schollz/progressbar/v3"
)

// plainInterval is how often a progress line is printed when stderr is not a terminal.
const plainInterval = 5 * time.Second

// ui renders what happens on stderr: text with a progress bar on a terminal, plain periodic lines
// otherwise, JSON events with --json, nothing but errors with -q.
type ui struct {
	mu      sync.Mutex // events arrive from the transfer, ticks from a timer
	w       io.Writer
	json    bool
	quiet   bool
	verbose bool
	tty     bool

	start     time.Time // first byte of the transfer
	bar       *progressbar.ProgressBar
	lastPlain time.Time
	lastJSON  time.Time
	current   string         // path of the entry in flight
	last      transfer.Event // latest progress
	lastMove  time.Time      // when the byte count last grew
	finished  bool
	skipped   int   // files found complete from an earlier run
	skippedB  int64 // their bytes
	// promptOpen: a prompt was printed and its line not ended; what the user types ends it, but
	// a message printed before that starts on a line of its own.
	// Atomic: the answering side learns how its answer travelled on another goroutine.
	promptOpen atomic.Bool
}

// stallAfter is how long without a byte before the progress line says the peer is silent.
const stallAfter = 3 * time.Second

// watchStalls re-renders the progress every second so that a silent peer shows as
// "stalled, waiting for peer (12s)…"; it returns when ctx ends.
func (u *ui) watchStalls(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			u.tick(now)
		}
	}
}

// tick shows a stall once no byte has moved for stallAfter.
func (u *ui) tick(now time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.stalledAt(now) {
		u.progress(u.last, now, false)
	}
}

// stalledAt reports whether no byte has moved for stallAfter during a transfer.
func (u *ui) stalledAt(now time.Time) bool {
	return !u.lastMove.IsZero() && !u.finished && now.Sub(u.lastMove) >= stallAfter
}

func (u *ui) stallText(now time.Time) string {
	return fmt.Sprintf("stalled, waiting for peer (%ds)…", int(now.Sub(u.lastMove).Seconds()))
}

func newUI(env *Env, g *globals) *ui {
	return &ui{w: env.Stderr, json: g.json, quiet: g.quiet, verbose: g.verbose, tty: env.StderrTTY && !g.json && !g.quiet}
}

func writeJSON(w io.Writer, v map[string]any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	_, _ = w.Write(append(b, '\n'))
}

func (u *ui) human() bool { return !u.json && !u.quiet }

func (u *ui) info(format string, a ...any) {
	if u.human() {
		u.endPrompt()
		fmt.Fprintf(u.w, format+"\n", a...)
	}
}

func (u *ui) prompt(s string) {
	if u.human() {
		fmt.Fprint(u.w, s)
		u.promptOpen.Store(true)
	}
}

// endPrompt ends the line of a prompt that is still waiting, when something else must be said
// first (an answer that came back by itself while the prompt asked for a paste).
func (u *ui) endPrompt() {
	if u.promptOpen.Swap(false) {
		fmt.Fprintln(u.w)
	}
}

func (u *ui) warn(s string) {
	if u.json {
		writeJSON(u.w, map[string]any{"event": "warning", "message": s})
	} else if !u.quiet {
		fmt.Fprintln(u.w, "warning: "+s)
	}
}

func (u *ui) errorLine(s string) {
	if u.json {
		writeJSON(u.w, map[string]any{"event": "warning", "message": s})
	} else {
		fmt.Fprintln(u.w, s)
	}
}

func (u *ui) token(tok signal.Token, text string, answerTravels bool) {
	if u.json {
		writeJSON(u.w, map[string]any{"event": tok.Kind.String(), "token": text})
		return
	}
	switch {
	case tok.Kind == signal.Offer:
		u.info("Token (give this to your peer):")
	case answerTravels:
		u.info("Answer (it goes back to your peer by itself; give it to them only if they are still waiting):")
	default:
		u.info("Answer (give this back to your peer):")
	}
}

// link shows the page link of scan-and-go (send --qr).
func (u *ui) link(l string) {
	if u.json {
		writeJSON(u.w, map[string]any{"event": "link", "url": l})
		return
	}
	u.info("Link (open it in a browser or scan the QR code; the page hands the answer back by itself):")
	u.info("%s", l)
}

// waitingForAnswer says what happens next once our offer is out. With a rendezvous secret in
// the offer the answer may come back by itself (§4), and a paste stays the fallback.
func (u *ui) waitingForAnswer(interactive, travels bool) {
	switch {
	case travels && interactive:
		u.prompt("Waiting for your peer (or paste their answer): ")
	case travels:
		u.info("waiting for your peer (or their answer on stdin)...")
	case interactive:
		u.prompt("Paste your peer's answer: ")
	default:
		u.info("waiting for your peer's answer on stdin...")
	}
}

func (u *ui) offered(s *signal.Summary) {
	if u.json {
		ev := map[string]any{"event": "offered"}
		if s != nil {
			ev["name"], ev["entries"], ev["bytes"] = printable(s.Name), s.Entries, s.TotalBytes
		}
		writeJSON(u.w, ev)
		return
	}
	if s != nil {
		shown := *s
		shown.Name = displayName(s.Name)
		s = &shown
	}
	u.info("Your peer offers %s.", offeredText(s))
}

func (u *ui) connected(info signal.ConnInfo) {
	if u.json {
		writeJSON(u.w, map[string]any{
			"event": "connected", "path": info.Path, "description": info.Describe(),
			"local": info.Local, "remote": info.Remote, "verify": info.VerifyCode,
			"connect_ms": info.ConnectTime.Milliseconds(),
		})
		return
	}
	u.info("connected: %s (verification code %s)", info.Describe(), info.VerifyCode)
	if u.verbose {
		u.info("  local %s <-> remote %s, connected %.1fs after the answer", info.Local, info.Remote, info.ConnectTime.Seconds())
	}
}

// transferEvent renders progress from the transfer package.
func (u *ui) transferEvent(e transfer.Event) {
	u.mu.Lock()
	defer u.mu.Unlock()
	now := time.Now()
	if u.start.IsZero() {
		u.start, u.lastPlain = now, now // the first plain progress line comes after plainInterval
	}
	if e.Type != transfer.EventManifest && (u.lastMove.IsZero() || e.Bytes > u.last.Bytes) {
		u.lastMove = now
	}
	if e.Type != transfer.EventManifest {
		u.last = e
	}
	if e.Type == transfer.EventDone {
		u.finished = true
	}
	switch e.Type {
	case transfer.EventManifest:
		if u.json {
			writeJSON(u.w, map[string]any{"event": "manifest", "entries": len(e.Entries), "bytes": e.Total})
		} else if u.verbose {
			for _, en := range e.Entries {
				u.info("  %s %s", displayName(en.Path), sizeText(en.Size))
			}
		}
	case transfer.EventFileStart:
		u.current = e.Entry.Path
		if e.Offset > 0 {
			u.resumed(e)
		}
		u.progress(e, now, true)
	case transfer.EventProgress:
		u.progress(e, now, false)
	case transfer.EventFileDone:
		if u.json {
			writeJSON(u.w, map[string]any{"event": "file-done", "path": e.Entry.Path, "bytes": e.Entry.Size})
		} else if u.verbose {
			u.clearBar()
			u.info("  %s verified", displayName(e.Entry.Path))
		}
		u.progress(e, now, true)
	case transfer.EventDone:
		u.progress(e, now, true)
	}
}

// resumed reports a file continued from an earlier run: "resuming NAME at 7.4 GB", or, for files
// that were already complete, one count at the end instead of a line each.
func (u *ui) resumed(e transfer.Event) {
	complete := e.Entry.Size >= 0 && e.Offset >= e.Entry.Size
	switch {
	case u.json:
		writeJSON(u.w, map[string]any{"event": "resume", "path": e.Entry.Path, "offset": e.Offset, "complete": complete})
	case complete:
		u.skipped++
		u.skippedB += e.Offset
	default:
		u.clearBar()
		u.info("resuming %s at %s", displayName(e.Entry.Path), humanBytes(e.Offset))
	}
}

func (u *ui) progress(e transfer.Event, now time.Time, force bool) {
	switch {
	case u.json:
		if u.stalledAt(now) {
			if now.Sub(u.lastJSON) >= time.Second {
				u.lastJSON = now
				writeJSON(u.w, map[string]any{"event": "stalled", "seconds": int(now.Sub(u.lastMove).Seconds())})
			}
			return
		}
		if force || now.Sub(u.lastJSON) >= time.Second {
			u.lastJSON = now
			writeJSON(u.w, map[string]any{"event": "progress", "path": u.current, "bytes": e.Bytes, "total": e.Total})
		}
	case u.quiet:
	case u.tty:
		if u.bar == nil {
			u.bar = progressbar.NewOptions64(e.Total,
				progressbar.OptionSetWriter(u.w),
				progressbar.OptionShowBytes(true),
				progressbar.OptionSetWidth(24),
				progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionShowCount(),
				progressbar.OptionSetPredictTime(true),
				progressbar.OptionFullWidth(),
				progressbar.OptionSetRenderBlankState(true),
			)
		}
		if u.stalledAt(now) {
			u.bar.Describe(u.stallText(now))
		} else {
			u.bar.Describe(displayName(u.current))
		}
		_ = u.bar.Set64(e.Bytes)
	default:
		if now.Sub(u.lastPlain) >= plainInterval || e.Type == transfer.EventDone {
			u.lastPlain = now
			if u.stalledAt(now) {
				u.info("%s", u.stallText(now))
			} else {
				u.info("%s", plainProgress(displayName(u.current), e.Bytes, e.Total, now.Sub(u.start)))
			}
		}
	}
}

// plainProgress is the line printed every few seconds when stderr is not a terminal.
func plainProgress(name string, done, total int64, elapsed time.Duration) string {
	rate := float64(done) / max(elapsed.Seconds(), 0.001)
	if total <= 0 {
		return fmt.Sprintf("%s %s %s/s", name, humanBytes(done), humanBytes(int64(rate)))
	}
	pct := float64(done) * 100 / float64(total)
	eta := "-"
	if rate > 0 {
		eta = time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second).String()
	}
	return fmt.Sprintf("%s %3.0f%% %s/%s %s/s ETA %s", name, pct, humanBytes(done), humanBytes(total), humanBytes(int64(rate)), eta)
}

func sizeText(n int64) string {
	if n < 0 {
		return "(stream)"
	}
	return "(" + humanBytes(n) + ")"
}

func (u *ui) clearBar() {
	if u.bar != nil {
		_ = u.bar.Clear()
	}
}

// abort leaves the progress bar so that the error prints on a fresh line.
func (u *ui) abort() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.finished = true
	if u.bar != nil {
		_ = u.bar.Exit()
		fmt.Fprintln(u.w)
		u.bar = nil
	}
}

func (u *ui) finishBar() {
	if u.bar != nil {
		_ = u.bar.Finish()
		fmt.Fprintln(u.w)
		u.bar = nil
	}
}

// sent reports a finished send; packetSize is the largest SCTP packet this side sent at the end
// (signal.Conn.PacketSize: 1191, larger where probing or one machine allowed it).
func (u *ui) sent(r transfer.Result, packetSize int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.finished = true
	u.finishBar()
	if u.json {
		writeJSON(u.w, map[string]any{"event": "done", "files": r.Files, "bytes": r.Bytes, "sent": r.Sent,
			"resumed": r.Resumed, "seconds": r.Duration.Seconds(), "verified": true, "packet_bytes": packetSize})
		return
	}
	u.info("done: %s in %s (%s/s), sha256 verified by the receiver%s", humanBytes(r.Bytes), r.Duration.Round(time.Second/10),
		humanBytes(rate(r.Sent, r.Duration)), u.resumedText(r))
}

// received reports a finished receive; packetSize as for sent.
func (u *ui) received(r transfer.Result, dir string, packetSize int) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.finished = true
	u.finishBar()
	if u.json {
		writeJSON(u.w, map[string]any{"event": "done", "files": r.Files, "bytes": r.Bytes, "sent": r.Sent,
			"resumed": r.Resumed, "seconds": r.Duration.Seconds(), "verified": true, "dir": dir,
			"packet_bytes": packetSize})
		return
	}
	where := "saved in " + describeDir(dir)
	if dir == "-" {
		where = "written to stdout"
	}
	u.info("done: %d file(s), %s in %s (%s/s), %s, sha256 verified%s", r.Files, humanBytes(r.Bytes),
		r.Duration.Round(time.Second/10), humanBytes(rate(r.Sent, r.Duration)), where, u.resumedText(r))
}

func (u *ui) resumedText(r transfer.Result) string {
	if r.Resumed == 0 {
		return ""
	}
	s := fmt.Sprintf(" (%s resumed from an earlier run", humanBytes(r.Resumed))
	if u.skipped > 0 {
		s += fmt.Sprintf("; %d file(s), %s, were already complete", u.skipped, humanBytes(u.skippedB))
	}
	return s + ")"
}

func rate(n int64, d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64(float64(n) / d.Seconds())
}

// displayName is how a file name is shown to the user: characters that are invisible or change
// how the text around them is drawn appear as their code, "<U+202E>", so that what the user
// reads is the name that will be written. "invoice\u202etxt.exe" would otherwise read as
// "invoiceexe.txt", and a terminal escape could redraw the screen. Shown so: control characters
// (C0, DEL, C1), format characters (Unicode category Cf: the bidirectional marks, embeddings,
// overrides and isolates, zero-width space, byte order mark, soft hyphen, tag characters...),
// the line and paragraph separators, and bytes that are not UTF-8 ("<0xFF>"). Kept as they are:
// the zero-width non-joiner and joiner (U+200C, U+200D), which only join or part neighbouring
// letters: Persian and Indic names and emoji sequences need them, and they can neither reorder
// nor hide anything. web/js/display.js does the same for the page.
func displayName(s string) string {
	if strings.IndexFunc(s, hiddenRune) < 0 && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, "<0x%02X>", s[i])
		case hiddenRune(r):
			fmt.Fprintf(&b, "<U+%04X>", r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// hiddenRune reports whether displayName shows r by its code.
func hiddenRune(r rune) bool {
	switch {
	case r == '\u200c' || r == '\u200d':
		return false
	case r == '\u2028' || r == '\u2029':
		return true
	}
	return unicode.In(r, unicode.Cc, unicode.Cf)
}
