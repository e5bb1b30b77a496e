package signal

import "fmt"

// TokenErrorKind names what is wrong with a pasted token (docs/PROTOCOL.md §1.2). The values are
// stable: they appear in --json output and in testdata/tokens.json.
type TokenErrorKind string

// The kinds of TokenError. The first five come from Decode, the last four from Token.Check.
const (
	TokenErrEmpty        TokenErrorKind = "empty"
	TokenErrNotAToken    TokenErrorKind = "not-a-token"
	TokenErrVersion      TokenErrorKind = "version"
	TokenErrTruncated    TokenErrorKind = "truncated"
	TokenErrCorrupted    TokenErrorKind = "corrupted"
	TokenErrWrongKind    TokenErrorKind = "wrong-kind"
	TokenErrSameRole     TokenErrorKind = "same-role"
	TokenErrOwnToken     TokenErrorKind = "own-token"
	TokenErrNoCandidates TokenErrorKind = "no-candidates"
)

// TokenError is the error Decode and Token.Check return. Msg is one line for a person: it names the
// cause and the fix.
type TokenError struct {
	Kind TokenErrorKind
	Msg  string
}

func (e *TokenError) Error() string { return e.Msg }

// Is makes errors.Is(err, &TokenError{Kind: k}) true for any TokenError of kind k.
func (e *TokenError) Is(target error) bool {
	t, ok := target.(*TokenError)
	return ok && t.Kind == e.Kind && (t.Msg == "" || t.Msg == e.Msg)
}

// Every message a person can see about a token is written here, in one place. Tests assert them
// verbatim, so a change here is a change to the user interface.
const (
	msgEmpty     = "bad token: nothing was pasted; copy the whole token your peer sent (it starts with p2pc1.) and paste it again"
	msgNotAToken = "bad token: this is not a p2pcopy token (it should start with p2pc1.); copy the whole token your peer sent"
	// %s: the format number found in the token.
	msgVersion = "bad token: it was made by a different p2pcopy version (token format %s, this p2pcopy reads format 1); use the same p2pcopy version on both sides"
	// %d, %d: characters present, characters the token needs at least.
	msgTruncatedCount = "bad token: it is cut short (%d of at least %d characters); copy the whole token again, including its end"
	msgTruncated      = "bad token: it is cut short; copy the whole token again, including its end"
	msgChecksum       = "bad token: it is damaged (checksum mismatch); copy it again exactly, or ask your peer to send it again"
	// %s: the offending character, quoted.
	msgBadChar       = "bad token: it is damaged (it contains %s, which no token has); copy it again exactly, or ask your peer to send it again"
	msgTwoTokens     = "bad token: these are two or more tokens run together; paste only the latest token your peer sent"
	msgTwoDifferent  = "bad token: the pasted text holds two different tokens; paste only the latest token your peer sent"
	msgCaseChanged   = "bad token: it is damaged (its capital letters were changed to small ones, and a token needs both); copy it again exactly, or ask your peer to send it in a way that keeps capital letters"
	msgLinkProtected = "bad token: this link was rewritten by a mail security service (Mimecast) and no longer holds the token; ask your peer to send the token itself as text (it starts with p2pc1.)"
	msgTrailing      = "bad token: it is damaged (extra characters after its end); copy it again exactly, or ask your peer to send it again"
	msgBadContents   = "bad token: it holds invalid data (%s) although its checksum is right; make sure both sides run an unmodified p2pcopy and ask your peer for a new token"
	msgBadSDP        = "bad token: it is damaged (%s); copy it again exactly, or ask your peer to send it again"

	msgAnswerNotOffer = "bad token: this is an answer, but an offer was expected; the answer goes back to the side that printed the first token"
	msgOfferNotAnswer = "bad token: this is an offer, but an answer was expected; your peer should paste your token and send you the answer it then prints"
	msgBothSend       = "bad token: your peer is also sending; one side runs 'p2pcopy send', the other 'p2pcopy receive'"
	msgBothReceive    = "bad token: your peer is also receiving; one side runs 'p2pcopy send', the other 'p2pcopy receive'"
	msgOwnToken       = "bad token: this is your own token; send it to your peer and paste the token they send back"
	msgNoCandidates   = "bad token: it contains no usable network address for your peer; ask them to check their network connection (and not to use --no-stun across the internet), then send a new token"
)

func tokenErr(kind TokenErrorKind, format string, args ...any) *TokenError {
	if len(args) == 0 {
		return &TokenError{Kind: kind, Msg: format}
	}
	return &TokenError{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}
