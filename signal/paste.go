package signal

// Reading a pasted token (docs/PROTOCOL.md §1.2): what chat and mail programs do to a line of text.

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits of the work Decode does on one paste.
const (
	// maxPasteBytes: only the first 64 KiB of a paste are read (cut at a character boundary).
	maxPasteBytes = 64 << 10
	// maxTokenChars: a token's characters after its prefix are followed at most this far; the
	// longest token (16 candidates with 255-byte host names, a summary) has 5788.
	maxTokenChars = 8192
	// minCaseCheck: a refused payload this long without capital letters, starting with a small
	// letter, had its letters' case changed (a token's first character is one of A..P).
	minCaseCheck = 16
)

// Decode reads a pasted token, forgiving about what chat and mail programs do to text and strict
// about the content (§1.2): the token may be anywhere inside the text, with a sender's name and
// time around it, inside a sentence or a link, quoted, wrapped, or encoded by a mail program. It
// also accepts pion's example form (§1.6) pasted alone. Errors are *TokenError; their messages are
// meant for the person who pasted the text. Decode only checks the form: call Token.Check for
// what the token means to the reader.
func Decode(text string) (Token, error) {
	text = capPaste(text)
	if c := stripPaste(text); strings.HasPrefix(c, "{") {
		text = tokenFromJSON(c)
	}
	text = unwrapPaste(text)
	var (
		tok   Token
		key   string
		found bool
		best  *pasteCandidate
	)
	cands := scanPaste(text)
	for i := range cands {
		c := &cands[i]
		switch {
		case c.err == nil && found && c.key != key:
			return Token{}, tokenErr(TokenErrCorrupted, msgTwoDifferent)
		case c.err == nil:
			tok, key, found = c.tok, c.key, true
		case best == nil || len(c.payload) > len(best.payload):
			best = c
		}
	}
	if found {
		return tok, nil
	}
	t, err, payload, whole := decodeWhole(text)
	if err == nil {
		return t, nil
	}
	switch {
	case !whole && best != nil:
		err, payload = best.err, best.payload
	case !whole && err.Kind == TokenErrNotAToken && linkProtected(text):
		err = tokenErr(TokenErrNotAToken, msgLinkProtected)
	}
	return Token{}, caseChanged(err, payload)
}

