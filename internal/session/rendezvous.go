package session

// One paste (docs/PROTOCOL.md §4): the answer travels back by itself. The offer carries a
// rendezvous secret; the answerer seals its answer with keys derived from it and sends it
// straight to the offerer's addresses (direct) and into a DHT mailbox; the offerer takes the
// first valid answer from either, or from a paste, whichever comes first.

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/p2pcopy/p2pcopy/signal"
)

// Mailbox stores and fetches one small signed value (package mailbox: a BEP 44 item on the
// BitTorrent DHT). An interface, so that the session can be tested without a DHT and the
// mailbox without a session.
type Mailbox interface {
	Put(ctx context.Context, key ed25519.PrivateKey, salt, value []byte) error
	Get(ctx context.Context, pub ed25519.PublicKey, salt []byte) ([]byte, error)
}

// answerWait bounds how long an offerer whose input has ended keeps waiting for an answer that
// can only come directly or through the mailbox. Thirty minutes is long enough for a person to
// get to the other computer, and far shorter than the two hours a DHT keeps the mailbox.
const answerWait = 30 * time.Minute

// candidate is one answer from one carrier, not yet checked.
type candidate struct {
	text    string       // a pasted token (paste)
	tok     signal.Token // an opened sealed answer (direct, mailbox)
	carrier signal.Carrier
	err     error // the paste could not be read (EOF, cancelled)
}

// waitAnswer returns the first valid answer to our offer from a paste, the direct path or the
// mailbox, and which carried it. If the receiving side gets the sender's offer instead (both
// started), it returns that offer for the caller to answer.
func waitAnswer(ctx context.Context, peer *signal.Peer, cfg signal.Config, ex Exchange) (signal.Token, *signal.Token, signal.Carrier, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the readers that lost the race
	found := make(chan candidate, 4)

	readPaste := func() {
		go func() {
			text, err := ex.ReadPeer(ctx)
			found <- candidate{text: text, carrier: signal.CarrierPaste, err: err}
		}()
	}
	readPaste()
	rv := peer.Rendezvous() != nil
	if rv {
		go func() {
			select {
			case tok := <-peer.DirectAnswer():
				found <- candidate{tok: tok, carrier: signal.CarrierDirect}
			case <-ctx.Done():
			}
		}()
		if ex.Mailbox != nil {
			go watchMailbox(ctx, peer, ex, found)
		}
	}
	var deadline <-chan time.Time // set once only the direct path and the mailbox are left
	for {
		var c candidate
		select {
		case c = <-found:
		case <-deadline:
			return signal.Token{}, nil, signal.CarrierUnknown, fmt.Errorf("%w: no answer arrived in %v", ErrNoAnswer, answerWait)
		case <-ctx.Done():
			return signal.Token{}, nil, signal.CarrierUnknown, ctx.Err()
		}
		if c.carrier != signal.CarrierPaste {
			if err := c.tok.Check(signal.Answer, cfg.Role, peer.Fingerprint()); err != nil {
				continue // sealed with our secret yet wrong: only our peer has it; keep waiting for a paste
			}
			return c.tok, nil, c.carrier, nil
		}
		if c.err != nil {
			if !rv || ctx.Err() != nil || !errors.Is(c.err, ErrInputEnded) {
				return signal.Token{}, nil, signal.CarrierUnknown, c.err
			}
			// Nothing more can be pasted, but the answer may still come by itself.
			deadline = time.After(answerWait)
			if ex.Notice != nil {
				ex.Notice("input ended; still waiting for your peer's answer to arrive by itself")
			}
			continue
		}
		tok, err := signal.Decode(c.text)
		if err == nil {
			err = tok.Check(signal.Answer, cfg.Role, peer.Fingerprint())
		}
		if err == nil {
			return tok, nil, signal.CarrierPaste, nil
		}
		if bothOffered(err, tok, cfg.Role) {
			if cfg.Role == signal.RoleReceiver {
				return signal.Token{}, &tok, signal.CarrierUnknown, nil
			}
			if ex.Notice != nil {
				ex.Notice("your peer also started (their token is an offer); they will answer yours: paste their answer")
			}
			readPaste()
			continue
		}
		var te *signal.TokenError
		if !errors.As(err, &te) || ex.BadToken == nil || !ex.BadToken(err) {
			return signal.Token{}, nil, signal.CarrierUnknown, err
		}
		readPaste()
	}
}

// ErrNoAnswer: the offerer waited for an answer until it gave up.
var ErrNoAnswer = errors.New("no answer from your peer")

// ErrInputEnded is returned (wrapped) by an Exchange's ReadPeer when its input ended: no answer
// can be pasted any more, though one may still arrive by itself.
var ErrInputEnded = errors.New("input ended")

// watchMailbox asks the mailbox for our answer until it arrives or ctx ends.
func watchMailbox(ctx context.Context, peer *signal.Peer, ex Exchange, found chan<- candidate) {
	rz := peer.Rendezvous()
	if rz == nil {
		return
	}
	mb, err := ex.Mailbox(ctx)
	if err != nil {
		if ctx.Err() == nil && ex.MailboxFailed != nil {
			ex.MailboxFailed(err)
		}
		return
	}
	// Get asks until an item signed with our mailbox key appears, or ctx ends.
	blob, err := mb.Get(ctx, rz.MailboxKey().Public().(ed25519.PublicKey), rz.MailboxSalt())
	if err != nil {
		if ctx.Err() == nil && ex.MailboxFailed != nil {
			ex.MailboxFailed(err)
		}
		return
	}
	tok, err := rz.OpenAnswer(blob)
	if err != nil {
		// Only a holder of the secret can sign the item, so a bad seal is a peer's bug or a
		// damaged value: asking again would return the same item.
		return
	}
	select {
	case found <- candidate{tok: tok, carrier: signal.CarrierMailbox}:
	case <-ctx.Done():
	}
}

// sendAnswer makes our sealed answer reach the offerer by itself: directly to its addresses,
// and into the mailbox. Both run until ctx ends (the connection is up, or the session failed).
func sendAnswer(ctx context.Context, peer *signal.Peer, ex Exchange) {
	rz := peer.Rendezvous()
	if rz == nil {
		return // the offer carried no secret (a page's, or an older p2pcopy's): paste only
	}
	go func() { _ = peer.SendAnswerDirect(ctx) }()
	if ex.Mailbox == nil {
		return
	}
	go func() {
		blob, err := peer.SealedAnswer()
		if err != nil {
			return
		}
		mb, err := ex.Mailbox(ctx)
		if err == nil {
			err = mb.Put(ctx, rz.MailboxKey(), rz.MailboxSalt(), blob)
		}
		if err != nil && ctx.Err() == nil && ex.MailboxFailed != nil {
			ex.MailboxFailed(err)
		}
	}()
}
