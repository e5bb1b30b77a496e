package netcheck_test

import (
	"context"
	"testing"
	"time"

	"github.com/p2pcopy/p2pcopy/internal/vnetlab"
	"github.com/p2pcopy/p2pcopy/signal/netcheck"
	"github.com/pion/transport/v5/vnet"
)

// TestVerdicts runs the check from behind every simulated NAT kind (pion vnet, with the lab's
// STUN server on two ports) and asserts the measured mapping and the verdict a user reads.
func TestVerdicts(t *testing.T) {
	cases := []struct {
		name    string
		nat     *vnet.NATType
		public  bool
		servers func(*vnetlab.Lab) []string
		mapping netcheck.Mapping
		verdict netcheck.Verdict
	}{
		{name: "public address", public: true, mapping: netcheck.MappingNone, verdict: netcheck.VerdictPublic},
		{name: "full cone", nat: vnetlab.FullCone, mapping: netcheck.MappingIndependent, verdict: netcheck.VerdictEIM},
		{name: "address restricted", nat: vnetlab.AddressRestricted, mapping: netcheck.MappingIndependent, verdict: netcheck.VerdictEIM},
		{name: "port restricted", nat: vnetlab.PortRestricted, mapping: netcheck.MappingIndependent, verdict: netcheck.VerdictEIM},
		{name: "symmetric", nat: vnetlab.Symmetric, mapping: netcheck.MappingDependent, verdict: netcheck.VerdictSymmetric},
		{name: "one server", nat: vnetlab.PortRestricted, mapping: netcheck.MappingUnknown, verdict: netcheck.VerdictUnknown,
			servers: func(l *vnetlab.Lab) []string { return l.STUNURLs()[:1] }},
		{name: "UDP blocked", nat: vnetlab.PortRestricted, mapping: netcheck.MappingUnknown, verdict: netcheck.VerdictBlocked,
			servers: func(*vnetlab.Lab) []string { return []string{"stun:1.2.3.99:3478", "stun:1.2.3.98:3478"} }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lab := vnetlab.New(t)
			nat := tc.nat
			if tc.public {
				nat = nil
			}
			n := lab.AddPeer(t, nat)
			servers := lab.STUNURLs()
			if tc.servers != nil {
				servers = tc.servers(lab)
			}
			rep, err := netcheck.Run(context.Background(), netcheck.Config{Servers: servers, Net: n, Timeout: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: udp=%v mapping=%s public=%v", tc.name, rep.UDP, rep.Mapping, rep.Public)
			if rep.Mapping != tc.mapping || rep.Verdict != tc.verdict {
				t.Fatalf("mapping %q, verdict %q; want %q, %q (probes %+v)", rep.Mapping, rep.Verdict, tc.mapping, tc.verdict, rep.Probes)
			}
			if tc.verdict != netcheck.VerdictBlocked && (!rep.UDP || !rep.IPv4 || len(rep.Public) == 0) {
				t.Fatalf("report %+v: want UDP, IPv4 and a public address", rep)
			}
		})
	}
}
