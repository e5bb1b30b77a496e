//go:build linux

package netlab

import (
	"fmt"
	"net/netip"
	"strings"
)

// NAT is the behaviour of the router in front of a host, in RFC 4787 terms.
type NAT int

const (
	// FullCone: endpoint-independent mapping and endpoint-independent filtering.
	// Built with snat plus a dnat of every inbound packet on a mapped port back to
	// the internal endpoint that owns the mapping.
	FullCone NAT = iota + 1
	// AddressRestricted: endpoint-independent mapping, address-dependent filtering.
	// Stock nftables has no such NAT mode; the lab builds it with snat plus a
	// dynamic map filled from outbound packets (remote address . mapped port ->
	// internal endpoint) that dnats inbound packets from a contacted address, any
	// port. Measured by TestNATBehaviour.
	AddressRestricted
	// PortRestricted: endpoint-independent mapping, address-and-port-dependent
	// filtering (plain nftables masquerade, which keeps ports when it can).
	PortRestricted
	// Symmetric: endpoint-dependent mapping and address-and-port-dependent
	// filtering (masquerade random).
	Symmetric
	// None: no NAT; the host sits directly on the internet with a public address.
	None
)

func (n NAT) String() string {
	switch n {
	case FullCone:
		return "full-cone"
	case AddressRestricted:
		return "address-restricted"
	case PortRestricted:
		return "port-restricted"
	case Symmetric:
		return "symmetric"
	case None:
		return "public"
	}
	return fmt.Sprintf("NAT(%d)", int(n))
}

// natRules is the nftables ruleset of a router whose WAN interface is "wan"
// with address wan. Common to all kinds: unsolicited packets to the router
// itself are dropped silently on the WAN side (an ICMP port-unreachable would
// create conntrack entries that clash with hole-punched mappings, DESIGN.md §6).
func natRules(kind NAT, wan netip.Addr) (string, error) {
	var sets, pre, post, track string
	switch kind {
	case FullCone:
		// Key: protocol . mapped port. Only original-direction packets update
		// the map, so replies on inbound-initiated flows cannot overwrite it.
		sets = `map cone { type inet_proto . inet_service : ipv4_addr . inet_service; flags dynamic, timeout; timeout 180s; }`
		pre = `iifname "wan" meta l4proto { tcp, udp } dnat ip to meta l4proto . th dport map @cone`
		post = fmt.Sprintf(`oifname "wan" snat ip to %s`, wan)
		track = `oifname "wan" ct direction original meta l4proto { tcp, udp } update @cone { meta l4proto . th sport : ct original ip saddr . ct original proto-src }`
	case AddressRestricted:
		sets = `map seen { type inet_proto . ipv4_addr . inet_service : ipv4_addr . inet_service; flags dynamic, timeout; timeout 180s; }`
		pre = `iifname "wan" meta l4proto { tcp, udp } dnat ip to meta l4proto . ip saddr . th dport map @seen`
		post = fmt.Sprintf(`oifname "wan" snat ip to %s`, wan)
		track = `oifname "wan" ct direction original meta l4proto { tcp, udp } update @seen { meta l4proto . ip daddr . th sport : ct original ip saddr . ct original proto-src }`
	case PortRestricted:
		post = `oifname "wan" masquerade`
	case Symmetric:
		post = `oifname "wan" masquerade random`
	default:
		return "", fmt.Errorf("netlab: no router for NAT kind %v", kind)
	}
	var b strings.Builder
	b.WriteString("table ip netlab {\n")
	if sets != "" {
		b.WriteString("\t" + sets + "\n")
	}
	b.WriteString("\tchain pre {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n")
	if pre != "" {
		b.WriteString("\t\t" + pre + "\n")
	}
	b.WriteString("\t}\n")
	b.WriteString("\tchain post {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n\t\t" + post + "\n\t}\n")
	if track != "" {
		// Priority 300: after srcnat, so th sport is the mapped port.
		b.WriteString("\tchain track {\n\t\ttype filter hook postrouting priority 300; policy accept;\n\t\t" + track + "\n\t}\n")
	}
	b.WriteString("\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t\tiifname \"wan\" ct state new,invalid drop\n\t}\n")
	b.WriteString("}\n")
	return b.String(), nil
}
