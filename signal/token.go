package signal

// Tokens: the short strings two people paste into a chat (docs/PROTOCOL.md §1).

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Kind tells an offer from an answer.
type Kind uint8

// Token kinds (flags bit 0).
const (
	Offer  Kind = 0
	Answer Kind = 1
)

func (k Kind) String() string {
	switch k {
	case Offer:
		return "offer"
	case Answer:
		return "answer"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Role is what the token's author does: send or receive.
type Role uint8

// Roles (flags bits 1-2).
const (
	RoleUnknown  Role = 0
	RoleSender   Role = 1
	RoleReceiver Role = 2
)

func (r Role) String() string {
	switch r {
	case RoleUnknown:
		return "unknown"
	case RoleSender:
		return "sender"
	case RoleReceiver:
		return "receiver"
	}
	return "Role(" + strconv.Itoa(int(r)) + ")"
}

// CandidateType is an ICE candidate type.
type CandidateType uint8

// Candidate types (candidate desc bits 0-1).
const (
	Host  CandidateType = 0
	Srflx CandidateType = 1
	Prflx CandidateType = 2
	Relay CandidateType = 3
)

// String returns the SDP name of the type ("host", "srflx", "prflx", "relay").
func (c CandidateType) String() string {
	switch c {
	case Host:
		return "host"
	case Srflx:
		return "srflx"
	case Prflx:
		return "prflx"
	case Relay:
		return "relay"
	}
	return "CandidateType(" + strconv.Itoa(int(c)) + ")"
}

// typePref is the ICE type preference used to rebuild candidate priorities (§1.7).
func (c CandidateType) typePref() uint32 {
	switch c {
	case Host:
		return 126
	case Prflx:
		return 110
	case Srflx:
		return 100
	}
	return 0
}

// Candidate is one UDP address (ICE component 1) at which the token's author may be reached.
type Candidate struct {
	Type CandidateType
	Addr netip.Addr // valid for IPv4/IPv6 forms
	Host string     // mDNS or other host name when Addr is not valid, e.g. "1f0c...-....local"
	Port uint16
}

// address returns the address as written in SDP.
func (c Candidate) address() string {
	if c.Addr.IsValid() {
		return c.Addr.WithZone("").String()
	}
	return c.Host
}

// usable reports whether a peer could possibly reach the candidate (§1.2 no-candidates).
// Loopback is usable (both peers on one machine), and so is any host name.
func (c Candidate) usable() bool {
	if c.Port == 0 {
		return false
	}
	if !c.Addr.IsValid() {
		return c.Host != ""
	}
	a := c.Addr.Unmap()
	return !a.IsUnspecified() && !a.IsMulticast() && a != netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

// Summary says what the sending side offers, for display before answering (§1.5).
type Summary struct {
	Entries    uint64 // top-level entries: files, directories, streams, text
	TotalBytes uint64 // 0 if unknown
	Name       string // the first entry's name; display text from the peer, strip control characters before printing
}

// Token is the decoded content of a token.
type Token struct {
	Kind   Kind
	Role   Role
	Active bool // answers only: answerer is DTLS client (a=setup:active)
	// SymmetricNAT says the author's own NAT check found a NAT that maps per destination
	// (symmetric); false means not found so, or not checked. It only names the cause when no
	// connection can be made.
	SymmetricNAT bool
	Ufrag, Pwd   string
	Fingerprint  [32]byte // sha-256 of the DTLS certificate
	// Rendezvous is the offer's rendezvous secret (flags bit 6): nil, or RendezvousSize random
	// bytes from which the answerer derives the keys that seal its answer, so that the answer can
	// come back without a paste (docs/PROTOCOL.md §4). Only offers carry one.
	Rendezvous []byte
	// Acks says the answer's author reads acknowledgements (flags bit 6 in an answer, §1.3, §4.4):
	// a p2pcopy CLI that answered an offer with a rendezvous secret sets it, the web page never
	// does. The offerer acknowledges exactly the answers that carry it, however they arrived, so
	// that a browser never gets a packet outside standard WebRTC. Only answers carry it.
	Acks       bool
	Candidates []Candidate
	Summary    *Summary // nil if absent
}

// TokenPrefix starts every token of this format version.
const TokenPrefix = "p2pc1."

// Limits of the binary body (§1.3-§1.5).
const (
	ufragMin, ufragMax = 4, 32
	pwdMin, pwdMax     = 22, 64
	maxCandidates      = 16
	maxSummaryName     = 40
)

// RendezvousSize is the length of an offer's rendezvous secret: 128 bits, so that nobody can guess
// it, while the offer grows by only 22 characters.
const RendezvousSize = 16

// Flag bits (§1.3).
const (
	flagAnswer     = 1 << 0
	flagRoleMask   = 3 << 1
	flagActive     = 1 << 3
	flagSummary    = 1 << 4
	flagSymmetric  = 1 << 5
	flagRendezvous = 1 << 6 // offers: a rendezvous secret follows the fingerprint
	flagAcks       = 1 << 6 // answers: the author reads acknowledgements; no bytes follow
	flagReserved   = 1 << 7
)

// Candidate address forms (§1.4).
const (
	formIPv4 = 0
	formIPv6 = 1
	formMDNS = 2
	formName = 3
)

func isICEChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '/'
}

// validICEString reports whether s has min..max ice-chars (RFC 8839).
func validICEString(s string, min, max int) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isICEChar(s[i]) {
			return false
		}
	}
	return true
}

