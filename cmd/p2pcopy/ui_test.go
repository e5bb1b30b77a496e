package main

import (
	"strings"
	"testing"
	"time"

	"github.com/p2pcopy/p2pcopy/transfer"
)

// TestStallDisplay: when no byte moves, every output mode says the peer is silent and for how
// long; when bytes move again, progress returns.
func TestStallDisplay(t *testing.T) {
	for _, mode := range []struct {
		name string
		g    globals
		want string
	}{
		{"plain", globals{}, "stalled, waiting for peer (12s)…"},
		{"json", globals{json: true}, `{"event":"stalled","seconds":12}`},
	} {
		t.Run(mode.name, func(t *testing.T) {
			var out strings.Builder
			u := newUI(&Env{Stderr: &out}, &mode.g)
			e := transfer.Event{Type: transfer.EventProgress, Bytes: 1000, Total: 10_000}
			u.transferEvent(e)
			u.tick(u.lastMove.Add(2 * time.Second))
			if strings.Contains(out.String(), "stalled") {
				t.Fatalf("stall shown after 2 s:\n%s", out.String())
			}
			u.tick(u.lastMove.Add(12 * time.Second))
			if !strings.Contains(out.String(), mode.want) {
				t.Fatalf("want %q in:\n%s", mode.want, out.String())
			}
			out.Reset()
			e.Bytes = 2000
			u.lastPlain, u.lastJSON = time.Time{}, time.Time{}
			u.transferEvent(e)
			if strings.Contains(out.String(), "stalled") || !strings.Contains(out.String(), "2") {
				t.Fatalf("after bytes moved again:\n%s", out.String())
			}
		})
	}
}

// TestTerminalSafeText: a received text message shown on a terminal cannot carry escape
// sequences or C1 controls (even split across writes); plain text, tabs, newlines and other
// non-ASCII characters pass unchanged.
func TestTerminalSafeText(t *testing.T) {
	var out strings.Builder
	w := textOutput(&Env{Stdout: &out, StdoutTTY: true})
	for _, chunk := range []string{"héllo\t«wörld»\n", "\x1b[2Jcleared\x07", "\xc2", "\x9b31mred\x7f", " 日本\r\n"} {
		if n, err := w.Write([]byte(chunk)); err != nil || n != len(chunk) {
			t.Fatalf("Write(%q) = %d, %v", chunk, n, err)
		}
	}
	if want := "héllo\t«wörld»\n[2Jcleared31mred 日本\n"; out.String() != want {
		t.Fatalf("got %q, want %q", out.String(), want)
	}
	var raw strings.Builder
	if w := textOutput(&Env{Stdout: &raw}); w != &raw {
		_, _ = w.Write([]byte("\x1b"))
		t.Fatalf("text to a file or pipe must pass unchanged, got %q", raw.String())
	}
}
