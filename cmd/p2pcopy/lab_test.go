package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/p2pcopy/p2pcopy/internal/netlab"
	"github.com/p2pcopy/p2pcopy/signal/netcheck"
)

// TestNATVerdictsInLab runs the built "p2pcopy nat" inside hosts behind real kernel NATs
// (network namespaces and nftables) and asserts the mapping and the verdict for every kind.
func TestNATVerdictsInLab(t *testing.T) {
	lab := netlab.New(t) // skips outside CI without root; fails in CI if it cannot run
	bin := binary(t)
	stun := lab.StartSTUN(t)
	cases := []struct {
		nat     netlab.NAT
		mapping netcheck.Mapping
		verdict string
	}{
		{netlab.None, netcheck.MappingNone, netcheck.VerdictPublic},
		{netlab.FullCone, netcheck.MappingIndependent, netcheck.VerdictEIM},
		{netlab.AddressRestricted, netcheck.MappingIndependent, netcheck.VerdictEIM},
		{netlab.PortRestricted, netcheck.MappingIndependent, netcheck.VerdictEIM},
		{netlab.Symmetric, netcheck.MappingDependent, netcheck.VerdictSymmetric},
	}
	for _, tc := range cases {
		t.Run(tc.nat.String(), func(t *testing.T) {
			h := lab.AddHost(t, tc.nat)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := h.Command(ctx, bin, "nat", "--json", "--stun", stun[0], "--stun", stun[1])
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("p2pcopy nat: %v\n%s", err, out)
			}
			var ev struct {
				Report netcheck.Report
			}
			if err := json.Unmarshal([]byte(strings.TrimSpace(string(out))), &ev); err != nil {
				t.Fatalf("--json output does not parse: %v\n%s", err, out)
			}
			r := ev.Report
			t.Logf("%s: mapping %s, public %v", tc.nat, r.Mapping, r.Public)
			if !r.UDP || r.Mapping != tc.mapping || r.Verdict != tc.verdict {
				t.Fatalf("udp %v, mapping %q, verdict %q; want %q, %q\n%s", r.UDP, r.Mapping, r.Verdict, tc.mapping, tc.verdict, out)
			}
		})
	}
}
