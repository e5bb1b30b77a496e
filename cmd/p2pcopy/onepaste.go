package main

// One paste (docs/PROTOCOL.md §4): the CLI's side of an answer that comes back by itself —
// the DHT mailbox's flags and what the user is told.

import (
	"context"
	"errors"
	"sync"

	"github.com/p2pcopy/p2pcopy/internal/session"
	"github.com/p2pcopy/p2pcopy/mailbox"
	"github.com/p2pcopy/p2pcopy/signal"
)

// dhtBootstrap returns the DHT nodes to start from (none: the mailbox's defaults) and whether
// this run uses the DHT mailbox at all. --no-stun means
// "local addresses only": a LAN-only run talks to nobody on the internet, the DHT included,
// unless DHT nodes were named explicitly.
func (g *globals) dhtBootstrap(env *Env) (nodes []string, use bool) {
	if g.noDHT {
		return nil, false
	}
	nodes = g.dhtNodes
	if len(nodes) == 0 {
		nodes = splitList(env.Getenv("P2PCOPY_DHT_BOOTSTRAP"))
	}
	if len(nodes) == 0 && g.noSTUN {
		return nil, false
	}
	return nodes, true
}

// mailboxOpener opens the DHT mailbox once, on first use, and closes it at the end of the run.
type mailboxOpener struct {
	cfg  mailbox.Config
	once sync.Once
	mb   *mailbox.Mailbox
	err  error
}

func (m *mailboxOpener) open(ctx context.Context) (session.Mailbox, error) {
	m.once.Do(func() { m.mb, m.err = mailbox.Open(ctx, m.cfg) })
	if m.err != nil {
		return nil, m.err
	}
	return m.mb, nil
}

func (m *mailboxOpener) close() {
	m.once.Do(func() {}) // nobody opens it after this
	if m.mb != nil {
		_ = m.mb.Close()
	}
}

// onePaste fills in the parts of the exchange that let the answer come back by itself. The
// returned function closes the mailbox. answering: we answer the peer's offer (else we offer).
func onePaste(env *Env, g *globals, u *ui, ex *session.Exchange, answering bool) (closeMailbox func()) {
	ex.Carried = func(c signal.Carrier) { u.answerCarried(c, answering) }
	nodes, use := g.dhtBootstrap(env)
	if !use {
		return func() {}
	}
	m := &mailboxOpener{cfg: mailbox.Config{Bootstrap: nodes}}
	ex.Mailbox = m.open
	ex.MailboxFailed = func(err error) { u.warn(mailboxAdvice(err, answering)) }
	// In the background: an Open still under way (its context ends with the session's wait)
	// must not hold up the copy.
	return func() { go m.close() }
}

// mailboxAdvice words why the DHT mailbox could not be used, and what still works.
func mailboxAdvice(err error, answering bool) string {
	msg := "the DHT mailbox could not be used (" + err.Error() + ")"
	if errors.Is(err, mailbox.ErrUnreachable) {
		msg = "no DHT node answered, so the answer cannot come back through the DHT mailbox " +
			"(UDP to the internet may be blocked, or check --dht-bootstrap)"
	}
	if answering {
		return msg + "; it may still reach your peer directly: if they are still waiting, give them the answer above"
	}
	return msg + "; it may still come directly: if it does not, paste the answer your peer printed"
}

// answerCarried tells how the answer travelled. On the answering side it is known only
// after the copy started, hence the lock and the progress bar cleared first.
func (u *ui) answerCarried(c signal.Carrier, answering bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.json {
		writeJSON(u.w, map[string]any{"event": "answer-via", "via": c.String()})
		return
	}
	u.clearBar()
	switch {
	case c == signal.CarrierDirect && answering:
		u.info("your peer got the answer directly: nothing to paste back")
	case c == signal.CarrierMailbox && answering:
		u.info("your peer got the answer through the DHT mailbox: nothing to paste back")
	case c == signal.CarrierPaste && answering:
		u.info("your peer pasted the answer")
	case c == signal.CarrierDirect:
		u.info("the answer came back directly: nothing to paste")
	case c == signal.CarrierMailbox:
		u.info("the answer came back through the DHT mailbox: nothing to paste")
	}
}

// offerTravels reports whether the peer's offer (empty when we make the offer) lets our answer
// go back by itself.
func offerTravels(peerToken string) bool {
	if peerToken == "" {
		return false
	}
	tok, err := signal.Decode(peerToken)
	return err == nil && tok.Rendezvous != nil
}
