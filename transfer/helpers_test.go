package transfer

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// outcome is what both sides of a transfer returned.
type outcome struct {
	sendRes, recvRes Result
	sendErr, recvErr error
}

// transfer runs Send and Receive over a Pipe and returns both outcomes.
func transfer(t testing.TB, items []Item, sopts SendOptions, ropts ReceiveOptions) outcome {
	t.Helper()
	return transferCtx(t, context.Background(), context.Background(), items, sopts, ropts)
}

func transferCtx(t testing.TB, sctx, rctx context.Context, items []Item, sopts SendOptions, ropts ReceiveOptions) outcome {
	t.Helper()
	a, b := Pipe()
	var o outcome
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); o.sendRes, o.sendErr = Send(sctx, a, items, sopts) }()
	go func() { defer wg.Done(); o.recvRes, o.recvErr = Receive(rctx, b, ropts) }()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("transfer did not finish")
	}
	return o
}

// mustSucceed fails the test unless both sides succeeded.
func (o outcome) mustSucceed(t testing.TB) {
	t.Helper()
	if o.sendErr != nil || o.recvErr != nil {
		t.Fatalf("transfer failed:\n send: %v\n recv: %v", o.sendErr, o.recvErr)
	}
}

// wantError checks that err is an *Error with the given code, remote flag and message.
func wantError(t testing.TB, side string, err error, code string, remote bool, msg string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: got error %v (%T), want *Error %q", side, err, err, code)
	}
	if e.Code != code || e.Remote != remote || (msg != "" && e.Message != msg) {
		t.Fatalf("%s: got Error{Code: %q, Remote: %v, Message: %q}\nwant Error{Code: %q, Remote: %v, Message: %q}",
			side, e.Code, e.Remote, e.Message, code, remote, msg)
	}
}

// wantErrorOneOf is wantError for an event whose moment, and so its exact message, depends on
// scheduling: the message must be one of msgs.
func wantErrorOneOf(t testing.TB, side string, err error, code string, remote bool, msgs ...string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: got error %v (%T), want *Error %q", side, err, err, code)
	}
	if e.Code != code || e.Remote != remote || !slices.Contains(msgs, e.Message) {
		t.Fatalf("%s: got Error{Code: %q, Remote: %v, Message: %q}\nwant Code %q, Remote %v, one of the messages %q",
			side, e.Code, e.Remote, e.Message, code, remote, msgs)
	}
}

// wantFix fails unless err is an *Error whose Fix, the advice the CLI or the page words in
// its own terms, is fix.
func wantFix(t testing.TB, side string, err error, fix Fix) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: got error %v (%T), want *Error with Fix %v", side, err, err, fix)
	}
	if e.Fix != fix {
		t.Errorf("%s: got Fix %v on %q, want %v", side, e.Fix, e.Message, fix)
	}
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func fileItems(t testing.TB, paths ...string) []Item {
	t.Helper()
	var items []Item
	for _, p := range paths {
		it, warnings, err := FileItems(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(warnings) > 0 {
			t.Logf("warnings: %q", warnings)
		}
		items = append(items, it...)
	}
	return items
}

// tree lists every file and directory under root as "path" (directories end in "/")
// or "path=content".
func tree(t testing.TB, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		switch {
		case rel == ".":
		case d.IsDir():
			out = append(out, rel+"/")
		case d.Type()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			out = append(out, rel+" -> "+target)
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out = append(out, rel+"="+string(b))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func sameTree(t testing.TB, got, want string) {
	t.Helper()
	g, w := tree(t, got), tree(t, want)
	if !slices.Equal(g, w) {
		t.Fatalf("trees differ:\n got %s\nwant %s", strings.Join(short(g), "\n     "), strings.Join(short(w), "\n     "))
	}
}

func short(list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		if len(s) > 80 {
			s = s[:80] + "…"
		}
		out[i] = s
	}
	return out
}

// events records events safely.
type events struct {
	mu   sync.Mutex
	list []Event
}

func (e *events) add(ev Event) {
	e.mu.Lock()
	e.list = append(e.list, ev)
	e.mu.Unlock()
}

func (e *events) of(typ EventType) []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Event
	for _, ev := range e.list {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
