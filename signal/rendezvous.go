package signal

// The rendezvous: keys derived from an offer's secret that let the answer come back without a
// paste, sealed so that only the offerer can read it and nobody without the offer can forge it
// (docs/PROTOCOL.md §4).

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"
)

// Errors of the rendezvous. OpenAnswer returns ErrSealForged or ErrSealNotAnswer; a caller that
// reads untrusted blobs (a UDP packet, a DHT item) simply drops them.
var (
	// ErrNoRendezvous: the offer carries no rendezvous secret, so the answer can only be pasted.
	ErrNoRendezvous = errors.New("signal: the offer carries no rendezvous secret")
	// ErrSealForged: the blob was not sealed with this offer's key (forged, damaged, cut, of
	// another offer or another version).
	ErrSealForged = errors.New("signal: sealed message forged, damaged or for another offer")
	// ErrSealNotAnswer: the blob is authentic but does not hold a valid answer token.
	ErrSealNotAnswer = errors.New("signal: sealed message holds no valid answer")
	// ErrAnswerTooLarge: the answer's body does not fit a sealed blob (MaxSealedSize).
	ErrAnswerTooLarge = errors.New("signal: the answer is too large to seal")
)

// Sizes of a sealed blob (§4.2).
const (
	// sealVersion is byte 0 of every blob: the construction of this document.
	sealVersion = 1
	sealNonce   = 12 // AES-GCM's standard nonce; random, at most a few dozen blobs per key
	sealTag     = 16 // AES-GCM's full tag
	sealHeader  = 1 + sealNonce
	// MaxSealedSize bounds a blob: a BEP 44 value must stay under 1000 bytes once bencoded
	// ("960:" adds 4), and as a UDP payload with its 4-byte header it stays below the 1280-byte
	// IPv6 minimum MTU, so it is never fragmented. An answer of 16 IPv6 candidates takes ~450.
	MaxSealedSize = 960
	// maxSealedBody is the largest answer body (with its CRC) that fits MaxSealedSize.
	maxSealedBody = MaxSealedSize - sealHeader - sealTag
	// MailboxSaltSize is the BEP 44 salt's length (BEP 44 allows up to 64 bytes): 16 bytes keep
	// every query small; the key is already unique per offer, the salt only separates uses.
	MailboxSaltSize = 16
)

// HKDF info strings (§4.1): one per derived value, so that no two are related.
const (
	infoSealKey     = "p2pcopy rendezvous v1 seal key"
	infoMailboxSeed = "p2pcopy rendezvous v1 mailbox ed25519 seed"
	infoMailboxSalt = "p2pcopy rendezvous v1 mailbox salt"
	aadLabel        = "p2pcopy rendezvous v1"
)

// Message kinds bound into the additional data (§4.2), so an acknowledgement can never be read
// as an answer or the other way round.
const (
	sealKindAnswer = 'A'
	sealKindAck    = 'K'
)

// Carrier says how the answer travelled from the answerer to the offerer.
type Carrier uint8

// Carriers. The values are the acknowledgement's plaintext byte (§4.4).
const (
	CarrierUnknown Carrier = 0
	CarrierDirect  Carrier = 1 // UDP from the answerer's ICE sockets to the offerer's (§4.3)
	CarrierMailbox Carrier = 2 // a BEP 44 item on the Mainline DHT
	CarrierPaste   Carrier = 3 // the person pasted it (or the page handed it over)
)

func (c Carrier) String() string {
	switch c {
	case CarrierUnknown:
		return "unknown"
	case CarrierDirect:
		return "direct"
	case CarrierMailbox:
		return "mailbox"
	case CarrierPaste:
		return "paste"
	}
	return "Carrier(" + strconv.Itoa(int(c)) + ")"
}

// Rendezvous holds the keys derived from one offer's rendezvous secret. Both sides build it from
// the same offer token. It is safe for concurrent use.
type Rendezvous struct {
	aead        cipher.AEAD
	mailboxKey  ed25519.PrivateKey
	mailboxSalt []byte
	answerAAD   []byte // additional data of the sealed answer: binds the offer
}

