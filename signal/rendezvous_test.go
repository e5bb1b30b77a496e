package signal

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
)

// The vector of docs/PROTOCOL.md §4.5: offer3Rendezvous (secret 00..0f, ufrag "Ab3+", Alice's
// fingerprint), rvAnswer, nonce a0..ab.
func rvAnswer() Token {
	return Token{
		Kind: Answer, Role: RoleReceiver, Active: true, Ufrag: "x9Yz", Pwd: pwd22, Fingerprint: fpBob,
		Candidates: []Candidate{{Type: Host, Addr: ip("192.168.1.40"), Port: 58413}},
	}
}

var rvNonce = [sealNonce]byte{0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab}

// rvVector lists every value of the vector by its name in PROTOCOL.md.
func rvVector(t *testing.T) [][2]string {
	t.Helper()
	rv, err := NewRendezvous(offer3Rendezvous(nil))
	if err != nil {
		t.Fatal(err)
	}
	blob, err := rv.sealAnswer(rvAnswer(), rvNonce)
	if err != nil {
		t.Fatal(err)
	}
	ack := rv.seal(nil, []byte{byte(CarrierDirect)}, rvNonce, sealAAD(sealKindAck, offer3Rendezvous(nil), &fpBob))
	key, _ := hkdf.Key(sha256.New, testSecret, nil, infoSealKey, 32)
	seed, _ := hkdf.Key(sha256.New, testSecret, nil, infoMailboxSeed, 32)
	return [][2]string{
		{"seal key", hex.EncodeToString(key)},
		{"mailbox seed", hex.EncodeToString(seed)},
		{"answer body", hex.EncodeToString(mustBody(t, rvAnswer()))},
		{"answer additional data", hex.EncodeToString(rv.answerAAD)},
		{"mailbox public key", hex.EncodeToString(rv.MailboxKey().Public().(ed25519.PublicKey))},
		{"mailbox salt", hex.EncodeToString(rv.MailboxSalt())},
		{"sealed answer", hex.EncodeToString(blob)},
		{"acknowledgement (direct)", hex.EncodeToString(ack)},
	}
}

// TestRendezvousVector: the values of the vector are the ones PROTOCOL.md §4.5 prints (run with
// -v to see them), and the sealed answer opens to the answer.
func TestRendezvousVector(t *testing.T) {
	doc, err := os.ReadFile("../docs/PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(strings.Fields(string(doc)), "")
	for _, v := range rvVector(t) {
		t.Logf("%s: %s", v[0], v[1])
		if !strings.Contains(text, v[1]) {
			t.Errorf("PROTOCOL.md §4.5 does not show the %s %s", v[0], v[1])
		}
	}
	rv, _ := NewRendezvous(offer3Rendezvous(nil))
	blob, _ := hex.DecodeString(rvVector(t)[6][1])
	got, err := rv.OpenAnswer(blob)
	if err != nil || !tokensEqual(got, rvAnswer()) {
		t.Fatalf("OpenAnswer(vector) = %s, %v", dump(got), err)
	}
}

// TestSealOpen: a sealed answer opens to the same token, with fresh nonces each time; every
// other blob gives a typed error.
func TestSealOpen(t *testing.T) {
	offer := offer3Rendezvous(vmSummary)
	rv, err := NewRendezvous(offer)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := rv.SealAnswer(rvAnswer())
	b, _ := rv.SealAnswer(rvAnswer())
	if bytes.Equal(a, b) {
		t.Error("two seals of one answer are equal: the nonce is not random")
	}
	if got, err := rv.OpenAnswer(a); err != nil || !tokensEqual(got, rvAnswer()) {
		t.Fatalf("OpenAnswer = %s, %v", dump(got), err)
	}
	other := offer
	other.Rendezvous = bytes.Repeat([]byte{0xee}, RendezvousSize)
	otherRV, _ := NewRendezvous(other)
	flipped := bytes.Clone(a)
	flipped[len(a)-1] ^= 1
	version := bytes.Clone(a)
	version[0] = 2
	offerBlob := rv.seal(nil, mustBody(t, offer), rvNonce, rv.answerAAD)
	garbage := rv.seal(nil, []byte("not a token"), rvNonce, rv.answerAAD)
	for name, c := range map[string]struct {
		blob []byte
		want error
	}{
		"empty":        {nil, ErrSealForged},
		"header only":  {a[:sealHeader+sealTag-1], ErrSealForged},
		"cut":          {a[:len(a)-1], ErrSealForged},
		"bit flipped":  {flipped, ErrSealForged},
		"version 2":    {version, ErrSealForged},
		"other secret": {mustSeal(t, otherRV, rvAnswer()), ErrSealForged},
		"too large":    {append(bytes.Clone(a), make([]byte, MaxSealedSize)...), ErrSealForged},
		"sealed offer": {offerBlob, ErrSealNotAnswer},
		"sealed junk":  {garbage, ErrSealNotAnswer},
	} {
		if tok, err := rv.OpenAnswer(c.blob); !errors.Is(err, c.want) {
			t.Errorf("%s: %s, %v; want %v", name, dump(tok), err, c.want)
		}
	}
	if _, err := NewRendezvous(offer3(nil)); !errors.Is(err, ErrNoRendezvous) {
		t.Errorf("NewRendezvous without a secret: %v", err)
	}
	if _, err := rv.SealAnswer(offer); err == nil {
		t.Error("SealAnswer sealed an offer")
	}
	big := rvAnswer()
	for range 16 {
		big.Candidates = append(big.Candidates, Candidate{Type: Host, Host: strings.Repeat("h", 60) + ".local", Port: 1})
	}
	big.Candidates = big.Candidates[:16]
	if _, err := rv.SealAnswer(big); !errors.Is(err, ErrAnswerTooLarge) {
		t.Errorf("an answer of %d bytes: %v, want ErrAnswerTooLarge", len(mustBody(t, big)), err)
	}
	if len(rv.MailboxSalt()) != MailboxSaltSize || len(rv.MailboxKey()) != ed25519.PrivateKeySize {
		t.Error("mailbox key or salt of the wrong size")
	}
	if bytes.Equal(rv.MailboxKey().Seed(), otherRV.MailboxKey().Seed()) || bytes.Equal(rv.MailboxSalt(), otherRV.MailboxSalt()) {
		t.Error("two secrets give the same mailbox")
	}
}

func mustSeal(t *testing.T, rv *Rendezvous, tok Token) []byte {
	t.Helper()
	b, err := rv.SealAnswer(tok)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzOpenAnswer: OpenAnswer never panics on any blob; what it accepts is an answer that
// encodes.
func FuzzOpenAnswer(f *testing.F) {
	rv, err := NewRendezvous(offer3Rendezvous(nil))
	if err != nil {
		f.Fatal(err)
	}
	good, _ := rv.sealAnswer(rvAnswer(), rvNonce)
	f.Add(good)
	f.Add(good[:20])
	f.Add([]byte{})
	f.Add(append([]byte{1}, make([]byte, 40)...))
	f.Fuzz(func(t *testing.T, blob []byte) {
		tok, err := rv.OpenAnswer(blob)
		if err != nil {
			if !errors.Is(err, ErrSealForged) && !errors.Is(err, ErrSealNotAnswer) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if tok.Kind != Answer {
			t.Fatalf("opened a %v", tok.Kind)
		}
		if _, err := tok.Encode(); err != nil {
			t.Fatalf("opened an answer that does not encode: %v", err)
		}
	})
}
