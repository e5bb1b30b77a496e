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