// NewRendezvous derives the keys from an offer that carries a rendezvous secret; it returns
// ErrNoRendezvous for an offer without one and an error for a token that is not an offer.
func NewRendezvous(offer Token) (*Rendezvous, error) {
	if offer.Kind != Offer {
		return nil, errors.New("signal: a rendezvous is made from an offer, not an answer")
	}
	if offer.Rendezvous == nil {
		return nil, ErrNoRendezvous
	}
	if len(offer.Rendezvous) != RendezvousSize {
		return nil, fmt.Errorf("signal: a rendezvous secret has %d bytes, not %d", RendezvousSize, len(offer.Rendezvous))
	}
	key, err := hkdf.Key(sha256.New, offer.Rendezvous, nil, infoSealKey, 32)
	if err != nil {
		return nil, err
	}
	seed, err := hkdf.Key(sha256.New, offer.Rendezvous, nil, infoMailboxSeed, ed25519.SeedSize)
	if err != nil {
		return nil, err
	}
	salt, err := hkdf.Key(sha256.New, offer.Rendezvous, nil, infoMailboxSalt, MailboxSaltSize)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Rendezvous{
		aead:        aead,
		mailboxKey:  ed25519.NewKeyFromSeed(seed),
		mailboxSalt: salt,
		answerAAD:   sealAAD(sealKindAnswer, offer, nil),
	}, nil
}

// sealAAD is the additional data of §4.2: the label, the version, the kind, the offer's ufrag
// (str8) and fingerprint and, for an acknowledgement, the answer's fingerprint.
func sealAAD(kind byte, offer Token, answerFP *[32]byte) []byte {
	b := make([]byte, 0, len(aadLabel)+3+len(offer.Ufrag)+64)
	b = append(b, aadLabel...)
	b = append(b, sealVersion, kind, byte(len(offer.Ufrag)))
	b = append(b, offer.Ufrag...)
	b = append(b, offer.Fingerprint[:]...)
	if answerFP != nil {
		b = append(b, answerFP[:]...)
	}
	return b
}

// MailboxKey is the ed25519 key of the BEP 44 mutable item that carries the sealed answer.
func (r *Rendezvous) MailboxKey() ed25519.PrivateKey { return r.mailboxKey }

// MailboxSalt is the BEP 44 salt of that item (MailboxSaltSize bytes).
func (r *Rendezvous) MailboxSalt() []byte { return append([]byte(nil), r.mailboxSalt...) }

// SealAnswer seals an answer token for the offerer: version, random nonce, AES-256-GCM of the
// answer's binary body (§1.3, with its CRC). The blob is at most MaxSealedSize bytes.
func (r *Rendezvous) SealAnswer(answer Token) ([]byte, error) {
	var nonce [sealNonce]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, err
	}
	return r.sealAnswer(answer, nonce)
}

func (r *Rendezvous) sealAnswer(answer Token, nonce [sealNonce]byte) ([]byte, error) {
	if answer.Kind != Answer {
		return nil, errors.New("signal: only an answer is sealed")
	}
	body, err := answer.body()
	if err != nil {
		return nil, err
	}
	if len(body) > maxSealedBody {
		return nil, ErrAnswerTooLarge
	}
	return r.seal(nil, body, nonce, r.answerAAD), nil
}

// seal appends version, nonce and the sealed plaintext to dst.
func (r *Rendezvous) seal(dst, plaintext []byte, nonce [sealNonce]byte, aad []byte) []byte {
	dst = append(dst, sealVersion)
	dst = append(dst, nonce[:]...)
	return r.aead.Seal(dst, nonce[:], plaintext, aad)
}

// open checks and decrypts a blob into dst[:0] (no allocation when dst is large enough).
func (r *Rendezvous) open(dst, blob, aad []byte) ([]byte, error) {
	if len(blob) < sealHeader+sealTag || len(blob) > MaxSealedSize || blob[0] != sealVersion {
		return nil, ErrSealForged
	}
	pt, err := r.aead.Open(dst[:0], blob[1:sealHeader], blob[sealHeader:], aad)
	if err != nil {
		return nil, ErrSealForged
	}
	return pt, nil
}

// OpenAnswer checks and opens a sealed answer. Anything not sealed with this offer's key is
// ErrSealForged; an authentic blob that does not hold an answer token is ErrSealNotAnswer.
// The token still needs the application checks of a pasted answer (Token.Check).
func (r *Rendezvous) OpenAnswer(blob []byte) (Token, error) {
	var buf [maxSealedBody]byte
	return r.openAnswer(buf[:], blob)
}

func (r *Rendezvous) openAnswer(scratch, blob []byte) (Token, error) {
	body, err := r.open(scratch, blob, r.answerAAD)
	if err != nil {
		return Token{}, err
	}
	t, err := decodeBody(body)
	if err != nil || t.Kind != Answer {
		return Token{}, ErrSealNotAnswer
	}
	return t, nil
}
