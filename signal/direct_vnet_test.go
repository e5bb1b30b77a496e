package signal

import (
	"context"
	"testing"
	"time"

	"github.com/p2pcopy/p2pcopy/internal/vnetlab"
	"github.com/pion/transport/v5/vnet"
)

// TestDirectAnswerThroughNATs (pion vnet): behind a NAT with endpoint-independent filtering
// (full cone) the offerer gets the answer straight from a NATed answerer and they connect; behind
// a port-restricted NAT it does not, as the NAT drops packets from an address the offerer never
// sent to. That is the case the DHT mailbox covers.
func TestDirectAnswerThroughNATs(t *testing.T) {
	for _, c := range []struct {
		name     string
		offerer  *vnet.NATType
		answerer *vnet.NATType
		arrives  bool
	}{
		{"full-cone offerer, port-restricted answerer", vnetlab.FullCone, vnetlab.PortRestricted, true},
		{"port-restricted offerer, full-cone answerer", vnetlab.PortRestricted, vnetlab.FullCone, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
			defer cancel()
			lab := vnetlab.New(t)
			cfg := func(n *vnet.Net, rendezvous bool) Config {
				return Config{Net: n, STUN: []string{lab.STUNURL()}, DisableMDNS: true, GatherTimeout: 2 * time.Second, Rendezvous: rendezvous}
			}
			a := newTestPeer(t, cfg(lab.AddPeer(t, c.offerer), true))
			b := newTestPeer(t, cfg(lab.AddPeer(t, c.answerer), false))
			offer := roundTrip(t, mustToken(t)(a.Offer(ctx)))
			if !hasType(offer, Srflx) {
				t.Fatalf("the offer has no public (srflx) address: %s", dump(offer))
			}
			answer := roundTrip(t, mustToken(t)(b.Answer(ctx, offer)))
			sendCtx, stopSending := context.WithCancel(ctx)
			defer stopSending()
			go func() { _ = b.SendAnswerDirect(sendCtx) }()

			// The answerer's schedule sends six rounds within 3 s.
			wait := time.NewTimer(4 * time.Second)
			defer wait.Stop()
			select {
			case got := <-a.DirectAnswer():
				if !c.arrives {
					t.Fatalf("the answer came through a port-restricted NAT: %s", dump(got))
				}
				if !tokensEqual(got, answer) {
					t.Fatalf("direct answer %s, want %s", dump(got), dump(answer))
				}
				if err := a.AcceptAnswerFrom(got, CarrierDirect); err != nil {
					t.Fatal(err)
				}
				connectBoth(t, ctx, a, b)
				if carrier, err := b.AnswerCarrier(ctx); err != nil || carrier != CarrierDirect {
					t.Errorf("answerer says %v (%v), want direct", carrier, err)
				}
			case <-wait.C:
				if c.arrives {
					t.Fatal("no direct answer through a full-cone NAT")
				}
				// The paste still works: the same peers connect once the answer is given.
				stopSending()
				if err := a.AcceptAnswer(answer); err != nil {
					t.Fatal(err)
				}
				connectBoth(t, ctx, a, b)
			}
		})
	}
}

func hasType(tok Token, typ CandidateType) bool {
	for _, c := range tok.Candidates {
		if c.Type == typ {
			return true
		}
	}
	return false
}
