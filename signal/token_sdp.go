package signal

// Tokens to and from SDP, and pion's example form (docs/PROTOCOL.md §1.6, §1.7).

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// decodePion reads pion's example form (§1.6): standard or URL-safe base64, with or without
// padding, of {"type":"offer"|"answer","sdp":"..."}. A text that gets this far starts like
// base64 JSON; base64 that cannot be complete and JSON that ends early read as truncated, anything
// else wrong (bad characters, other JSON, a type other than offer or answer, an SDP without ICE
// credentials or a sha-256 fingerprint) reads as corrupted.
func decodePion(s string) (Token, error) {
	s = strings.TrimRight(s, "=")
	if e := badCharErr(s, func(c byte) bool { return isBase64URL(c) || c == '+' || c == '/' }); e != nil {
		return Token{}, e
	}
	if len(s)%4 == 1 {
		return Token{}, tokenErr(TokenErrTruncated, msgTruncated)
	}
	s = strings.NewReplacer("-", "+", "_", "/").Replace(s)
	raw, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil { // cannot happen after the checks above
		return Token{}, tokenErr(TokenErrCorrupted, msgBadSDP, "not base64")
	}
	var desc struct {
		Type string `json:"type"`
		SDP  string `json:"sdp"`
	}
	if err := json.Unmarshal(raw, &desc); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) && syn.Offset >= int64(len(raw)) {
			return Token{}, tokenErr(TokenErrTruncated, msgTruncated)
		}
		return Token{}, tokenErr(TokenErrCorrupted, msgBadSDP, "not a session description")
	}
	var kind Kind
	switch desc.Type {
	case "offer":
		kind = Offer
	case "answer":
		kind = Answer
	default:
		return Token{}, tokenErr(TokenErrCorrupted, msgBadSDP, "neither an offer nor an answer")
	}
	t, err := FromSDP(kind, desc.SDP)
	if err != nil {
		return Token{}, tokenErr(TokenErrCorrupted, msgBadSDP, "incomplete session description")
	}
	if len(t.Candidates) > maxCandidates {
		t.Candidates = t.Candidates[:maxCandidates]
	}
	return t, nil
}

// SDP rebuilds the session description the token stands for (§1.7).
func (t Token) SDP() string {
	var b strings.Builder
	b.Grow(512 + 80*len(t.Candidates))
	line := func(s ...string) {
		for _, p := range s {
			b.WriteString(p)
		}
		b.WriteString("\r\n")
	}
	line("v=0")
	line("o=- 1 1 IN IP4 0.0.0.0")
	line("s=-")
	line("t=0 0")
	line("a=group:BUNDLE 0")
	line("m=application 9 UDP/DTLS/SCTP webrtc-datachannel")
	line("c=IN IP4 0.0.0.0")
	line("a=mid:0")
	line("a=ice-ufrag:", t.Ufrag)
	line("a=ice-pwd:", t.Pwd)
	line("a=fingerprint:sha-256 ", fingerprintSDP(t.Fingerprint))
	setup := "actpass"
	if t.Kind == Answer {
		setup = "passive"
		if t.Active {
			setup = "active"
		}
	}
	line("a=setup:", setup)
	line("a=sctp-port:5000")
	line("a=max-message-size:262144")
	for i, c := range t.Candidates {
		prio := c.Type.typePref()<<24 | uint32(65535-i)<<8 | 255
		extra := ""
		if c.Type != Host {
			extra = " raddr 0.0.0.0 rport 0"
		}
		line("a=candidate:", strconv.Itoa(i), " 1 udp ", strconv.FormatUint(uint64(prio), 10), " ",
			c.address(), " ", strconv.Itoa(int(c.Port)), " typ ", c.Type.String(), extra)
	}
	line("a=end-of-candidates")
	return b.String()
}

// fingerprintSDP writes a fingerprint as SDP does: uppercase hex pairs joined by ':'.
func fingerprintSDP(f [32]byte) string {
	const digits = "0123456789ABCDEF"
	b := make([]byte, 0, 3*len(f)-1)
	for i, c := range f {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, digits[c>>4], digits[c&15])
	}
	return string(b)
}

