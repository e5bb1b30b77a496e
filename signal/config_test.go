package signal

import (
	"strings"
	"testing"
)

func TestParseTURN(t *testing.T) {
	for _, c := range []struct {
		in, url, user, pass string
	}{
		{"turn:alice:s3cret@relay.example:3478", "turn:relay.example:3478", "alice", "s3cret"},
		{" turn:alice:s3cret@relay.example ", "turn:relay.example:3478", "alice", "s3cret"},
		{"turns:alice:s3cret@relay.example", "turns:relay.example:5349", "alice", "s3cret"},
		{"turn:al%40ice:p%3Ass@10.0.0.1:3479?transport=tcp", "turn:10.0.0.1:3479?transport=tcp", "al@ice", "p:ss"},
		{"turn:alice:p@ss@[2001:db8::1]:3478", "turn:[2001:db8::1]:3478", "alice", "p@ss"},
	} {
		s, err := ParseTURN(c.in)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if len(s.URLs) != 1 || s.URLs[0] != c.url || s.Username != c.user || s.Credential != c.pass {
			t.Errorf("%q: got %v %q %q, want %q %q %q", c.in, s.URLs, s.Username, s.Credential, c.url, c.user, c.pass)
		}
	}
	const usage = ": write it as turn:USER:PASS@HOST:PORT (or turns:..., add ?transport=tcp for TCP)"
	for in, shown := range map[string]string{
		"bogus":                                    "bogus",
		"stun:relay.example":                       "stun:relay.example",
		"turn:relay.example":                       "turn:relay.example",
		"turn:alice@relay.example":                 "turn:alice@relay.example",
		"turn:alice:s3cret@relay.example?tr=x":     "turn:alice:***@relay.example?tr=x",
		"turn:alice:s3cret@relay.example:1?x=%zz":  "turn:alice:***@relay.example:1?x=%zz",
		"turns:bob:hunter2@relay:1?transport=sctp": "turns:bob:***@relay:1?transport=sctp",
	} {
		_, err := ParseTURN(in)
		if err == nil {
			t.Errorf("%q: accepted", in)
			continue
		}
		if want := "bad TURN server \"" + shown + "\"" + usage; err.Error() != want {
			t.Errorf("%q:\n got %s\nwant %s", in, err, want)
		}
		for _, secret := range []string{"s3cret", "hunter2"} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%q: the error shows the password: %s", in, err)
			}
		}
	}
}
