package main

import (
	"bytes"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/p2pcopy/p2pcopy/signal"
)

// The profiling variables make the process write both profiles, in pprof's format (gzipped
// protocol buffers).
func TestProfilesWritten(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{
		cpuProfileEnv: filepath.Join(dir, "cpu.prof"),
		memProfileEnv: filepath.Join(dir, "mem.prof"),
	}
	var stderr bytes.Buffer
	stop := startProfiles(func(k string) string { return env[k] }, &stderr)
	sum := sha256.Sum256(nil)
	for range 200_000 { // some work and allocation for the profiles to see
		b := append([]byte{}, sum[:]...)
		sum = sha256.Sum256(b)
	}
	stop()
	if stderr.Len() != 0 {
		t.Errorf("stderr: %s", stderr.String())
	}
	for _, p := range env {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) < 100 || b[0] != 0x1f || b[1] != 0x8b {
			t.Errorf("%s: %d bytes, not a gzipped profile", p, len(b))
		}
	}

}

// TestUDPOffloadSwitch: UDP GSO/GRO is on unless P2PCOPY_UDP_OFFLOAD=0 (or false, off, no) turns
// it off.
func TestUDPOffloadSwitch(t *testing.T) {
	for value, wantOff := range map[string]bool{"": false, "1": false, "0": true, "off": true, " False": true, "no": true} {
		env := &Env{Getenv: func(k string) string {
			if k == udpOffloadEnv {
				return value
			}
			return ""
		}}
		cfg, err := (&globals{timeout: time.Minute, stall: time.Minute}).signalConfig(env, signal.RoleSender)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.DisableUDPOffload != wantOff {
			t.Errorf("%s=%q: DisableUDPOffload %v, want %v", udpOffloadEnv, value, cfg.DisableUDPOffload, wantOff)
		}
	}
}
