package main

// The bundled page: "p2pcopy web" serves or exports it, "p2pcopy send --qr" serves it on the LAN
// and takes the answer back from it (scan-and-go, docs/PROTOCOL.md §3).

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

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
	srv, err := startPageServer(listen, nil)
	if err != nil {
		return err
	}
	defer srv.close()
	u := newUI(env, g)
	u.info("Serving the p2pcopy page; open it in a browser (Ctrl-C to stop):")
	fmt.Fprintln(env.Stdout, srv.url)
	<-ctx.Done()
	return nil
}

// pageServer serves the page and, for scan-and-go, the answer endpoint.
type pageServer struct {
	url string // http://HOST:PORT/
	hs  *http.Server
}

func (s *pageServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = s.hs.Shutdown(ctx)
}

func startPageServer(listen string, box *answerBox) (*pageServer, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, usagef("cannot serve the page on %s: %v", listen, err)
	}
	hs := &http.Server{
		Handler:           pageHandler(box),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0), // nothing about requests is ever logged
	}
	go func() { _ = hs.Serve(ln) }()
	addr := ln.Addr().(*net.TCPAddr).AddrPort()
	return &pageServer{url: "http://" + addr.String() + "/", hs: hs}, nil
}

// pageHandler serves web.FS; box, if not nil, takes the answer at POST /answer.
func pageHandler(box *answerBox) http.Handler {
	files := http.FileServerFS(web.FS)
	mux := http.NewServeMux()
	// The page talks only to where it came from; a copy served by "p2pcopy web" may be the
	// hosted page of another CLI's send --qr --web-url, so it may also post the answer to the
	// origin named in the link (r=, §3.2).
	connect := "connect-src 'self' http: https:"
	if box != nil {
		mux.Handle("/answer", box)
		connect = "connect-src 'self'"
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "+
			connect+"; worker-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
	return mux
}

// answerBox is the scan-and-go return endpoint: it accepts one answer token whose MAC proves
// knowledge of the secret in the link's fragment.
type answerBox struct {
	secret  string
	mu      sync.Mutex
	taken   bool
	answers chan string // one accepted answer
}

func newAnswerBox() (*answerBox, error) {
	var k [16]byte
	if _, err := rand.Read(k[:]); err != nil {
		return nil, err
	}
	return &answerBox{secret: base64.RawURLEncoding.EncodeToString(k[:]), answers: make(chan string, 1)}, nil
}

// answerMAC is hex(HMAC-SHA256(key = secret, message = answer)) (§3).
func answerMAC(secret, answer string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(answer))
	return hex.EncodeToString(m.Sum(nil))
}

func (b *answerBox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// A page hosted elsewhere (--web-url) posts from another origin; its answer is authenticated
	// by the MAC, not by where it comes from.
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Cache-Control", "no-store")
	if r.Method == http.MethodOptions {
		h.Set("Access-Control-Allow-Methods", "POST")
		h.Set("Access-Control-Allow-Headers", "Content-Type")
		h.Set("Access-Control-Allow-Private-Network", "true")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	var req struct {
		Answer string `json:"answer"`
		MAC    string `json:"mac"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<10))
	if err != nil || json.Unmarshal(body, &req) != nil || req.Answer == "" {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	got, err := hex.DecodeString(req.MAC)
	want, _ := hex.DecodeString(answerMAC(b.secret, req.Answer))
	if err != nil || !hmac.Equal(got, want) {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	b.mu.Lock()
	taken := b.taken
	b.taken = true
	b.mu.Unlock()
	if taken {
		http.Error(w, "an answer was already taken", http.StatusConflict)
		return
	}
	b.answers <- req.Answer
	h.Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"ok":true}`+"\n")
}

// scanAndGo is what "send --qr" adds: the page server and the link.
type scanAndGo struct {
	srv     *pageServer
	box     *answerBox
	pageURL string // where the link points: our server, or --web-url
	query   string // page settings carried in the link (?stun=none)
	remote  bool   // the page is hosted elsewhere: the link names our origin in r=
}

func startScanAndGo(listen, webURL string, noSTUN bool) (*scanAndGo, error) {
	if listen == "" {
		ip := lanIP()
		listen = net.JoinHostPort(ip.String(), "0")
	}
	box, err := newAnswerBox()
	if err != nil {
		return nil, err
	}
	srv, err := startPageServer(listen, box)
	if err != nil {
		return nil, err
	}
	s := &scanAndGo{srv: srv, box: box, pageURL: srv.url}
	if webURL != "" {
		u, err := url.Parse(webURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			srv.close()
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
	l := u + "#" + token + "&k=" + s.box.secret
	if s.remote {
		l += "&r=" + url.QueryEscape(strings.TrimSuffix(s.srv.url, "/"))
	}
	return l
}

func (s *scanAndGo) close() { s.srv.close() }

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
		case a := <-s.box.answers:
			return a, nil
		case r := <-pending:
			pending = nil
			if r.err != nil && ctx.Err() == nil {
				stdinDone = true
				select {
				case a := <-s.box.answers:
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
