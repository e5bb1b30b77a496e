package web

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestAnswerBox: the return endpoint takes exactly one answer with a valid MAC; everything else
// is refused, and the accepted answer is what the session reads.
func TestAnswerBox(t *testing.T) {
	box, err := NewAnswerBox()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := Serve("127.0.0.1:0", box)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	post := func(method, body string) int {
		req, _ := http.NewRequest(method, srv.URL+"answer", strings.NewReader(body))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	good := fmt.Sprintf(`{"answer":"p2pc1.xyz","mac":"%s"}`, AnswerMAC(box.secret, "p2pc1.xyz"))
	for _, c := range []struct {
		method, body string
		want         int
	}{
		{"GET", "", 405},
		{"POST", `{"answer":"p2pc1.xyz","mac":""}`, 403},
		{"POST", `{"answer":"p2pc1.xyz","mac":"` + AnswerMAC(box.secret, "p2pc1.other") + `"}`, 403},
		{"POST", `{"answer":"p2pc1.xyz","mac":"` + strings.ToUpper(AnswerMAC(box.secret+"x", "p2pc1.xyz")) + `"}`, 403},
		{"POST", `{}`, 403},
		{"POST", good, 200},
		{"POST", good, 409},
		{"POST", `{"answer":"p2pc1.xyz","mac":"00"}`, 403},
	} {
		if got := post(c.method, c.body); got != c.want {
			t.Errorf("%s %s: HTTP %d, want %d", c.method, c.body, got, c.want)
		}
	}
	select {
	case a := <-box.Answers():
		if a != "p2pc1.xyz" {
			t.Errorf("accepted %q", a)
		}
	default:
		t.Error("no answer accepted")
	}
	// The page itself is served, with a policy that forbids loading anything from elsewhere.
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if csp := res.Header.Get("Content-Security-Policy"); res.StatusCode != 200 || !strings.Contains(csp, "default-src 'self'") {
		t.Errorf("GET /: %d, CSP %q", res.StatusCode, csp)
	}
}