// validHostName reports whether s may be carried as an "other host name" (form 3): 1..255 bytes
// of letters, digits, '-', '.' and '_', and not an IP address (those have their own forms). The
// character set also keeps anything that could break the rebuilt SDP out of it.
func validHostName(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	_, err := netip.ParseAddr(s)
	return err != nil
}

// mdnsUUID returns the 16 bytes of an mDNS candidate name "<uuid>.local" written exactly as form 2
// prints it (lowercase 8-4-4-4-12), and false for any other name.
func mdnsUUID(s string) ([16]byte, bool) {
	var u [16]byte
	if len(s) != 36+len(".local") || !strings.HasSuffix(s, ".local") {
		return u, false
	}
	j := 0
	for i := 0; i < 36; {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if s[i] != '-' {
				return u, false
			}
			i++
			continue
		}
		hi, ok1 := lowerHex(s[i])
		lo, ok2 := lowerHex(s[i+1])
		if !ok1 || !ok2 {
			return u, false
		}
		u[j] = hi<<4 | lo
		j++
		i += 2
	}
	return u, true
}

func lowerHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

func formatMDNS(u [16]byte) string {
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32] + ".local"
}

// summaryName makes a display name fit the token: valid UTF-8, at most 40 bytes, cut at a rune
// boundary.
func summaryName(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= maxSummaryName {
		return s
	}
	n := maxSummaryName
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Check makes the application checks of §1.2 on a decoded token, in this order: the reader's own
// token pasted back (own-token, skipped when myFingerprint is all zero), a token of the wrong kind
// (want is the kind the reader expects), both sides sending or both receiving (same-role;
// RoleUnknown never conflicts) and a token without a usable candidate (no-candidates). The error
// is a *TokenError.
func (t Token) Check(want Kind, myRole Role, myFingerprint [32]byte) error {
	if myFingerprint != ([32]byte{}) && t.Fingerprint == myFingerprint {
		return tokenErr(TokenErrOwnToken, msgOwnToken)
	}
	if t.Kind != want {
		if t.Kind == Answer {
			return tokenErr(TokenErrWrongKind, msgAnswerNotOffer)
		}
		return tokenErr(TokenErrWrongKind, msgOfferNotAnswer)
	}
	if t.Role != RoleUnknown && t.Role == myRole {
		if t.Role == RoleSender {
			return tokenErr(TokenErrSameRole, msgBothSend)
		}
		return tokenErr(TokenErrSameRole, msgBothReceive)
	}
	for _, c := range t.Candidates {
		if c.usable() {
			return nil
		}
	}
	return tokenErr(TokenErrNoCandidates, msgNoCandidates)
}

// VerificationCode is the code both sides show (§1.8): equal codes mean nobody sits in the
// middle. a and b are the two DTLS fingerprints, in either order.
func VerificationCode(a, b [32]byte) string {
	if bytes.Compare(a[:], b[:]) > 0 {
		a, b = b, a
	}
	h := sha256.New()
	h.Write([]byte("p2pcopy-verify-v1"))
	h.Write(a[:])
	h.Write(b[:])
	n := binary.BigEndian.Uint32(h.Sum(nil)) % 1000000
	return fmt.Sprintf("%03d-%03d", n/1000, n%1000)
}
