package transfer

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestMessageRoundTrip(t *testing.T) {
	sha := strings.Repeat("ab", 32)
	msgs := []struct {
		typ byte
		v   any
	}{
		{typeHello, helloMsg{V: 2, Role: roleSend, App: "p2pcopy/0.1"}},
		{typeManifest, manifestMsg{Entries: []wireEntry{{Path: "a", Kind: KindFile, Size: 3, Mode: 0o644, MTime: 5}}, More: true}},
		{typeAccept, acceptMsg{Have: []held{{I: 1, Offset: 2}}}},
		{typeProof, proofMsg{Proofs: []proof{{I: 1, Offset: 2, SHA256: sha}}}},
		{typeResume, resumeMsg{Resume: []held{{I: 1, Offset: 2}}}},
		{typeAlive, struct{}{}},
		{typeStart, startMsg{I: 3, Offset: 4}},
		{typeFileEnd, fileEndMsg{I: 3, SHA256: sha}},
		{typeEnd, struct{}{}},
		{typeComplete, completeMsg{Files: 1, Bytes: 2}},
		{typeError, errorMsg{Code: CodeCancelled, Message: "the peer cancelled the transfer"}},
	}
	for _, m := range msgs {
		b := encodeMessage(m.typ, m.v)
		got, err := decodeMessage(b)
		if err != nil {
			t.Errorf("%s: %v", b, err)
			continue
		}
		var v any
		switch m.typ {
		case typeHello:
			v = got.Hello
		case typeManifest:
			v = got.Manifest
		case typeAccept:
			v = got.Accept
		case typeProof:
			v = got.Proof
		case typeResume:
			v = got.Resume
		case typeAlive:
			v = struct{}{}
		case typeStart:
			v = got.Start
		case typeFileEnd:
			v = got.FileEnd
		case typeEnd:
			v = struct{}{}
		case typeComplete:
			v = got.Complete
		case typeError:
			v = got.Error
		}
		if fmt.Sprint(v) != fmt.Sprint(m.v) || got.Type != m.typ {
			t.Errorf("%s decoded as %+v", b, v)
		}
	}
	if m, err := decodeMessage([]byte("Draw\x00bytes")); err != nil || string(m.Data) != "raw\x00bytes" {
		t.Errorf("D: %q, %v", m.Data, err)
	}
	// Unknown members are ignored.
	if m, err := decodeMessage([]byte(`S{"i":1,"offset":2,"future":{"x":[1,2]}}`)); err != nil || m.Start != (startMsg{1, 2}) {
		t.Errorf("unknown member: %+v, %v", m.Start, err)
	}
}

func TestDecodeMessageErrors(t *testing.T) {
	cases := map[string]string{
		"":                                     "the peer sent an empty message",
		"Z{}":                                  "the peer sent a message of unknown type 'Z'",
		"\x00":                                 "the peer sent a message of unknown type 0x00",
		"S":                                    "the peer sent a malformed start (S) message: the body is not a JSON object",
		"Snull":                                "the peer sent a malformed start (S) message: the body is not a JSON object",
		"S[]":                                  "the peer sent a malformed start (S) message: the body is not a JSON object",
		`S{"i":1}x`:                            "the peer sent a malformed start (S) message: invalid character 'x' after top-level value",
		`S{"i":-1,"offset":0}`:                 "the peer sent an invalid start (S) message: negative index or offset",
		`S{"i":1.5}`:                           "the peer sent a malformed start (S) message: json: cannot unmarshal number 1.5 into Go struct field startMsg.i of type int",
		`F{"i":0,"sha256":"abc"}`:              "the peer sent an invalid file end (F) message: sha256 is not 64 hex digits",
		"M{\"entries\":[{\"path\":\"\xff\"}]}": "the peer sent a malformed manifest (M) message: not valid UTF-8",
		`M{"entries":[{"path":"a","kind":"file","size":-1}]}`: `the peer sent an invalid manifest (M) message: entry "a" has a negative size`,
		`M{"entries":[{"path":"a","kind":"file","mode":-1}]}`: "the peer sent a malformed manifest (M) message: json: cannot unmarshal number -1 into Go struct field wireEntry.entries.mode of type uint32",
	}
	for in, want := range cases {
		_, err := decodeMessage([]byte(in))
		if err == nil || err.Error() != want {
			t.Errorf("decodeMessage(%q):\n got %v\nwant %s", in, err, want)
		}
		if e, ok := err.(*Error); !ok || e.Code != CodeProtocol {
			t.Errorf("decodeMessage(%q): %#v is not a protocol *Error", in, err)
		}
	}
}