// FromSDP reads a session description (pion's LocalDescription or a browser's) into a token: the
// ICE ufrag and pwd, the sha-256 fingerprint, for answers the setup (active sets Active) and the
// UDP candidates of component 1, in their order, without duplicates (same address and port).
// Media-level attributes of the first media section win over session-level ones. TCP candidates,
// component 2, port 0 and candidates whose address is neither an IP nor a plain host name are
// dropped; IPv6 zones are removed and IPv4-mapped addresses unmapped. The result may have more than
// 16 candidates: the caller chooses which to keep. Role and Summary are left zero.
func FromSDP(kind Kind, sdp string) (Token, error) {
	if kind > Answer {
		return Token{}, fmt.Errorf("signal: reading SDP: kind %d out of range", kind)
	}
	type attrs struct{ ufrag, pwd, fingerprint, setup string }
	var session, media attrs
	cur := &session
	sections := 0
	var cands []Candidate
	type key struct {
		addr netip.Addr
		host string
		port uint16
	}
	seen := map[key]bool{}
	for _, ln := range strings.Split(sdp, "\n") {
		ln = strings.TrimRight(ln, "\r")
		if strings.HasPrefix(ln, "m=") {
			sections++
			if sections == 1 {
				cur = &media
			} else {
				cur = nil // later sections share the bundled transport of the first
			}
			continue
		}
		name, value, ok := strings.Cut(strings.TrimPrefix(ln, "a="), ":")
		if !ok || !strings.HasPrefix(ln, "a=") {
			continue
		}
		if name == "candidate" {
			c, ok := parseCandidate(value)
			if ok {
				k := key{c.Addr, c.Host, c.Port}
				if !seen[k] {
					seen[k] = true
					cands = append(cands, c)
				}
			}
			continue
		}
		if cur == nil {
			continue
		}
		set := func(p *string, v string) {
			if *p == "" {
				*p = strings.TrimSpace(v)
			}
		}
		switch name {
		case "ice-ufrag":
			set(&cur.ufrag, value)
		case "ice-pwd":
			set(&cur.pwd, value)
		case "setup":
			set(&cur.setup, value)
		case "fingerprint":
			hash, fp, _ := strings.Cut(strings.TrimSpace(value), " ")
			if strings.EqualFold(hash, "sha-256") {
				set(&cur.fingerprint, fp)
			}
		}
	}
	pick := func(m, s string) string {
		if m != "" {
			return m
		}
		return s
	}
	t := Token{Kind: kind, Candidates: cands}
	t.Ufrag = pick(media.ufrag, session.ufrag)
	t.Pwd = pick(media.pwd, session.pwd)
	if !validICEString(t.Ufrag, ufragMin, ufragMax) {
		return Token{}, fmt.Errorf("signal: reading SDP: ICE ufrag %q is missing or not 4..32 ice-chars", t.Ufrag)
	}
	if !validICEString(t.Pwd, pwdMin, pwdMax) {
		return Token{}, errors.New("signal: reading SDP: ICE pwd is missing or not 22..64 ice-chars")
	}
	fp, err := parseFingerprint(pick(media.fingerprint, session.fingerprint))
	if err != nil {
		return Token{}, err
	}
	t.Fingerprint = fp
	if kind == Answer {
		t.Active = strings.EqualFold(pick(media.setup, session.setup), "active")
	}
	return t, nil
}

// parseFingerprint reads 32 hex pairs joined by ':'.
func parseFingerprint(s string) ([32]byte, error) {
	var fp [32]byte
	if len(s) != 3*32-1 {
		return fp, errors.New("signal: reading SDP: no sha-256 fingerprint")
	}
	for i := range fp {
		if i > 0 && s[3*i-1] != ':' {
			return fp, errors.New("signal: reading SDP: malformed sha-256 fingerprint")
		}
		if _, err := hex.Decode(fp[i:i+1], []byte(s[3*i:3*i+2])); err != nil {
			return fp, errors.New("signal: reading SDP: malformed sha-256 fingerprint")
		}
	}
	return fp, nil
}

// parseCandidate reads the value of an a=candidate line (RFC 8839 §5.1):
// foundation component transport priority address port "typ" type *(extension).
// It returns false for candidates a token does not carry.
func parseCandidate(v string) (Candidate, bool) {
	f := strings.Fields(v)
	if len(f) < 8 || f[1] != "1" || !strings.EqualFold(f[2], "udp") || f[6] != "typ" {
		return Candidate{}, false
	}
	var c Candidate
	switch f[7] {
	case "host":
		c.Type = Host
	case "srflx":
		c.Type = Srflx
	case "prflx":
		c.Type = Prflx
	case "relay":
		c.Type = Relay
	default:
		return Candidate{}, false
	}
	port, err := strconv.ParseUint(f[5], 10, 16)
	if err != nil || port == 0 {
		return Candidate{}, false
	}
	c.Port = uint16(port)
	if a, err := netip.ParseAddr(f[4]); err == nil {
		c.Addr = a.WithZone("").Unmap()
	} else if validHostName(f[4]) {
		c.Host = f[4]
	} else {
		return Candidate{}, false
	}
	return c, true
}
