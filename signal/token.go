package signal

// Tokens: the short strings two people paste into a chat (docs/PROTOCOL.md §1).

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"net/netip"
	"strconv"
	"strings"
	"unicode"
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
	Candidates   []Candidate
	Summary      *Summary // nil if absent
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

// Flag bits (§1.3).
const (
	flagAnswer    = 1 << 0
	flagRoleMask  = 3 << 1
	flagActive    = 1 << 3
	flagSummary   = 1 << 4
	flagSymmetric = 1 << 5
	flagReserved  = 3 << 6
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

// Encode writes the token as text. It fails only for fields a token cannot carry: a kind, role or
// candidate type out of range, an offer marked Active, ufrag/pwd of the wrong length or with
// characters other than ice-chars, more than 16 candidates, a candidate with neither or both of
// Addr and Host, or a host name that is not a plain DNS name. The summary name is cut to 40 bytes
// at a rune boundary (invalid UTF-8 becomes U+FFFD first).
func (t Token) Encode() (string, error) {
	body, err := t.body()
	if err != nil {
		return "", err
	}
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(body), nil
}

// body returns the binary body including the CRC.
func (t Token) body() ([]byte, error) {
	if t.Kind > Answer {
		return nil, fmt.Errorf("signal: encode token: kind %d out of range", t.Kind)
	}
	if t.Role > RoleReceiver {
		return nil, fmt.Errorf("signal: encode token: role %d out of range", t.Role)
	}
	if t.Kind == Offer && t.Active {
		return nil, errors.New("signal: encode token: an offer cannot be active (a=setup:active is an answer's)")
	}
	if !validICEString(t.Ufrag, ufragMin, ufragMax) {
		return nil, fmt.Errorf("signal: encode token: ICE ufrag %q is not 4..32 ice-chars", t.Ufrag)
	}
	if !validICEString(t.Pwd, pwdMin, pwdMax) {
		return nil, errors.New("signal: encode token: ICE pwd is not 22..64 ice-chars")
	}
	if len(t.Candidates) > maxCandidates {
		return nil, fmt.Errorf("signal: encode token: %d candidates, at most %d fit", len(t.Candidates), maxCandidates)
	}
	b := make([]byte, 0, 128)
	flags := byte(t.Kind) | byte(t.Role)<<1
	if t.Active {
		flags |= flagActive
	}
	if t.Summary != nil {
		flags |= flagSummary
	}
	if t.SymmetricNAT {
		flags |= flagSymmetric
	}
	b = append(b, flags, byte(len(t.Ufrag)))
	b = append(b, t.Ufrag...)
	b = append(b, byte(len(t.Pwd)))
	b = append(b, t.Pwd...)
	b = append(b, t.Fingerprint[:]...)
	b = append(b, byte(len(t.Candidates)))
	for i, c := range t.Candidates {
		if c.Type > Relay {
			return nil, fmt.Errorf("signal: encode token: candidate %d: type %d out of range", i, c.Type)
		}
		desc := byte(c.Type)
		switch {
		case c.Addr.IsValid() && c.Host != "":
			return nil, fmt.Errorf("signal: encode token: candidate %d has both an address and a host name", i)
		case c.Addr.Is4():
			b = append(b, desc|formIPv4<<2)
			a := c.Addr.As4()
			b = append(b, a[:]...)
		case c.Addr.Is6():
			b = append(b, desc|formIPv6<<2)
			a := c.Addr.As16()
			b = append(b, a[:]...)
		default:
			if u, ok := mdnsUUID(c.Host); ok {
				b = append(b, desc|formMDNS<<2)
				b = append(b, u[:]...)
			} else if validHostName(c.Host) {
				b = append(b, desc|formName<<2, byte(len(c.Host)))
				b = append(b, c.Host...)
			} else {
				return nil, fmt.Errorf("signal: encode token: candidate %d: host name %q is not a plain DNS name", i, c.Host)
			}
		}
		b = binary.BigEndian.AppendUint16(b, c.Port)
	}
	if s := t.Summary; s != nil {
		name := summaryName(s.Name)
		b = binary.AppendUvarint(b, s.Entries)
		b = binary.AppendUvarint(b, s.TotalBytes)
		b = append(b, byte(len(name)))
		b = append(b, name...)
	}
	return binary.BigEndian.AppendUint32(b, tokenCRC(b)), nil
}

// tokenCRC is the CRC-32 (IEEE) of "p2pc1." followed by the body bytes before the checksum.
func tokenCRC(body []byte) uint32 {
	return crc32.Update(crc32.ChecksumIEEE([]byte(TokenPrefix)), crc32.IEEETable, body)
}

// splitVersion recognizes "p2pc<digits>." and returns the digits and what follows the dot.
func splitVersion(s string) (version, rest string, ok bool) {
	const p = "p2pc"
	if !strings.HasPrefix(s, p) {
		return "", "", false
	}
	i := len(p)
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	if i == len(p) || i == len(s) || s[i] != '.' {
		return "", "", false
	}
	return s[len(p):i], s[i+1:], true
}

func isBase64URL(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

// base64Len is the length of the unpadded base64 text of n bytes.
func base64Len(n int) int { return n/3*4 + [3]int{0, 2, 3}[n%3] }

// badCharErr reports the first character of payload that is not in the alphabet (ok returns
// whether a byte belongs to it).
func badCharErr(payload string, ok func(byte) bool) *TokenError {
	for i := 0; i < len(payload); i++ {
		if ok(payload[i]) {
			continue
		}
		if payload[i] == '.' {
			j := i
			for j > 0 && '0' <= payload[j-1] && payload[j-1] <= '9' {
				j--
			}
			if j < i && strings.HasSuffix(payload[:j], "p2pc") {
				return tokenErr(TokenErrCorrupted, msgTwoTokens)
			}
		}
		r, _ := utf8.DecodeRuneInString(payload[i:])
		return tokenErr(TokenErrCorrupted, msgBadChar, quoteChar(r))
	}
	return nil
}

// quoteChar shows a character to a person: 'x', or its code point when it is invisible.
func quoteChar(r rune) string {
	if r == utf8.RuneError {
		return "an invalid character"
	}
	if unicode.IsGraphic(r) {
		return "the character '" + string(r) + "'"
	}
	return fmt.Sprintf("the invisible character U+%04X", r)
}

// readBinary decodes the payload of a "p2pc1." token. With the token it returns its body (fields
// and checksum). Whenever the fields are complete, size is the number of payload characters they
// and the checksum take, also when the token is refused: a reader of pasted text uses it to tell
// the token from what follows it (§1.2).
func readBinary(payload string) (t Token, body []byte, size int, e *TokenError) {
	if e := badCharErr(payload, isBase64URL); e != nil {
		return Token{}, nil, 0, e
	}
	chars := len(TokenPrefix) + len(payload)
	// A length of 4k+1 characters cannot be base64: the last character carries no whole byte.
	// Decode the rest; the extra character then counts as trailing data or as a cut.
	dangling := len(payload)%4 == 1
	if dangling {
		payload = payload[:len(payload)-1]
	}
	body, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil { // cannot happen after the checks above
		return Token{}, nil, 0, tokenErr(TokenErrCorrupted, msgChecksum)
	}
	r := bodyReader{b: body}
	t, end := r.token()
	if r.short {
		need := max(len(TokenPrefix)+base64Len(r.need+4), chars+1)
		return Token{}, nil, 0, tokenErr(TokenErrTruncated, msgTruncatedCount, chars, need)
	}
	if len(body) < end+4 {
		need := max(len(TokenPrefix)+base64Len(end+4), chars+1)
		return Token{}, nil, 0, tokenErr(TokenErrTruncated, msgTruncatedCount, chars, need)
	}
	size = base64Len(end + 4)
	if binary.BigEndian.Uint32(body[end:]) != tokenCRC(body[:end]) {
		return Token{}, nil, size, tokenErr(TokenErrCorrupted, msgChecksum)
	}
	if len(body) > end+4 || dangling {
		return Token{}, nil, size, tokenErr(TokenErrCorrupted, msgTrailing)
	}
	if r.invalid != "" {
		return Token{}, nil, size, tokenErr(TokenErrCorrupted, msgBadContents, r.invalid)
	}
	return t, body, size, nil
}

// bodyReader reads the fields of a body. The first pass finds where the fields end; a body that
// ends too early sets short (with need, the bytes needed so far); a field with a value outside its
// range records the first such problem in invalid and reading goes on, so that a cut or a
// checksum mismatch is reported first, in the order of §1.2.
type bodyReader struct {
	b       []byte
	off     int
	short   bool
	need    int
	invalid string
}

func (r *bodyReader) bad(why string) {
	if r.invalid == "" {
		r.invalid = why
	}
}

// next returns the next n bytes, or nil (and sets short) when the body ends first.
func (r *bodyReader) next(n int) []byte {
	if r.short {
		return nil
	}
	if len(r.b)-r.off < n {
		r.short = true
		r.need = r.off + n
		return nil
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	return p
}

func (r *bodyReader) byte1() byte {
	if p := r.next(1); p != nil {
		return p[0]
	}
	return 0
}

func (r *bodyReader) str8() string {
	n := r.byte1()
	return string(r.next(int(n)))
}

// uvarint reads an unsigned LEB128 of at most 10 bytes.
func (r *bodyReader) uvarint() uint64 {
	var v uint64
	for i := 0; i < binary.MaxVarintLen64; i++ {
		c := r.byte1()
		if r.short {
			return 0
		}
		if i == binary.MaxVarintLen64-1 && c > 1 {
			if c&0x80 != 0 {
				// All ten bytes say "more follows". Read on as if the number ended here.
				r.bad("a number too long")
				return v
			}
			r.bad("a number too large") // more than 64 bits
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v
		}
	}
	return v // not reached: the tenth byte ends the loop above
}

// token reads all fields and returns the token and the offset where the checksum starts.
func (r *bodyReader) token() (Token, int) {
	var t Token
	flags := r.byte1()
	if flags&flagReserved != 0 {
		r.bad("reserved flag bits set")
	}
	t.Kind = Kind(flags & flagAnswer)
	t.Role = Role(flags & flagRoleMask >> 1)
	if t.Role > RoleReceiver {
		r.bad("unknown role")
	}
	t.Active = flags&flagActive != 0
	t.SymmetricNAT = flags&flagSymmetric != 0
	if t.Active && t.Kind == Offer {
		r.bad("an active offer")
	}
	t.Ufrag = r.str8()
	if !r.short && !validICEString(t.Ufrag, ufragMin, ufragMax) {
		r.bad("bad ICE user name")
	}
	t.Pwd = r.str8()
	if !r.short && !validICEString(t.Pwd, pwdMin, pwdMax) {
		r.bad("bad ICE password")
	}
	copy(t.Fingerprint[:], r.next(32))
	n := int(r.byte1())
	if n > maxCandidates {
		r.bad("too many addresses")
	}
	for i := 0; i < n && !r.short; i++ {
		c, ok := r.candidate()
		if ok && len(t.Candidates) < maxCandidates {
			t.Candidates = append(t.Candidates, c)
		}
	}
	if flags&flagSummary != 0 {
		var s Summary
		s.Entries = r.uvarint()
		s.TotalBytes = r.uvarint()
		s.Name = r.str8()
		if !r.short && (len(s.Name) > maxSummaryName || !utf8.ValidString(s.Name)) {
			r.bad("bad summary name")
		}
		t.Summary = &s
	}
	return t, r.off
}

func (r *bodyReader) candidate() (Candidate, bool) {
	var c Candidate
	desc := r.byte1()
	if desc&0xf0 != 0 {
		r.bad("reserved address bits set")
	}
	c.Type = CandidateType(desc & 3)
	switch desc >> 2 & 3 {
	case formIPv4:
		if p := r.next(4); p != nil {
			c.Addr = netip.AddrFrom4([4]byte(p))
		}
	case formIPv6:
		if p := r.next(16); p != nil {
			c.Addr = netip.AddrFrom16([16]byte(p))
		}
	case formMDNS:
		if p := r.next(16); p != nil {
			c.Host = formatMDNS([16]byte(p))
		}
	case formName:
		c.Host = r.str8()
		if !r.short && !validHostName(c.Host) {
			r.bad("bad host name")
		}
	}
	if p := r.next(2); p != nil {
		c.Port = binary.BigEndian.Uint16(p)
	}
	return c, !r.short
}

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
