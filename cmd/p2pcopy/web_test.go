package main

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/p2pcopy/p2pcopy/web"
)

// TestScanAndGoVector checks the MAC and the link forms of docs/PROTOCOL.md §3 against
// web/testdata/scan-and-go.json, which the JavaScript tests read too.
func TestScanAndGoVector(t *testing.T) {
	b, err := os.ReadFile("../../web/testdata/scan-and-go.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Secret, Answer, MAC, Offer, Page, Link string
		PageHosted                             string `json:"page_hosted"`
		ReturnOrigin                           string `json:"return_origin"`
		LinkHosted                             string `json:"link_hosted"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if got := web.AnswerMAC(v.Secret, v.Answer); got != v.MAC {
		t.Errorf("AnswerMAC = %s, want %s", got, v.MAC)
	}
	local := &scanAndGo{srv: &web.Server{URL: v.Page}, box: web.AnswerBoxWithSecret(v.Secret), pageURL: v.Page}
	if got := local.link(v.Offer); got != v.Link {
		t.Errorf("link\n%s\nwant\n%s", got, v.Link)
	}
	hosted := &scanAndGo{srv: &web.Server{URL: v.ReturnOrigin + "/"}, box: web.AnswerBoxWithSecret(v.Secret), pageURL: v.PageHosted, remote: true}
	if got := hosted.link(v.Offer); got != v.LinkHosted {
		t.Errorf("hosted link\n%s\nwant\n%s", got, v.LinkHosted)
	}
}

// TestWebExport: p2pcopy web --export writes exactly the embedded page.
func TestWebExport(t *testing.T) {
	dir := t.TempDir()
	var stderr syncBuffer
	env := &Env{Stdin: os.Stdin, Stdout: &stderr, Stderr: &stderr, Getenv: func(string) string { return "" },
		OpenTTY: func() (*os.File, error) { return nil, os.ErrNotExist }, Interrupted: func() bool { return false }}
	if code := Main(t.Context(), env, []string{"web", "--export", dir}); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	n := 0
	err := fs.WalkDir(web.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		want, _ := fs.ReadFile(web.FS, p)
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil || string(got) != string(want) {
			t.Errorf("%s: not exported as embedded (%v)", p, err)
		}
		n++
		return nil
	})
	if err != nil || n < 8 {
		t.Fatalf("walked %d files: %v", n, err)
	}
	for _, p := range []string{"index.html", "js/app.js", "vendor/noble-hashes/_md.js", "vendor/noble-hashes/LICENSE"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("%s missing from the export", p)
		}
	}
}

// TestAnswerRace: with send --qr the answer comes from the page or from a paste, whichever is
// first; a closed stdin leaves the page as the only way.
func TestAnswerRace(t *testing.T) {
	ctx := t.Context()
	var answers chan string // what the page hands back
	newSG := func() *scanAndGo {
		answers = make(chan string, 1)
		return &scanAndGo{answers: answers}
	}
	block := func(ctx context.Context) (string, error) { <-ctx.Done(); return "", ctx.Err() }

	sg := newSG()
	answers <- "from-page"
	if got, err := sg.race(block)(ctx); got != "from-page" || err != nil {
		t.Errorf("page answer: %q, %v", got, err)
	}

	sg = newSG()
	pasted := func(context.Context) (string, error) { return "pasted", nil }
	if got, err := sg.race(pasted)(ctx); got != "pasted" || err != nil {
		t.Errorf("pasted answer: %q, %v", got, err)
	}

	sg = newSG()
	closed := func(context.Context) (string, error) { return "", io.EOF }
	go func() { time.Sleep(50 * time.Millisecond); answers <- "late-page" }()
	if got, err := sg.race(closed)(ctx); got != "late-page" || err != nil {
		t.Errorf("closed stdin, then the page: %q, %v", got, err)
	}

	// A second read (after a bad answer) does not start a second stdin reader.
	sg = newSG()
	var reads atomic.Int32
	slow := func(ctx context.Context) (string, error) { reads.Add(1); <-ctx.Done(); return "", ctx.Err() }
	read := sg.race(slow)
	answers <- "one"
	_, _ = read(ctx)
	answers <- "two"
	if got, _ := read(ctx); got != "two" {
		t.Errorf("second answer %q", got)
	}
	if n := reads.Load(); n > 1 {
		t.Errorf("stdin read %d times at once", n)
	}
}
