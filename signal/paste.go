package signal

// Reading a pasted token (docs/PROTOCOL.md §1.2): what chat and mail programs do to a line of text.

import (
	"encoding/json"
	"strings"
	"unicode"
)

// Decode reads a pasted token, forgiving about what chat programs do to text and strict about the
// content (§1.2). It also accepts pion's example form (§1.6). Errors are *TokenError; their
// messages are meant for the person who pasted the text. Decode only checks the form: call
// Token.Check for what the token means to the reader.
func Decode(text string) (Token, error) {
	s := cleanPaste(text)
	if strings.HasPrefix(s, "{") {
		s = tokenFromJSON(s)
	}
	if s == "" {
		return Token{}, tokenErr(TokenErrEmpty, msgEmpty)
	}
	if v, rest, ok := splitVersion(s); ok {
		if v != "1" {
			if len(v) > 12 {
				v = v[:12] + "…"
			}
			return Token{}, tokenErr(TokenErrVersion, msgVersion, v)
		}
		return decodeBinary(rest)
	}
	// pion's form is the base64 of a JSON object, `{"` being "eyJ" in base64. Text that starts so
	// is taken as pion's form, and what goes wrong reading it further is reported as truncated or
	// corrupted (a pion token cut short in a chat is "cut short", not "not a token").
	if strings.HasPrefix(s, "eyJ") {
		return decodePion(s)
	}
	return Token{}, tokenErr(TokenErrNotAToken, msgNotAToken)
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
