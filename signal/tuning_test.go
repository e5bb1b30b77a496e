package signal

import "testing"

// TestRandomLossToleranceBetweenCLIs: the association tolerates random loss when the peer's
// token says it is a p2pcopy CLI (an offer with a rendezvous secret, an answer that reads
// acknowledgements) and keeps pion's response towards anything else, such as the page.
func TestRandomLossToleranceBetweenCLIs(t *testing.T) {
	for _, tc := range []struct {
		name                string
		rendezvous, browser bool
		want                bool
	}{
		{"two CLIs", true, false, true},
		{"offer without a secret (as the page's)", false, false, false},
		{"send --qr (the page is the peer)", true, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{NoSTUN: true, IncludeLoopback: true, Rendezvous: tc.rendezvous, BrowserPeer: tc.browser}
			a, b, _, _ := connectedPairWith(t, cfg, nil)
			for side, c := range map[string]*Conn{"offerer": a, "answerer": b} {
				if got := c.sctpStream().AssociationRandomLossTolerance(); got != tc.want {
					t.Errorf("%s: random-loss tolerance %v, want %v", side, got, tc.want)
				}
			}
		})
	}
}
