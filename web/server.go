package web

// The page servers: "p2pcopy web" and "p2pcopy send --qr" serve the page with a policy that
// lets it load nothing from elsewhere, and send --qr takes the answer back from it (scan-and-go,
// docs/PROTOCOL.md §3.2).

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server serves the page and, for scan-and-go, the answer endpoint.
type Server struct {
	URL string // http://HOST:PORT/
	hs  *http.Server
}

// Close stops the server.
func (s *Server) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = s.hs.Shutdown(ctx)
}

// Serve serves the page on listen (HOST:PORT); box, if not nil, takes the answer at POST
// /answer (docs/PROTOCOL.md §3.2).
func Serve(listen string, box *AnswerBox) (*Server, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, err
	}
	hs := &http.Server{
		Handler:           Handler(box),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0), // nothing about requests is ever logged
	}
	go func() { _ = hs.Serve(ln) }()
	addr := ln.Addr().(*net.TCPAddr).AddrPort()
	return &Server{URL: "http://" + addr.String() + "/", hs: hs}, nil
}

// Handler serves the page (FS) with its Content-Security-Policy (§3.2); box, if not nil, takes
// the answer at POST /answer.
func Handler(box *AnswerBox) http.Handler {
	files := http.FileServerFS(FS)
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

// AnswerBox is the scan-and-go return endpoint: it accepts one answer token whose MAC proves
// knowledge of the secret in the link's fragment.
type AnswerBox struct {
	secret  string
	mu      sync.Mutex
	taken   bool
	answers chan string // one accepted answer
}

// NewAnswerBox makes a box with a fresh secret (128 random bits, 22 base64url characters).
func NewAnswerBox() (*AnswerBox, error) {
	var k [16]byte
	if _, err := rand.Read(k[:]); err != nil {
		return nil, err
	}
	return AnswerBoxWithSecret(base64.RawURLEncoding.EncodeToString(k[:])), nil
}

// AnswerBoxWithSecret makes a box for a secret chosen elsewhere (the test vectors).
func AnswerBoxWithSecret(secret string) *AnswerBox {
	return &AnswerBox{secret: secret, answers: make(chan string, 1)}
}

// Secret is what the link carries in k= (§3.1).
func (b *AnswerBox) Secret() string { return b.secret }

// Answers delivers the one answer accepted.
func (b *AnswerBox) Answers() <-chan string { return b.answers }

// AnswerMAC is hex(HMAC-SHA256(key = secret, message = answer)) (§3.2).
func AnswerMAC(secret, answer string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(answer))
	return hex.EncodeToString(m.Sum(nil))
}

// ServeHTTP takes an answer (POST /answer, §3.2).
func (b *AnswerBox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
	want, _ := hex.DecodeString(AnswerMAC(b.secret, req.Answer))
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
