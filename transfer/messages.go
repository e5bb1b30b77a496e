package transfer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Message types (PROTOCOL.md §2.2).
const (
	typeHello    = 'H'
	typeManifest = 'M'
	typeAccept   = 'A'
	typeProof    = 'P'
	typeResume   = 'R'
	typeStart    = 'S'
	typeData     = 'D'
	typeFileEnd  = 'F'
	typeEnd      = 'E'
	typeComplete = 'C'
	typeError    = 'X'
	typeAlive    = 'K'
)

const (
	// protocolVersion 2 changed the resume handshake (A, P, R) so that a receiver no longer
	// reveals hashes of its files, and added the keep-alive K. Version 1 peers are told to
	// use the same version (hello).
	protocolVersion = 2
	roleSend        = "send"
	roleReceive     = "receive"
)

type helloMsg struct {
	V    int    `json:"v"`
	Role string `json:"role"`
	App  string `json:"app,omitempty"`
	// Caps lists optional abilities of this side (capSCTPMTU8k); a peer ignores the ones it
	// does not know, and one that sends none (the page, older CLIs) has none of them.
	Caps []string `json:"caps,omitempty"`
}

// capSCTPMTU8k says this side's connection reads SCTP packets of ~8 KB and can send them
// (PacketGrower.CanGrowPackets): when both hellos carry it, each side grows its packets.
const capSCTPMTU8k = "sctp-mtu-8k"

// wireEntry is an Entry as it travels in an M message.
type wireEntry struct {
	Path  string `json:"path"`
	Kind  Kind   `json:"kind"`
	Size  int64  `json:"size"`
	Mode  uint32 `json:"mode"`
	MTime int64  `json:"mtime"`
}

type manifestMsg struct {
	Entries []wireEntry `json:"entries"`
	More    bool        `json:"more"`
}

// held is what the receiver holds of entry I: its first Offset bytes (A), or, from the
// receiver again, the offset it agrees to resume at after checking the sender's proof (R).
type held struct {
	I      int   `json:"i"`
	Offset int64 `json:"offset"`
}

type acceptMsg struct {
	Have []held `json:"have"`
}

// proof is the sender's SHA-256 of the first Offset bytes of entry I (P).
type proof struct {
	I      int    `json:"i"`
	Offset int64  `json:"offset"`
	SHA256 string `json:"sha256"`
}

type proofMsg struct {
	Proofs []proof `json:"proofs"`
}

type resumeMsg struct {
	Resume []held `json:"resume"`
}

type startMsg struct {
	I      int   `json:"i"`
	Offset int64 `json:"offset"`
}

type fileEndMsg struct {
	I      int    `json:"i"`
	SHA256 string `json:"sha256"`
}

type completeMsg struct {
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
}

type errorMsg struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// message is one decoded message. Only the field that matches Type is set. It is a
// plain struct rather than an interface so that decoding a D message does not allocate.
type message struct {
	Type     byte
	Hello    helloMsg
	Manifest manifestMsg
	Accept   acceptMsg
	Proof    proofMsg
	Resume   resumeMsg
	Start    startMsg
	Data     []byte // D: aliases the buffer that was decoded
	FileEnd  fileEndMsg
	Complete completeMsg
	Error    errorMsg
}

// messageName names a message type for error messages.
func messageName(t byte) string {
	switch t {
	case typeHello:
		return "hello (H)"
	case typeManifest:
		return "manifest (M)"
	case typeAccept:
		return "accept (A)"
	case typeProof:
		return "proof (P)"
	case typeResume:
		return "resume (R)"
	case typeAlive:
		return "keep-alive (K)"
	case typeStart:
		return "start (S)"
	case typeData:
		return "data (D)"
	case typeFileEnd:
		return "file end (F)"
	case typeEnd:
		return "end (E)"
	case typeComplete:
		return "complete (C)"
	case typeError:
		return "error (X)"
	}
	if t >= 0x21 && t < 0x7f {
		return fmt.Sprintf("unknown type %q", t)
	}
	return fmt.Sprintf("unknown type 0x%02x", t)
}