// capPaste keeps the first maxPasteBytes of s, cut at a character boundary.
func capPaste(s string) string {
	if len(s) <= maxPasteBytes {
		return s
	}
	n := maxPasteBytes
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

var (
	qpSoftBreaks    = strings.NewReplacer("=\r\n", "", "=\n", "", "=3D", "=")
	htmlEntity      = regexp.MustCompile(`&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|amp|lt|gt|quot|apos|nbsp|shy);`)
	proofpointV2URL = regexp.MustCompile(`urldefense(?:\.proofpoint)?\.com/v2/url\?u=[A-Za-z0-9._~-]+`)
	proofpointChars = strings.NewReplacer("-", "%", "_", "/")
)

// unwrapPaste undoes, in this order, what mail programs do to the text around a token (§1.2):
// quoted-printable soft line breaks and =3D, HTML character references, Proofpoint URL Defense
// v2's encoding of its u= parameter, and percent-encoding of ASCII characters (up to three
// times, for links wrapped in links). None of these touches a bare token.
func unwrapPaste(s string) string {
	if strings.Contains(s, "=") {
		s = qpSoftBreaks.Replace(s)
	}
	if strings.Contains(s, "&") {
		s = htmlEntity.ReplaceAllStringFunc(s, htmlChar)
	}
	if strings.Contains(s, "/v2/url?u=") {
		s = proofpointV2URL.ReplaceAllStringFunc(s, func(m string) string {
			i := strings.Index(m, "?u=") + len("?u=")
			return m[:i] + proofpointChars.Replace(m[i:])
		})
	}
	for range 3 {
		d := percentDecode(s)
		if d == s {
			break
		}
		s = d
	}
	return s
}

// htmlChar returns the character an HTML character reference stands for (m unchanged when it
// names none).
func htmlChar(m string) string {
	name := m[1 : len(m)-1]
	switch name {
	case "amp":
		return "&"
	case "lt":
		return "<"
	case "gt":
		return ">"
	case "quot":
		return `"`
	case "apos":
		return "'"
	case "nbsp":
		return "\u00a0"
	case "shy":
		return "\u00ad"
	}
	var v uint64
	var err error
	if name[1] == 'x' || name[1] == 'X' {
		v, err = strconv.ParseUint(name[2:], 16, 32)
	} else {
		v, err = strconv.ParseUint(name[1:], 10, 32)
	}
	if err != nil || v == 0 || v > unicode.MaxRune || 0xd800 <= v && v <= 0xdfff {
		return m
	}
	return string(rune(v))
}

// percentDecode replaces each %XX that stands for an ASCII character by that character.
func percentDecode(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && '0' <= s[i+1] && s[i+1] <= '7' {
			if lo, ok := hexDigit(s[i+2]); ok {
				b.WriteByte((s[i+1]-'0')<<4 | lo)
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// isGap reports whether a character may stand between the pieces of one token: whitespace (chat
// and mail programs wrap long words), invisible format characters (zero-width spaces, soft
// hyphens, ...) and '>' (quote marks of mail replies).
func isGap(r rune) bool {
	return r == '>' || unicode.IsSpace(r) || unicode.Is(unicode.Cf, r)
}

// pasteCandidate is one "p2pc<digits>." found in a paste and what follows it.
type pasteCandidate struct {
	payload string      // the token characters after the prefix, gaps removed
	tok     Token       // when err is nil
	key     string      // the token's body, when err is nil: equal keys are the same token
	err     *TokenError // why this candidate is no token
}

// scanPaste finds every token prefix "p2pc<digits>." in s, gaps (isGap) allowed anywhere, and
// reads the token characters (base64url) that follow it, across gaps, until another character, the
// next token's prefix or maxTokenChars characters.
func scanPaste(s string) []pasteCandidate {
	// c is s without gaps, every non-ASCII character replaced by 0; brk[i] tells whether a gap
	// stood before c[i] (brk[len(c)]: after the last character).
	c := make([]byte, 0, len(s))
	brk := make([]bool, 0, len(s)+1)
	gap := false
	for _, r := range s {
		if isGap(r) {
			gap = true
			continue
		}
		if r >= utf8.RuneSelf {
			r = 0
		}
		c = append(c, byte(r))
		brk = append(brk, gap)
		gap = false
	}
	brk = append(brk, gap)
	var out []pasteCandidate
	for i := 0; ; {
		j := bytes.Index(c[i:], []byte("p2pc"))
		if j < 0 {
			return out
		}
		p := i + j
		k := p + len("p2pc")
		for k < len(c) && '0' <= c[k] && c[k] <= '9' {
			k++
		}
		if k == p+len("p2pc") || k == len(c) || c[k] != '.' {
			i = p + 1
			continue
		}
		start, end := k+1, k+1
		for end < len(c) && end-start < maxTokenChars && isBase64URL(c[end]) {
			end++
		}
		if end < len(c) && c[end] == '.' {
			end = start + gluedPrefix(c[start:end])
		}
		out = append(out, readCandidate(string(c[p+len("p2pc"):k]), c[start:end], brk[start:end+1]))
		i = end
	}
}

// gluedPrefix returns where the next token's "p2pc<digits>" starts at the end of chars (a "."
// follows chars), or len(chars).
func gluedPrefix(chars []byte) int {
	d := len(chars)
	for d > 0 && '0' <= chars[d-1] && chars[d-1] <= '9' {
		d--
	}
	if d < len(chars) && bytes.HasSuffix(chars[:d], []byte("p2pc")) {
		return d - len("p2pc")
	}
	return len(chars)
}

// readCandidate reads the characters after a token prefix of format version. The token's own
// fields say how many characters it has; when text follows it without a gap, those characters are
// the token if a gap or only '-' and '_' (markup such as _italics_, Proofpoint's "__") follow
// them: the checksum decides.
func readCandidate(version string, chars []byte, brk []bool) pasteCandidate {
	c := pasteCandidate{payload: string(chars)}
	if version != "1" {
		c.err = versionErr(version)
		return c
	}
	t, body, size, err := readBinary(c.payload)
	if err != nil && size > 0 && size < len(chars) && tokenEndsAt(chars, size, brk) {
		t, body, _, err = readBinary(c.payload[:size])
	}
	c.tok, c.key, c.err = t, string(body), err
	return c
}

// tokenEndsAt reports whether a token may end after chars[:n]: a gap follows, or only '-' and
// '_' up to the next gap.
func tokenEndsAt(chars []byte, n int, brk []bool) bool {
	for i := n; i < len(chars); i++ {
		if brk[i] {
			return true
		}
		if chars[i] != '-' && chars[i] != '_' {
			return false
		}
	}
	return true
}

func versionErr(v string) *TokenError {
	if len(v) > 12 {
		v = v[:12] + "…"
	}
	return tokenErr(TokenErrVersion, msgVersion, v)
}

// decodeWhole reads text as a paste that holds only the token (the rules of §1.2 before "anywhere
// inside the text"): cleanPaste, then the prefix decides. whole is true when the cleaned text
// starts like a token (a version prefix or pion's form); payload is what follows "p2pc1.".
func decodeWhole(text string) (t Token, err *TokenError, payload string, whole bool) {
	s := cleanPaste(text)
	if s == "" {
		return Token{}, tokenErr(TokenErrEmpty, msgEmpty), "", false
	}
	if v, rest, ok := splitVersion(s); ok {
		if v != "1" {
			return Token{}, versionErr(v), "", true
		}
		t, _, _, err := readBinary(rest)
		return t, err, rest, true
	}
	// pion's form is the base64 of a JSON object, `{"` being "eyJ" in base64. Text that starts so
	// is taken as pion's form, and what goes wrong reading it further is reported as truncated or
	// corrupted (a pion token cut short in a chat is "cut short", not "not a token").
	if strings.HasPrefix(s, "eyJ") {
		t, err := decodePion(s)
		if err != nil {
			return Token{}, err.(*TokenError), "", true
		}
		return t, nil, "", true
	}
	return Token{}, tokenErr(TokenErrNotAToken, msgNotAToken), "", false
}

// caseChanged replaces a refusal of payload by the case-changed message when the payload looks
// like a token whose capital letters became small ones (a phone keyboard, a program that
// lowercased the text): long enough, no capital letter, a small letter first (a real token starts
// with A..P, or with Q..Z or a..f when flags bit 6 is set, §1.2).
func caseChanged(err *TokenError, payload string) *TokenError {
	if err.Kind != TokenErrTruncated && err.Kind != TokenErrCorrupted || len(payload) < minCaseCheck ||
		payload[0] < 'a' || payload[0] > 'z' {
		return err
	}
	for i := 0; i < len(payload); i++ {
		if c := payload[i]; 'A' <= c && c <= 'Z' || !isBase64URL(c) {
			return err
		}
	}
	return tokenErr(TokenErrCorrupted, msgCaseChanged)
}

// linkProtected reports whether text holds a link that a mail security service rewrote so that
// the original link (and the token in it) is not in it any more (Mimecast URL Protect).
func linkProtected(text string) bool {
	return strings.Contains(text, "mimecast.com/s/") || strings.Contains(text, "mimecastprotect.com/s/")
}

// cleanPaste applies steps 1 and 2 of §1.2: keep what follows the last '#', remove whitespace and
// '>' everywhere and quote characters around. Whitespace is Unicode White_Space plus the
// invisible format characters (category Cf: zero-width space, BOM, soft hyphen, ...) that some
// chat programs put into long words to wrap them; none of these can be part of a token.
//
// A JSON event line (what remains starts with '{') is returned whole, before the '#' rule, so
// that a '#' elsewhere in the line (say in a URL member) cannot cut it apart; its "token" member
// is cleaned in full by tokenFromJSON.
func cleanPaste(s string) string {
	if c := stripPaste(s); strings.HasPrefix(c, "{") {
		return c
	}
	if i := strings.LastIndexByte(s, '#'); i >= 0 {
		s = s[i+1:]
	}
	return stripPaste(s)
}

// stripPaste removes whitespace and '>' everywhere and quote characters around.
func stripPaste(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '>' || unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, s)
	return strings.TrimFunc(s, func(r rune) bool {
		switch r {
		case '"', '\'', '`', '“', '”', '‘', '’', '«', '»', '<', '>':
			return true
		}
		return false
	})
}

// tokenFromJSON applies step 3 of §1.2: s starts with '{', a JSON event line such as
// {"event":"offer","token":"p2pc1...."}; it returns the "token" member, cleaned like a paste.
// Otherwise it returns s unchanged, which then reads as not-a-token. A line cut short inside the
// token member yields what is there of the token, so that it reads as truncated.
func tokenFromJSON(s string) string {
	var ev struct {
		Token *string `json:"token"`
	}
	if err := json.Unmarshal([]byte(s), &ev); err == nil {
		if ev.Token != nil {
			return cleanPaste(*ev.Token)
		}
		return s
	}
	const key = `"token":"`
	i := strings.Index(s, key)
	if i < 0 {
		return s
	}
	rest := s[i+len(key):]
	if j := strings.IndexAny(rest, `"\`); j >= 0 {
		if rest[j] == '\\' { // escapes never occur in a token: the line is not what we think
			return s
		}
		rest = rest[:j]
	}
	return cleanPaste(rest)
}
