package signal

import "testing"

// TestCongestionSettingsBetweenCLIs: the long-fat-link congestion settings and the random-loss
// tolerance apply only when the peer's token says it is a p2pcopy CLI (an offer with a
// rendezvous secret, an answer that reads acknowledgements); towards a token without a rendezvous secret (the
// page's) or with send --qr, pion's settings (one-MTU floor, step and fast-retransmit window)
// stay, so a plain send opened in the page does not overrun the browser's socket.
func TestCongestionSettingsBetweenCLIs(t *testing.T) {
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
				floor, rtx, step := c.sctpStream().AssociationCongestion()
				want := [3]uint32{}
				if tc.want {
					want = [3]uint32{sctpMinCwnd, sctpFastRtxWnd, sctpCAStep}
				}
				if got := [3]uint32{floor, rtx, step}; got != want {
					t.Errorf("%s: congestion floor, fast-retransmit window, step %v, want %v", side, got, want)
				}
			}
		})
	}
}
