package main

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestTokenReaderStopsOnClose: the background reader of stdin lines does not stay blocked on
// handing over a line nobody will read once the session is done with it.
func TestTokenReaderStopsOnClose(t *testing.T) {
	before := runtime.NumGoroutine()
	for range 20 {
		tio := &tokenIO{in: strings.NewReader("line one\nline two\n"), done: make(chan struct{})}
		tio.startReading()
		time.Sleep(time.Millisecond) // the reader has read "line one" and waits to hand it over
		tio.close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+2 {
		t.Errorf("%d goroutines left behind by 20 closed token readers", n-before)
	}
}
