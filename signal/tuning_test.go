package signal

import (
	"context"
	"testing"
	"time"
)

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
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cfg := Config{NoSTUN: true, IncludeLoopback: true, Rendezvous: tc.rendezvous, BrowserPeer: tc.browser}
			pa, pb := newTestPeer(t, cfg), newTestPeer(t, cfg)
			offer := roundTrip(t, mustToken(t)(pa.Offer(ctx)))
			answer := roundTrip(t, mustToken(t)(pb.Answer(ctx, offer)))
			if err := pa.AcceptAnswer(answer); err != nil {
				t.Fatal(err)
			}
			bc := make(chan *Conn, 1)
			go func() {
				c, err := pb.Connect(ctx)
				if err != nil {
					t.Error(err)
				}
				bc <- c
			}()
			a, err := pa.Connect(ctx)
			if err != nil {
				t.Fatal(err)
			}
			b := <-bc
			if b == nil {
				t.FailNow()
			}
			defer a.Close()
			defer b.Close()
			for side, c := range map[string]*Conn{"offerer": a, "answerer": b} {
				if got := c.sctpStream().AssociationRandomLossTolerance(); got != tc.want {
					t.Errorf("%s: random-loss tolerance %v, want %v", side, got, tc.want)
				}
			}
		})
	}
}
