package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

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
	if got := answerMAC(v.Secret, v.Answer); got != v.MAC {
		t.Errorf("answerMAC = %s, want %s", got, v.MAC)
	}
	local := &scanAndGo{srv: &pageServer{url: v.Page}, box: &answerBox{secret: v.Secret}, pageURL: v.Page}
	if got := local.link(v.Offer); got != v.Link {
		t.Errorf("link\n%s\nwant\n%s", got, v.Link)
	}
	hosted := &scanAndGo{srv: &pageServer{url: v.ReturnOrigin + "/"}, box: &answerBox{secret: v.Secret}, pageURL: v.PageHosted, remote: true}
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
