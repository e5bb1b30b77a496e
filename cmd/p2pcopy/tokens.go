package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/mdp/qrterminal/v3"
	"github.com/p2pcopy/p2pcopy/internal/session"
	"github.com/p2pcopy/p2pcopy/signal"
)

// tokenIO shows our tokens and reads the peer's. Tokens go to out, each alone on one line; the
// peer's token is read from stdin (or the terminal, when stdin carries the data being sent).
type tokenIO struct {
	g           *globals
	u           *ui
	out         io.Writer
	in          io.Reader
	startOnce   sync.Once
	lines       chan lineResult
	done        chan struct{} // closed by close: the background reader stops handing over lines
	closeOnce   sync.Once
	interactive bool
	closer      io.Closer
	warning     <-chan string             // a NAT warning to show before our first token
	symmetric   bool                      // the NAT check found a symmetric NAT (and its warning was shown)
	link        func(token string) string // send --qr: the page link for an offer, shown with its QR code
	// answerTravels: the peer's offer lets our answer go back by itself (§4), so pasting it
	// back is only the fallback.
	answerTravels bool
}

type lineResult struct {
	line string
	err  error
}

func newTokenIO(env *Env, g *globals, u *ui, out io.Writer, stdinIsData bool) (*tokenIO, error) {
	t := &tokenIO{g: g, u: u, out: out, interactive: env.StdinTTY, done: make(chan struct{})}
	in := env.Stdin
	if stdinIsData {
		// stdin carries the file: the answer must come from the terminal.
		tty, err := env.OpenTTY()
		if err != nil {
			return nil, usagef("cannot read the answer while stdin carries the data and there is no terminal: " +
				"start \"p2pcopy receive\" first and pass its token: p2pcopy send - TOKEN")
		}
		in, t.closer, t.interactive = tty, tty, true
	}
	t.in = in
	return t, nil
}

func (t *tokenIO) close() {
	t.closeOnce.Do(func() {
		if t.done != nil {
			close(t.done)
		}
		if t.closer != nil {
			_ = t.closer.Close()
		}
	})
}

// publish prints one of our tokens: the token line on out, guidance around it on stderr.
func (t *tokenIO) publish(tok signal.Token, text string) error {
	t.symmetricNAT() // shows the NAT warning, if any, before our first token
	t.u.token(tok, text, t.answerTravels)
	if _, err := fmt.Fprintln(t.out, text); err != nil {
		return fmt.Errorf("writing the token: %w", err)
	}
	qrText := text
	if t.link != nil && tok.Kind == signal.Offer {
		qrText = t.link(text)
		t.u.link(qrText)
	}
	if t.g.qr && !t.g.json {
		qrterminal.GenerateHalfBlock(qrText, qrterminal.L, t.u.w)
	}
	if tok.Kind == signal.Offer {
		t.u.waitingForAnswer(t.interactive, tok.Rendezvous != nil)
	}
	return nil
}

// startReading reads lines in the background from the first time a line is wanted, never
// before: when stdin carries the data being sent, not one byte of it may be taken.
func (t *tokenIO) startReading() {
	t.startOnce.Do(func() {
		t.lines = make(chan lineResult)
		go func() {
			// Nobody may read a line again (the peer connected, the session ended): done
			// lets this goroutine go instead of blocking on the hand-over forever.
			hand := func(r lineResult) bool {
				select {
				case t.lines <- r:
					return true
				case <-t.done:
					return false
				}
			}
			r := bufio.NewReaderSize(t.in, 64<<10)
			for {
				line, err := r.ReadString('\n')
				if (line != "" || err == nil) && !hand(lineResult{line: strings.TrimRight(line, "\r\n")}) {
					return
				}
				if err != nil {
					hand(lineResult{err: err})
					return
				}
			}
		}()
	})
}

func (t *tokenIO) next(ctx context.Context) (string, error) {
	t.startReading()
	select {
	case r := <-t.lines:
		return r.line, r.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// read returns the peer's token: the next non-empty line. On a terminal a token that a chat app
// wrapped over several lines is joined until it decodes (an empty line gives up).
func (t *tokenIO) read(ctx context.Context) (string, error) {
	var acc string
	for {
		line, err := t.next(ctx)
		if err != nil {
			if errors.Is(err, io.EOF) {
				if acc != "" {
					return acc, nil
				}
				return "", &usageError{
					msg:   "input ended before your peer's answer arrived: paste the answer token your peer printed",
					cause: session.ErrInputEnded, // the answer may still arrive by itself
				}
			}
			return "", err
		}
		if strings.TrimSpace(line) == "" {
			if acc != "" {
				return acc, nil
			}
			continue
		}
		acc += line
		if !t.interactive {
			return acc, nil
		}
		var te *signal.TokenError
		if _, err := signal.Decode(acc); errors.As(err, &te) && te.Kind == "truncated" {
			t.u.info("(that looks cut short: paste the rest, or press Enter to use it as it is)")
			continue
		}
		return acc, nil
	}
}

// badToken shows why a pasted answer is unusable and, on a terminal, asks for another.
func (t *tokenIO) badToken(err error) bool {
	if !t.interactive {
		return false
	}
	t.u.errorLine(err.Error())
	t.u.prompt("Paste your peer's answer: ")
	return true
}

// ask puts a yes/no question; Enter means yes.
func (t *tokenIO) ask(ctx context.Context, question string) (bool, error) {
	t.u.prompt(question)
	line, err := t.next(ctx)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return false, errDeclined
		}
		return false, err
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "", "y", "yes":
		return true, nil
	}
	return false, nil
}

// symmetricNAT waits for this side's NAT check (natWarning) and reports whether it found a NAT
// that maps per destination. The first call shows the check's warning: the session asks just
// before our first token is printed.
func (t *tokenIO) symmetricNAT() bool {
	if t.warning != nil {
		if w := <-t.warning; w != "" {
			t.u.warn(w)
			t.symmetric = true
		}
		t.warning = nil
	}
	return t.symmetric
}
