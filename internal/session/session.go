// Package session runs the token exchange that turns two pasted strings into an open, verified
// DataChannel. It is the glue between signal (tokens and WebRTC) and the user interface: whoever
// starts prints an offer, the other side answers, and either side may be sender or receiver.
package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/p2pcopy/p2pcopy/signal"
)

// Exchange is how tokens travel between the two people, provided by the user interface.
type Exchange struct {
	// PeerToken is the offer given on the command line. Empty means this side makes the offer.
	PeerToken string
	// Publish shows one of our tokens to the user (to be sent to the peer).
	Publish func(tok signal.Token, text string) error
	// ReadPeer reads the peer's answer after we published an offer.
	ReadPeer func(ctx context.Context) (string, error)
	// BadToken, if set, is told about an unusable answer and returns true to read another one
	// (interactive use); otherwise the first bad answer ends the session.
	BadToken func(err error) (retry bool)
	// Confirm, if set, is asked on the receiving side before connecting, with what the sender
	// offers (nil when the sender's token carried no summary). A non-nil error declines.
	Confirm func(ctx context.Context, offered *signal.Summary) error
	// Notice, if set, shows a one-line remark to the user.
	Notice func(msg string)
	// ConnectTimeout bounds the time from the answer to an open channel; zero means 30 s.
	ConnectTimeout time.Duration
	// SymmetricNAT, if set, reports whether this side's NAT maps per destination (p2pcopy nat's
	// check). It is asked before each of our tokens is written, and the answer travels in the
	// token, so that a failed connection can name its cause on both sides.
	SymmetricNAT func() bool
	// Mailbox, if set, opens the DHT mailbox through which an answer comes back when it cannot
	// come directly (§4). It is called in the background, at most once per side; the caller
	// closes what it opened when the session is over.
	Mailbox func(ctx context.Context) (Mailbox, error)
	// MailboxFailed, if set, is told why the mailbox could not be used (the answer can still
	// come directly or by paste).
	MailboxFailed func(err error)
	// Carried, if set, is told how the answer travelled, once known: on the side that made the
	// offer as soon as the answer arrives, before Connect returns; on the other side from
	// another goroutine, shortly after the connection opened.
	Carried func(c signal.Carrier)
}

// Connect runs the exchange and returns the open channel. The caller closes the Peer.
//
// When both sides started without a token (two scripts joined by pipes, or two people who both
// went first), each sees the other's offer. Roles settle it without another round trip: the
// receiver drops its own offer and answers the sender's; the sender keeps its offer and waits for
// that answer.
func Connect(ctx context.Context, cfg signal.Config, ex Exchange) (*signal.Peer, *signal.Conn, error) {
	var offer *signal.Token
	if ex.PeerToken != "" {
		// Decode before anything touches the network: a bad paste fails fast.
		tok, err := signal.Decode(ex.PeerToken)
		if err != nil {
			return nil, nil, err
		}
		offer = &tok
	}
	peer, err := signal.NewPeer(cfg)
	if err != nil {
		return nil, nil, err
	}
	var conn *signal.Conn
	if offer != nil {
		conn, err = answer(ctx, peer, cfg, ex, *offer)
	} else {
		var theirOffer *signal.Token
		conn, theirOffer, err = offerFirst(ctx, peer, cfg, ex)
		if err == nil && theirOffer != nil {
			_ = peer.Close()
			if peer, err = signal.NewPeer(cfg); err != nil {
				return nil, nil, err
			}
			conn, err = answer(ctx, peer, cfg, ex, *theirOffer)
		}
	}
	if err != nil {
		_ = peer.Close()
		return nil, nil, err
	}
	return peer, conn, nil
}

func answer(ctx context.Context, peer *signal.Peer, cfg signal.Config, ex Exchange, offer signal.Token) (*signal.Conn, error) {
	if err := offer.Check(signal.Offer, cfg.Role, peer.Fingerprint()); err != nil {
		return nil, err
	}
	if err := confirm(ctx, cfg, ex, offer); err != nil {
		return nil, err
	}
	tok, err := peer.Answer(ctx, offer)
	if err != nil {
		return nil, err
	}
	if tok, err = publish(ex, tok); err != nil {
		return nil, err
	}
	sendCtx, stopSending := context.WithCancel(ctx)
	sendAnswer(sendCtx, peer, ex)
	conn, err := connect(ctx, peer, ex)
	stopSending()
	if err == nil && offer.Rendezvous != nil && ex.Carried != nil {
		// The offerer's acknowledgement says how our answer travelled; it comes about a round
		// trip after the connection opened, and the copy does not wait for it. It ends with
		// the connection at the latest.
		go func() {
			if c, err := peer.AnswerCarrier(context.WithoutCancel(ctx)); err == nil {
				ex.Carried(c)
			}
		}()
	}
	return conn, explain(err, tok, offer)
}

// offerFirst publishes our offer and waits for the answer. If the receiving side gets the
// sender's offer instead (both started), it returns that offer for the caller to answer.
func offerFirst(ctx context.Context, peer *signal.Peer, cfg signal.Config, ex Exchange) (*signal.Conn, *signal.Token, error) {
	tok, err := peer.Offer(ctx)
	if err != nil {
		return nil, nil, err
	}
	if tok, err = publish(ex, tok); err != nil {
		return nil, nil, err
	}
	answer, theirOffer, carrier, err := waitAnswer(ctx, peer, cfg, ex)
	if err != nil || theirOffer != nil {
		return nil, theirOffer, err
	}
	if ex.Carried != nil && tok.Rendezvous != nil {
		ex.Carried(carrier)
	}
	if err := confirm(ctx, cfg, ex, answer); err != nil {
		return nil, nil, err
	}
	if err := peer.AcceptAnswerFrom(answer, carrier); err != nil {
		return nil, nil, err
	}
	conn, err := connect(ctx, peer, ex)
	return conn, nil, explain(err, tok, answer)
}

// publish shows our token, with the result of this side's NAT check in it, and returns it as sent.
func publish(ex Exchange, tok signal.Token) (signal.Token, error) {
	if ex.SymmetricNAT != nil {
		tok.SymmetricNAT = ex.SymmetricNAT()
	}
	text, err := tok.Encode()
	if err != nil {
		return tok, fmt.Errorf("writing our token: %w", err)
	}
	return tok, ex.Publish(tok, text)
}

// explain adds the cause of a failed connection that the two tokens' NAT flags tell.
func explain(err error, ours, theirs signal.Token) error {
	var ce *signal.ConnectError
	if errors.As(err, &ce) && ce.Cause == "" {
		ce.Cause = signal.NATCause(ours.SymmetricNAT, theirs.SymmetricNAT)
	}
	return err
}

// bothOffered reports an offer from the opposite role where an answer was expected.
func bothOffered(err error, tok signal.Token, role signal.Role) bool {
	var te *signal.TokenError
	if !errors.As(err, &te) || te.Kind != signal.TokenErrWrongKind || tok.Kind != signal.Offer {
		return false
	}
	return (role == signal.RoleSender && tok.Role == signal.RoleReceiver) ||
		(role == signal.RoleReceiver && tok.Role == signal.RoleSender)
}

func confirm(ctx context.Context, cfg signal.Config, ex Exchange, peerTok signal.Token) error {
	if cfg.Role != signal.RoleReceiver || ex.Confirm == nil {
		return nil
	}
	return ex.Confirm(ctx, peerTok.Summary)
}

func connect(ctx context.Context, peer *signal.Peer, ex Exchange) (*signal.Conn, error) {
	timeout := ex.ConnectTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return peer.Connect(ctx)
}