// decodeMessage parses one message from the peer. It never panics and allocates at most
// a small multiple of len(b). Errors are *Error with code "protocol".
func decodeMessage(b []byte) (message, error) {
	if len(b) == 0 {
		return message{}, protocolError("the peer sent an empty message")
	}
	if b[0] == typeData { // the hot path: must not allocate
		return message{Type: typeData, Data: b[1:]}, nil
	}
	m := message{Type: b[0]}
	body := b[1:]
	var v any
	switch m.Type {
	case typeHello:
		v = &m.Hello
	case typeManifest:
		v = &m.Manifest
	case typeAccept:
		v = &m.Accept
	case typeProof:
		v = &m.Proof
	case typeResume:
		v = &m.Resume
	case typeAlive:
		v = &struct{}{}
	case typeStart:
		v = &m.Start
	case typeFileEnd:
		v = &m.FileEnd
	case typeEnd:
		v = &struct{}{}
	case typeComplete:
		v = &m.Complete
	case typeError:
		v = &m.Error
	default:
		return message{}, protocolError("the peer sent a message of %s", messageName(m.Type))
	}
	if err := decodeJSON(body, v); err != nil {
		return message{}, protocolError("the peer sent a malformed %s message: %v", messageName(m.Type), err)
	}
	if err := m.validate(); err != nil {
		return message{}, protocolError("the peer sent an invalid %s message: %v", messageName(m.Type), err)
	}
	return m, nil
}

// decodeJSON decodes a control message body: one UTF-8 JSON object and nothing else.
func decodeJSON(body []byte, v any) error {
	if !utf8.Valid(body) {
		return fmt.Errorf("not valid UTF-8")
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return fmt.Errorf("the body is not a JSON object")
	}
	return json.Unmarshal(body, v)
}

// validate checks the values that must hold whatever the state of the transfer.
func (m *message) validate() error {
	switch m.Type {
	case typeManifest:
		for _, e := range m.Manifest.Entries {
			switch e.Kind {
			case KindFile, KindText:
				if e.Size < 0 {
					return fmt.Errorf("entry %s has a negative size", quote(e.Path))
				}
			case KindStream:
				if e.Size < -1 {
					return fmt.Errorf("entry %s has a negative size", quote(e.Path))
				}
			case KindDir:
			default:
				return fmt.Errorf("entry %s has an unknown kind %s", quote(e.Path), quote(string(e.Kind)))
			}
		}
	case typeAccept:
		return validHeld(m.Accept.Have)
	case typeResume:
		return validHeld(m.Resume.Resume)
	case typeProof:
		for _, p := range m.Proof.Proofs {
			if p.I < 0 || p.Offset < 0 {
				return fmt.Errorf("negative index or offset")
			}
			if !isSHA256Hex(p.SHA256) {
				return fmt.Errorf("sha256 is not 64 hex digits")
			}
		}
	case typeStart:
		if m.Start.I < 0 || m.Start.Offset < 0 {
			return fmt.Errorf("negative index or offset")
		}
	case typeFileEnd:
		if m.FileEnd.I < 0 {
			return fmt.Errorf("negative index")
		}
		if !isSHA256Hex(m.FileEnd.SHA256) {
			return fmt.Errorf("sha256 is not 64 hex digits")
		}
	case typeComplete:
		if m.Complete.Files < 0 || m.Complete.Bytes < 0 {
			return fmt.Errorf("negative count")
		}
	}
	return nil
}

func validHeld(list []held) error {
	for _, h := range list {
		if h.I < 0 || h.Offset < 0 {
			return fmt.Errorf("negative index or offset")
		}
	}
	return nil
}

func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// encodeMessage returns a control message: its type byte followed by v as JSON.
func encodeMessage(t byte, v any) []byte {
	body, err := json.Marshal(v)
	if err != nil {
		// Only our own message structs are encoded; they always marshal.
		panic(fmt.Sprintf("transfer: encoding %c message: %v", t, err))
	}
	return append([]byte{t}, body...)
}

// encodeManifest splits entries over as many M messages as needed so that none is
// larger than limit bytes.
func encodeManifest(entries []Entry, limit int) ([][]byte, error) {
	const (
		head = `M{"entries":[`
		more = `],"more":true}`
		last = `],"more":false}`
	)
	var msgs [][]byte
	cur := []byte(head)
	n := 0 // entries in cur
	for _, e := range entries {
		ej, err := json.Marshal(toWire(e))
		if err != nil {
			return nil, fmt.Errorf("encoding the manifest entry for %s: %w", e.Path, err)
		}
		if len(head)+len(ej)+len(last) > limit {
			return nil, fmt.Errorf("the manifest entry for %s does not fit in a message", e.Path)
		}
		if len(cur)+1+len(ej)+len(last) > limit {
			msgs = append(msgs, append(cur, more...))
			cur, n = []byte(head), 0
		}
		if n > 0 {
			cur = append(cur, ',')
		}
		cur = append(cur, ej...)
		n++
	}
	return append(msgs, append(cur, last...)), nil
}
