package signal

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/pion/transport/v5"
	"github.com/pion/webrtc/v4"
)

// DefaultSTUNServers are the public STUN servers asked in parallel for the public address when the
// user names none. They only reflect an address back; no data passes through them.
func DefaultSTUNServers() []string {
	return []string{
		"stun:stun.l.google.com:19302",
		"stun:stun.cloudflare.com:3478",
	}
}

// Config says how a Peer reaches the network.
type Config struct {
	// STUN lists stun:/stuns: URLs. Empty means DefaultSTUNServers unless NoSTUN is set.
	STUN []string
	// NoSTUN gathers host candidates only (same LAN), plus relays from TURN.
	NoSTUN bool
	// TURN lists relays in the form turn:USER:PASS@HOST:PORT[?transport=tcp] (or turns:).
	TURN []string
	// GatherTimeout bounds candidate gathering; zero means 3 s.
	GatherTimeout time.Duration
	// Net replaces the system network (pion's vnet in tests). Nil means the real network, with
	// UDP socket buffers enlarged so bursts at high rates are not dropped.
	Net transport.Net
	// DisableUDPOffload turns off what the real network (Net nil) does by default where the
	// kernel supports it (Linux ≥ 4.18 and 5.0): bursts of datagrams leave as one segmented send
	// (UDP GSO) and coalesced ones are read whole (UDP GRO) — fewer trips through the kernel's
	// UDP stack per byte (make bench, docs/BENCHMARKS.md: a third less CPU per GB on loopback).
	DisableUDPOffload bool
	// IncludeLoopback adds 127.0.0.1 host candidates (two peers in one loopback-only namespace).
	IncludeLoopback bool
	// DisableMDNS stops resolving peers' .local candidates (networks without multicast, e.g. vnet).
	DisableMDNS bool
	// BrowserPeer says the peer is expected to be a web browser (the page): it is then never
	// taken for a CLI, so SCTP keeps pion's gentle congestion settings, since the long-fat-link
	// ones overflow Chromium's UDP socket on fast paths (see tuning.go). Without it the peer's
	// token decides.
	BrowserPeer bool
	// StallTimeout is how long a connection may carry no packets at all (a Wi-Fi blip, a network
	// change) before it is given up; zero means DefaultStallTimeout.
	StallTimeout time.Duration
	// Role is what this side does with files; it is written into the token so that two senders or
	// two receivers are told so before they try to connect.
	Role Role
	// Summary of what is offered, written into the sender's token.
	Summary *Summary
	// Rendezvous puts a fresh rendezvous secret into the offer, so that the answer can come
	// back without a paste (docs/PROTOCOL.md §4): the offerer then listens for it on its ICE
	// sockets (Peer.DirectAnswer). The web page reads such offers and ignores the secret: a
	// browser can use neither path, and its answer comes back pasted as before.
	Rendezvous bool
}

// acceptanceWait is how long the controlling side waits for a host pair before it nominates a
// working reflexive (NAT) pair.
const acceptanceWait = 150 * time.Millisecond

// DefaultStallTimeout is how long an established connection may be silent before it fails.
const DefaultStallTimeout = 30 * time.Second

// iceTimeouts derives pion's ICE timers from the stall timeout: "disconnected" after a few silent
// seconds (keep-alives every second make that quick to notice), "failed" once the whole stall
// timeout has passed without a packet.
func (c Config) iceTimeouts() (disconnected, failed, keepalive time.Duration) {
	stall := c.stallTimeout()
	disconnected = min(5*time.Second, stall/2)
	return disconnected, stall - disconnected, time.Second
}

func (c Config) stallTimeout() time.Duration {
	if c.StallTimeout <= 0 {
		return DefaultStallTimeout
	}
	return c.StallTimeout
}

func (c Config) gatherTimeout() time.Duration {
	if c.GatherTimeout <= 0 {
		return 3 * time.Second
	}
	return c.GatherTimeout
}

// iceServers turns the STUN and TURN settings into pion's form.
func (c Config) iceServers() ([]webrtc.ICEServer, error) {
	var servers []webrtc.ICEServer
	if !c.NoSTUN {
		stun := c.STUN
		if len(stun) == 0 {
			stun = DefaultSTUNServers()
		}
		for _, s := range stun {
			u, err := ParseSTUN(s)
			if err != nil {
				return nil, err
			}
			servers = append(servers, webrtc.ICEServer{URLs: []string{u}})
		}
	}
	for _, t := range c.TURN {
		s, err := ParseTURN(t)
		if err != nil {
			return nil, err
		}
		servers = append(servers, s)
	}
	return servers, nil
}

// ParseSTUN accepts "stun:HOST[:PORT]", "stuns:HOST[:PORT]" or a bare "HOST[:PORT]" and returns the
// URL form pion expects.
func ParseSTUN(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "stun:") && !strings.HasPrefix(s, "stuns:") {
		s = "stun:" + s
	}
	scheme, hostport, _ := strings.Cut(s, ":")
	if hostport == "" || strings.ContainsAny(hostport, "@/?") {
		return "", fmt.Errorf("bad STUN server %q: write it as stun:HOST:PORT", s)
	}
	if _, _, err := net.SplitHostPort(hostport); err != nil {
		hostport = net.JoinHostPort(hostport, "3478")
	}
	return scheme + ":" + hostport, nil
}

// ParseTURN parses "turn:USER:PASS@HOST:PORT[?transport=udp|tcp]" (or turns:) into an ICE server.
func ParseTURN(s string) (webrtc.ICEServer, error) {
	s = strings.TrimSpace(s)
	usage := fmt.Errorf("bad TURN server %q: write it as turn:USER:PASS@HOST:PORT (or turns:..., add ?transport=tcp for TCP)", redactTURN(s))
	scheme, rest, ok := strings.Cut(s, ":")
	if !ok || (scheme != "turn" && scheme != "turns") {
		return webrtc.ICEServer{}, usage
	}
	rest, query, _ := strings.Cut(rest, "?")
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return webrtc.ICEServer{}, usage
	}
	userPass, hostport := rest[:at], rest[at+1:]
	user, pass, ok := strings.Cut(userPass, ":")
	if !ok || user == "" || hostport == "" {
		return webrtc.ICEServer{}, usage
	}
	if u, err := url.PathUnescape(user); err == nil {
		user = u
	}
	if p, err := url.PathUnescape(pass); err == nil {
		pass = p
	}
	if _, _, err := net.SplitHostPort(hostport); err != nil {
		port := "3478"
		if scheme == "turns" {
			port = "5349"
		}
		hostport = net.JoinHostPort(hostport, port)
	}
	u := scheme + ":" + hostport
	if query != "" {
		q, err := url.ParseQuery(query)
		if err != nil || (q.Get("transport") != "udp" && q.Get("transport") != "tcp") {
			return webrtc.ICEServer{}, usage
		}
		u += "?transport=" + q.Get("transport")
	}
	return webrtc.ICEServer{URLs: []string{u}, Username: user, Credential: pass}, nil
}

// redactTURN hides the password of a TURN URL (turn:USER:PASS@HOST) for an error message: the
// message is printed, logged and pasted into chats and issue trackers.
func redactTURN(s string) string {
	at := strings.LastIndex(s, "@")
	if at < 0 {
		return s
	}
	scheme, userinfo, ok := strings.Cut(s[:at], ":")
	if !ok {
		return s
	}
	user, _, ok := strings.Cut(userinfo, ":")
	if !ok {
		return s
	}
	return scheme + ":" + user + ":***" + s[at:]
}
