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
	// ConnectTimeout bounds the time from the answer to an open channel; zero means 30 s.
	ConnectTimeout time.Duration
}

// Connect runs the exchange and returns the open channel. The caller closes the Peer.
func Connect(ctx context.Context, cfg signal.Config, ex Exchange) (*signal.Peer, *signal.Conn, error) {
	var first *signal.Token
	if ex.PeerToken != "" {
		// Decode before anything touches the network: a bad paste fails fast.
		tok, err := signal.Decode(ex.PeerToken)
		if err != nil {
			return nil, nil, err
		}
		first = &tok
	}
	peer, err := signal.NewPeer(cfg)
	if err != nil {
		return nil, nil, err
	}
	conn, err := exchange(ctx, peer, cfg, ex, first)
	if err != nil {
		_ = peer.Close()
		return nil, nil, err
	}
	return peer, conn, nil
}

func exchange(ctx context.Context, peer *signal.Peer, cfg signal.Config, ex Exchange, offer *signal.Token) (*signal.Conn, error) {
	if offer != nil {
		if err := offer.Check(signal.Offer, cfg.Role, peer.Fingerprint()); err != nil {
			return nil, err
		}
		if err := confirm(ctx, cfg, ex, *offer); err != nil {
			return nil, err
		}
		answer, err := peer.Answer(ctx, *offer)
		if err != nil {
			return nil, err
		}
		if err := publish(ex, answer); err != nil {
			return nil, err
		}
		return connect(ctx, peer, ex)
	}

	tok, err := peer.Offer(ctx)
	if err != nil {
		return nil, err
	}
	if err := publish(ex, tok); err != nil {
		return nil, err
	}
	answer, err := readAnswer(ctx, peer, cfg, ex)
	if err != nil {
		return nil, err
	}
	if err := confirm(ctx, cfg, ex, answer); err != nil {
		return nil, err
	}
	if err := peer.AcceptAnswer(answer); err != nil {
		return nil, err
	}
	return connect(ctx, peer, ex)
}

func publish(ex Exchange, tok signal.Token) error {
	text, err := tok.Encode()
	if err != nil {
		return fmt.Errorf("writing our token: %w", err)
	}
	return ex.Publish(tok, text)
}

func readAnswer(ctx context.Context, peer *signal.Peer, cfg signal.Config, ex Exchange) (signal.Token, error) {
	for {
		text, err := ex.ReadPeer(ctx)
		if err != nil {
			return signal.Token{}, err
		}
		tok, err := signal.Decode(text)
		if err == nil {
			err = tok.Check(signal.Answer, cfg.Role, peer.Fingerprint())
		}
		if err == nil {
			return tok, nil
		}
		var te *signal.TokenError
		if !errors.As(err, &te) || ex.BadToken == nil || !ex.BadToken(err) {
			return signal.Token{}, err
		}
	}
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
