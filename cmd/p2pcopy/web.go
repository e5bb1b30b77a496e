package main

// The bundled page: "p2pcopy web" serves or exports it, "p2pcopy send --qr" serves it on the LAN
// and takes the answer back from it (scan-and-go, docs/PROTOCOL.md §3).

import (
	"context"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/p2pcopy/p2pcopy/web"
	"github.com/spf13/cobra"
)

const defaultWebListen = "127.0.0.1:8339"

func newWebCmd(env *Env, g *globals) *cobra.Command {
	var listen, export string
	cmd := &cobra.Command{
		Use:   "web",
		Short: "Serve the p2pcopy page, with which a browser is a full peer (or --export it)",
		Long: `Serve the bundled page that lets any modern browser send and receive with p2pcopy (or with
another browser): open the printed address, pick files or paste a token. The page loads
nothing from anywhere else.

With --export DIR, write the page's files into DIR instead, for static hosting (any web
server, GitHub Pages, a USB stick; opened as file:// it works as far as the browser allows).`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if export != "" {
				return exportPage(env, export)
			}
			return serveWeb(cmd.Context(), env, g, listen)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", defaultWebListen, "serve on this `address` (host:port; :0 picks a free port)")
	cmd.Flags().StringVar(&export, "export", "", "write the page's files into `DIR` and exit")
	return cmd
}

func exportPage(env *Env, dir string) error {
	err := fs.WalkDir(web.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := fs.ReadFile(web.FS, p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		return fmt.Errorf("exporting the page: %w", err)
	}
	abs, _ := filepath.Abs(dir)
	fmt.Fprintf(env.Stderr, "wrote the p2pcopy page to %s (open index.html, or host the directory)\n", abs)
	return nil
}

func serveWeb(ctx context.Context, env *Env, g *globals, listen string) error {
	srv, err := web.Serve(listen, nil)
	if err != nil {
		return usagef("cannot serve the page on %s: %v", listen, err)
	}
	defer srv.Close()
	u := newUI(env, g)
	u.info("Serving the p2pcopy page; open it in a browser (Ctrl-C to stop):")
	fmt.Fprintln(env.Stdout, srv.URL)
	<-ctx.Done()
	return nil
}

// scanAndGo is what "send --qr" adds: the page server and the link.
type scanAndGo struct {
	srv     *web.Server
	box     *web.AnswerBox
	answers <-chan string // the answer the page hands back (box.Answers())
	pageURL string        // where the link points: our server, or --web-url
	query   string        // page settings carried in the link (?stun=none)
	remote  bool          // the page is hosted elsewhere: the link names our origin in r=
}

func startScanAndGo(listen, webURL string, noSTUN bool) (*scanAndGo, error) {
	if listen == "" {
		ip := lanIP()
		listen = net.JoinHostPort(ip.String(), "0")
	}
	box, err := web.NewAnswerBox()
	if err != nil {
		return nil, err
	}
	srv, err := web.Serve(listen, box)
	if err != nil {
		return nil, usagef("cannot serve the page on %s: %v", listen, err)
	}
	s := &scanAndGo{srv: srv, box: box, answers: box.Answers(), pageURL: srv.URL}
	if webURL != "" {
		u, err := url.Parse(webURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			srv.Close()
			return nil, usagef("--web-url %q: give the http(s) address of a hosted copy of the page (p2pcopy web --export)", webURL)
		}
		u.Fragment = ""
		s.pageURL, s.remote = u.String(), true
	}
	if noSTUN {
		s.query = "stun=none"
	}
	return s, nil
}

// link is <page URL>#<token>&k=<secret>[&r=<our origin>] (§3).
func (s *scanAndGo) link(token string) string {
	u := s.pageURL
	if s.query != "" {
		sep := "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		u += sep + s.query
	}
	l := u + "#" + token + "&k=" + s.box.Secret()
	if s.remote {
		l += "&r=" + url.QueryEscape(strings.TrimSuffix(s.srv.URL, "/"))
	}
	return l
}

func (s *scanAndGo) close() { s.srv.Close() }

// race returns a ReadPeer that takes whichever comes first: an answer handed back by the page
// or one pasted on stdin (the fallback). A failed stdin (closed, no terminal) leaves the page.
func (s *scanAndGo) race(read func(context.Context) (string, error)) func(context.Context) (string, error) {
	var pending chan lineResult
	stdinDone := false
	return func(ctx context.Context) (string, error) {
		if pending == nil && !stdinDone {
			pending = make(chan lineResult, 1)
			go func(ch chan lineResult) {
				line, err := read(ctx)
				ch <- lineResult{line: line, err: err}
			}(pending)
		}
		select {
		case a := <-s.answers:
			return a, nil
		case r := <-pending:
			pending = nil
			if r.err != nil && ctx.Err() == nil {
				stdinDone = true
				select {
				case a := <-s.answers:
					return a, nil
				case <-ctx.Done():
					return "", ctx.Err()
				}
			}
			return r.line, r.err
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

// lanIP is the address of the interface that holds the default route, found by connecting a UDP
// socket (which sends nothing) towards a documentation address; loopback when there is none.
func lanIP() netip.Addr {
	c, err := net.Dial("udp4", "192.0.2.1:9")
	if err != nil {
		return netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	defer c.Close()
	a, ok := netip.AddrFromSlice(c.LocalAddr().(*net.UDPAddr).IP)
	if !ok || a.Unmap().IsUnspecified() {
		return netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	return a.Unmap()
}
