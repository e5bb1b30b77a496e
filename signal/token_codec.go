package signal

// The binary body and text form of a token (docs/PROTOCOL.md §1.1, §1.3–§1.5).

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Encode writes the token as text. It fails only for fields a token cannot carry: a kind, role or
// candidate type out of range, an offer marked Active, ufrag/pwd of the wrong length or with
// characters other than ice-chars, a rendezvous secret in an answer or not of RendezvousSize
// bytes, Acks in an offer, more than 16 candidates, a candidate with neither or both of
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
	if t.Rendezvous != nil && (t.Kind != Offer || len(t.Rendezvous) != RendezvousSize) {
		return nil, fmt.Errorf("signal: encode token: a rendezvous secret must be %d bytes in an offer (got %d bytes in an %s)", RendezvousSize, len(t.Rendezvous), t.Kind)
	}
	if t.Acks && t.Kind != Answer {
		return nil, errors.New("signal: encode token: only an answer says it reads acknowledgements")
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
	if t.Rendezvous != nil {
		flags |= flagRendezvous
	}
	if t.Acks {
		flags |= flagAcks
	}
	b = append(b, flags, byte(len(t.Ufrag)))
	b = append(b, t.Ufrag...)
	b = append(b, byte(len(t.Pwd)))
	b = append(b, t.Pwd...)
	b = append(b, t.Fingerprint[:]...)
	b = append(b, t.Rendezvous...)
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

// decodeBody reads a binary body with its checksum (what a sealed answer carries, §4.3): the
// same checks as a pasted token, without the text around it. The error is a *TokenError.
func decodeBody(body []byte) (Token, error) {
	r := bodyReader{b: body}
	t, end := r.token()
	switch {
	case r.short || len(body) < end+4:
		return Token{}, tokenErr(TokenErrTruncated, msgTruncated)
	case binary.BigEndian.Uint32(body[end:]) != tokenCRC(body[:end]):
		return Token{}, tokenErr(TokenErrCorrupted, msgChecksum)
	case len(body) > end+4:
		return Token{}, tokenErr(TokenErrCorrupted, msgTrailing)
	case r.invalid != "":
		return Token{}, tokenErr(TokenErrCorrupted, msgBadContents, r.invalid)
	}
	return t, nil
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
	switch {
	case t.Kind == Answer:
		t.Acks = flags&flagAcks != 0
	case flags&flagRendezvous != 0:
		if p := r.next(RendezvousSize); p != nil {
			t.Rendezvous = bytes.Clone(p)
		}
	}
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
