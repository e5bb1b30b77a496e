package signal

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"
)

// TestTrimCandidates: at most 16 candidates, up to half of them the kinds that cross NATs, the
// rest host addresses (then anything left), in the order they were gathered. The page does the
// same (web/test/token.test.mjs).
func TestTrimCandidates(t *testing.T) {
	// h: host, s: srflx, r: relay; a letter per gathered candidate, numbered by position.
	cands := func(kinds string) []Candidate {
		var cs []Candidate
		for i, k := range kinds {
			typ := map[rune]CandidateType{'h': Host, 's': Srflx, 'r': Relay}[k]
			cs = append(cs, Candidate{Type: typ, Addr: netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), Port: 1})
		}
		return cs
	}
	show := func(cs []Candidate) string {
		var b strings.Builder
		for _, c := range cs {
			fmt.Fprintf(&b, "%s%d ", c.Type.String()[:1], c.Addr.As4()[3])
		}
		return strings.TrimSpace(b.String())
	}
	for _, c := range []struct{ kinds, want string }{
		{"hhs", "h0 h1 s2"}, // few enough: all, as gathered
		{"hhhhhhhhhhhhhhhhhhhhss", "h0 h1 h2 h3 h4 h5 h6 h7 h8 h9 h10 h11 h12 h13 s20 s21"},
		{"sssssssssshhhhhhhhhhhh", "s0 s1 s2 s3 s4 s5 s6 s7 h10 h11 h12 h13 h14 h15 h16 h17"},
		{"ssssssssssssssssssshhr", "s0 s1 s2 s3 s4 s5 s6 s7 s8 s9 s10 s11 s12 s13 h19 h20"},
		{"rhhhhhhhhhhhhhhhhhhhhh", "r0 h1 h2 h3 h4 h5 h6 h7 h8 h9 h10 h11 h12 h13 h14 h15"},
	} {
		if got := show(trimCandidates(cands(c.kinds), 16)); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.kinds, got, c.want)
		}
	}
}

// TestClassify: how the selected pair is described to the user.
func TestClassify(t *testing.T) {
	p := &Peer{}
	cand := func(typ webrtc.ICECandidateType, addr string) *webrtc.ICECandidate {
		return &webrtc.ICECandidate{Typ: typ, Address: addr, Port: 5000}
	}
	const (
		host  = webrtc.ICECandidateTypeHost
		srflx = webrtc.ICECandidateTypeSrflx
		prflx = webrtc.ICECandidateTypePrflx
		relay = webrtc.ICECandidateTypeRelay
	)
	for _, c := range []struct {
		name          string
		local, remote *webrtc.ICECandidate
		want          Path
	}{
		{"our relay", cand(relay, "203.0.113.5"), cand(host, "192.168.1.2"), PathRelayed},
		{"their relay", cand(host, "192.168.1.3"), cand(relay, "203.0.113.5"), PathRelayed},
		{"our public mapping", cand(srflx, "198.51.100.7"), cand(host, "192.168.1.2"), PathNAT},
		{"their public mapping", cand(host, "192.168.1.3"), cand(srflx, "198.51.100.9"), PathNAT},
		{"prflx from the LAN", cand(host, "192.168.1.3"), cand(prflx, "192.168.1.2"), PathLAN},
		{"prflx from a public address", cand(host, "192.168.1.3"), cand(prflx, "198.51.100.9"), PathNAT},
		{"two public hosts", cand(host, "198.51.100.7"), cand(host, "203.0.113.9"), PathDirect},
		{"two private hosts", cand(host, "192.168.1.3"), cand(host, "192.168.1.2"), PathLAN},
		{"loopback", cand(host, "127.0.0.1"), cand(host, "127.0.0.1"), PathLAN},
	} {
		if got := p.classify(&webrtc.ICECandidatePair{Local: c.local, Remote: c.remote}); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
