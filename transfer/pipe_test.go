package transfer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"
)

func TestPipeOrderAndEOF(t *testing.T) {
	a, b := Pipe()
	var want [][]byte
	for i := range 100 {
		msg := bytes.Repeat([]byte{byte(i)}, i*997%MaxMessageSize)
		want = append(want, msg)
	}
	go func() {
		for _, m := range want {
			if err := a.WriteMsg(m); err != nil {
				t.Error(err)
				return
			}
		}
		a.Close()
	}()
	buf := make([]byte, MaxMessageSize)
	for i, w := range want {
		n, err := b.ReadMsg(buf)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !bytes.Equal(buf[:n], w) {
			t.Fatalf("message %d: got %d bytes, want %d", i, n, len(w))
		}
	}
	if _, err := b.ReadMsg(buf); err != io.EOF {
		t.Fatalf("after the peer closed: got %v, want io.EOF", err)
	}
	if err := b.WriteMsg([]byte("x")); err == nil {
		t.Fatal("WriteMsg to a closed peer succeeded")
	}
}

func TestPipeFlowControl(t *testing.T) {
	a, b := Pipe()
	defer a.Close()
	defer b.Close()
	chunk := make([]byte, MaxMessageSize)
	var mu sync.Mutex
	written := 0
	go func() {
		for {
			if err := a.WriteMsg(chunk); err != nil {
				return
			}
			mu.Lock()
			written++
			mu.Unlock()
		}
	}()
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	n := written
	mu.Unlock()
	if max := pipeCapacity / MaxMessageSize; n > max {
		t.Fatalf("%d messages of %d bytes written without a reader; the buffer should hold at most %d", n, MaxMessageSize, max)
	}
	buf := make([]byte, MaxMessageSize)
	for range 3 * n {
		if _, err := b.ReadMsg(buf); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPipeCloseUnblocks(t *testing.T) {
	a, b := Pipe()
	done := make(chan error, 2)
	go func() { _, err := a.ReadMsg(make([]byte, 10)); done <- err }()
	go func() {
		big := make([]byte, MaxMessageSize)
		for {
			if err := a.WriteMsg(big); err != nil {
				done <- err
				return
			}
		}
	}()
	time.Sleep(50 * time.Millisecond)
	a.Close()
	for range 2 {
		select {
		case err := <-done:
			if !errors.Is(err, io.ErrClosedPipe) {
				t.Errorf("got %v, want io.ErrClosedPipe", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Close did not unblock ReadMsg/WriteMsg")
		}
	}
	b.Close()
}

func TestPipeLimits(t *testing.T) {
	a, b := Pipe()
	defer a.Close()
	defer b.Close()
	// A Pipe carries what a hostile peer may send (more than MaxMessageSize), up to its
	// capacity.
	if err := a.WriteMsg(make([]byte, pipeCapacity+1)); err == nil {
		t.Error("a message over the capacity was accepted")
	}
	if err := a.WriteMsg([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	if n, err := b.ReadMsg(make([]byte, 2)); !errors.Is(err, io.ErrShortBuffer) || n != 5 {
		t.Errorf("short buffer: got %d, %v; want the message's size 5 and io.ErrShortBuffer", n, err)
	}
	// Empty messages are messages too.
	a.WriteMsg(nil)
	if n, err := b.ReadMsg(make([]byte, 2)); n != 0 || err != nil {
		t.Errorf("empty message: got %d, %v", n, err)
	}
}

func ExamplePipe() {
	a, b := Pipe()
	go func() {
		a.WriteMsg([]byte("hello"))
		a.Close()
	}()
	buf := make([]byte, MaxMessageSize)
	for {
		n, err := b.ReadMsg(buf)
		if err != nil {
			fmt.Println(err)
			break
		}
		fmt.Printf("%s\n", buf[:n])
	}
	// Output:
	// hello
	// EOF
}
