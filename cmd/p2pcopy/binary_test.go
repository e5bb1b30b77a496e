package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// binary builds cmd/p2pcopy once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "p2pcopy-bin")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "p2pcopy")
		out, err := exec.Command("go", "build", "-o", builtBin, ".").CombinedOutput()
		if err != nil {
			buildErr = err
			t.Logf("%s", out)
		}
	})
	if buildErr != nil {
		t.Fatalf("go build: %v", buildErr)
	}
	return builtBin
}

// syncBuffer is a bytes.Buffer safe to read while a process writes to it.
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

func exitCodeOf(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// TestInterrupt: Ctrl-C (SIGINT) on either side mid-transfer ends both cleanly: the interrupted
// side exits 130, the other exits 1 naming the cause, and no final-named file exists.
func TestInterrupt(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "big.bin")
	f, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(4 << 30); err != nil { // sparse: reads fast, never finishes before the signal
		t.Fatal(err)
	}
	_ = f.Close()

	for _, victim := range []string{"sender", "receiver"} {
		t.Run(victim, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			a2bR, a2bW, _ := os.Pipe()
			b2aR, b2aW, _ := os.Pipe()
			var sendErr, recvErr syncBuffer
			sender := exec.Command(bin, "send", "--no-stun", src)
			sender.Stdin, sender.Stdout, sender.Stderr = b2aR, a2bW, &sendErr
			receiver := exec.Command(bin, "receive", "--no-stun", "--json", "-y", "-o", out)
			receiver.Stdin, receiver.Stdout, receiver.Stderr = a2bR, b2aW, &recvErr
			if err := sender.Start(); err != nil {
				t.Fatal(err)
			}
			if err := receiver.Start(); err != nil {
				t.Fatal(err)
			}
			for _, f := range []*os.File{a2bR, a2bW, b2aR, b2aW} {
				_ = f.Close()
			}
			kill := time.AfterFunc(2*time.Minute, func() { _ = sender.Process.Kill(); _ = receiver.Process.Kill() })
			defer kill.Stop()
			// Wait until bytes are flowing (a progress event with bytes > 0), then interrupt.
			deadline := time.Now().Add(90 * time.Second)
			for !strings.Contains(recvErr.String(), `"event":"progress"`) || !hasProgress(recvErr.String()) {
				if time.Now().After(deadline) {
					t.Fatalf("no progress; receiver:\n%s\nsender:\n%s", recvErr.String(), sendErr.String())
				}
				time.Sleep(50 * time.Millisecond)
			}
			victimCmd, other := sender, receiver
			if victim == "receiver" {
				victimCmd, other = receiver, sender
			}
			_ = victimCmd.Process.Signal(syscall.SIGINT)
			victimCode, otherCode := exitCodeOf(victimCmd.Wait()), exitCodeOf(other.Wait())
			victimErr, otherErr := sendErr.String(), recvErr.String()
			if victim == "receiver" {
				victimErr, otherErr = otherErr, victimErr
			}
			if victimCode != 130 || !strings.Contains(victimErr, "interrupted") {
				t.Errorf("%s: exit %d, want 130 with \"interrupted\":\n%s", victim, victimCode, victimErr)
			}
			if otherCode != 1 || !strings.Contains(otherErr, "peer: the peer cancelled the transfer") {
				t.Errorf("other side: exit %d, want 1 with \"peer: the peer cancelled the transfer\":\n%s", otherCode, otherErr)
			}
			if _, err := os.Stat(filepath.Join(out, "big.bin")); err == nil {
				t.Errorf("big.bin exists under its final name after an interrupted transfer")
			}
			if _, err := os.Stat(filepath.Join(out, "big.bin.p2pcopy-part")); err != nil {
				t.Errorf("the partial file should be kept for a resume: %v", err)
			}
		})
	}
}

func hasProgress(jsonLines string) bool {
	for _, line := range strings.Split(jsonLines, "\n") {
		var ev struct {
			Event string
			Bytes int64
		}
		if json.Unmarshal([]byte(line), &ev) == nil && ev.Event == "progress" && ev.Bytes > 0 {
			return true
		}
	}
	return false
}

// TestBinaryStreamToStdout: the receiver starts ("receive -o -" prints its offer on stderr since
// stdout carries the data), the sender answers with data from stdin ("send - TOKEN").
func TestBinaryStreamToStdout(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	data := make([]byte, 20<<20+3)
	_, _ = rand.Read(data)
	src := filepath.Join(dir, "data")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := os.Create(filepath.Join(dir, "got"))
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()

	receiver := exec.Command(bin, "receive", "--no-stun", "-y", "-o", "-")
	recvIn, _ := receiver.StdinPipe()
	recvErrPipe, _ := receiver.StderrPipe()
	receiver.Stdout = got
	if err := receiver.Start(); err != nil {
		t.Fatal(err)
	}
	kill := time.AfterFunc(2*time.Minute, func() { _ = receiver.Process.Kill() })
	defer kill.Stop()
	var recvLog syncBuffer
	offer := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(recvErrPipe)
		for sc.Scan() {
			line := sc.Text()
			_, _ = recvLog.Write([]byte(line + "\n"))
			if strings.HasPrefix(line, "p2pc1.") {
				offer <- line
			}
		}
	}()
	var tok string
	select {
	case tok = <-offer:
	case <-time.After(60 * time.Second):
		t.Fatalf("receiver printed no offer on stderr:\n%s", recvLog.String())
	}

	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	sender := exec.Command(bin, "send", "--no-stun", "-", tok)
	sender.Stdin = in
	var sendErr syncBuffer
	sender.Stderr = &sendErr
	answer, _ := sender.StdoutPipe()
	if err := sender.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_, _ = io.Copy(recvIn, answer) // the answer line, then EOF
	}()
	if err := sender.Wait(); err != nil {
		t.Fatalf("sender: %v\n%s", err, sendErr.String())
	}
	if err := receiver.Wait(); err != nil {
		t.Fatalf("receiver: %v\n%s", err, recvLog.String())
	}
	b, err := os.ReadFile(got.Name())
	if err != nil || sha256.Sum256(b) != sha256.Sum256(data) {
		t.Fatalf("stdout data differs from stdin data: %d of %d bytes", len(b), len(data))
	}
}