func TestEncodeManifest(t *testing.T) {
	var entries []Entry
	for i := range 10_000 {
		entries = append(entries, Entry{Path: fmt.Sprintf("some/fairly/long/directory/name/file-%05d.txt", i),
			Kind: KindFile, Size: int64(i), Mode: 0o644, ModTime: time.Unix(int64(i)+1, 0)}) // mtime 0 means unknown
	}
	msgs, err := encodeManifest(entries, MaxMessageSize)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) < 2 {
		t.Fatalf("%d messages", len(msgs))
	}
	var got []Entry
	for i, b := range msgs {
		if len(b) > MaxMessageSize {
			t.Errorf("message %d has %d bytes", i, len(b))
		}
		m, err := decodeMessage(b)
		if err != nil {
			t.Fatal(err)
		}
		if m.Manifest.More != (i < len(msgs)-1) {
			t.Errorf("message %d: more = %v", i, m.Manifest.More)
		}
		for _, w := range m.Manifest.Entries {
			got = append(got, fromWire(w))
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(entries) {
		t.Error("entries differ after the round trip")
	}
	// A tiny limit: every entry in its own message.
	msgs, err = encodeManifest(entries[:3], 150)
	if err != nil || len(msgs) != 3 {
		t.Errorf("%d messages, %v", len(msgs), err)
	}
	if _, err := encodeManifest(entries[:1], 50); err == nil {
		t.Error("an entry larger than the limit was accepted")
	}
	// No entries at all.
	if msgs, _ := encodeManifest(nil, MaxMessageSize); len(msgs) != 1 || string(msgs[0]) != `M{"entries":[],"more":false}` {
		t.Errorf("empty manifest: %q", msgs)
	}
}

func FuzzDecodeMessage(f *testing.F) {
	sha := strings.Repeat("0f", 32)
	for _, s := range []string{
		`H{"v":1,"role":"send","app":"p2pcopy/0.1"}`,
		`M{"entries":[{"path":"dir/a.txt","kind":"file","size":3,"mode":420,"mtime":1700000000}],"more":false}`,
		`A{"resume":[{"i":1,"offset":10,"sha256":"` + sha + `"}]}`,
		`S{"i":0,"offset":0}`, "Dpayload", `F{"i":0,"sha256":"` + sha + `"}`, "E{}",
		`C{"files":1,"bytes":3}`, `X{"code":"cancelled","message":"the peer cancelled the transfer"}`,
		"", "Z", "M{", `M{"entries":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMessage(b)
		if err != nil {
			if e, ok := err.(*Error); !ok || e.Code != CodeProtocol || e.Remote {
				t.Fatalf("error %#v", err)
			}
			return
		}
		if m.Type != b[0] {
			t.Fatalf("type %q for %q", m.Type, b)
		}
		if err := m.validate(); err != nil {
			t.Fatalf("decoded an invalid message: %v", err)
		}
		switch m.Type {
		case typeData:
			if len(m.Data) != len(b)-1 {
				t.Fatal("data length")
			}
		case typeManifest:
			for _, w := range m.Manifest.Entries {
				e := fromWire(w)
				if e.Mode&^0o777 != 0 || (e.Kind != KindStream && e.Size < 0) {
					t.Fatalf("entry %+v", e)
				}
			}
		case typeError:
			e := remoteError(m.Error)
			for _, r := range e.Message + e.Code {
				if r < 0x20 || r == 0x7f || isBidiControl(r) {
					t.Fatalf("peer text %q not cleaned", e.Message)
				}
			}
		}
	})
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 bytes", 1: "1 byte", 999: "999 bytes", 1000: "1.0 kB", 15_000: "15.0 kB",
		3_100_000_000: "3.1 GB", 17_200_000_000: "17.2 GB", 999_960: "1.0 MB", 1 << 50: "1.1 PB"} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
