package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/p2pcopy/p2pcopy/signal"
	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"p2pcopy": func() { os.Exit(run(os.Args[1:])) },
	})
}

// TestScripts runs the CLI scenarios in testdata/script: flags, help, every bad-token case with
// its exact message, exit codes.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			for name, tok := range scriptTokens(t) {
				env.Setenv(name, tok)
			}
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// exits N cmd args...: runs cmd and asserts its exit code is exactly N.
			"exits": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) < 2 {
					ts.Fatalf("usage: exits N command [args...]")
				}
				want, err := strconv.Atoi(args[0])
				if err != nil {
					ts.Fatalf("exits: bad code %q", args[0])
				}
				err = ts.Exec(args[1], args[2:]...)
				got := 0
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					got = ee.ExitCode()
				} else if err != nil {
					ts.Fatalf("exits: %v", err)
				}
				if got != want {
					ts.Fatalf("exit code %d, want %d", got, want)
				}
			},
		},
	})
}

// scriptTokens are well-formed tokens of every kind the scripts paste in the wrong place.
func scriptTokens(t *testing.T) map[string]string {
	fp := func(b byte) (f [32]byte) {
		for i := range f {
			f[i] = b
		}
		return f
	}
	cand := []signal.Candidate{{Type: signal.Host, Addr: netip.MustParseAddr("127.0.0.1"), Port: 9}}
	toks := map[string]signal.Token{
		"SENDER_OFFER":    {Kind: signal.Offer, Role: signal.RoleSender, Ufrag: "abcd", Pwd: "abcdefghijklmnopqrstuv", Fingerprint: fp(1), Candidates: cand, Summary: &signal.Summary{Entries: 1, TotalBytes: 17_200_000_000, Name: "vm.vmdk"}},
		"RECEIVER_OFFER":  {Kind: signal.Offer, Role: signal.RoleReceiver, Ufrag: "abce", Pwd: "abcdefghijklmnopqrstuw", Fingerprint: fp(2), Candidates: cand},
		"ANSWER":          {Kind: signal.Answer, Role: signal.RoleReceiver, Active: true, Ufrag: "abcf", Pwd: "abcdefghijklmnopqrstux", Fingerprint: fp(3), Candidates: cand},
		"NO_CANDIDATES":   {Kind: signal.Offer, Role: signal.RoleSender, Ufrag: "abcg", Pwd: "abcdefghijklmnopqrstuy", Fingerprint: fp(4)},
		"UNUSABLE_OFFER":  {Kind: signal.Offer, Role: signal.RoleSender, Ufrag: "abch", Pwd: "abcdefghijklmnopqrstuz", Fingerprint: fp(5), Candidates: []signal.Candidate{{Type: signal.Host, Addr: netip.MustParseAddr("0.0.0.0"), Port: 9}}},
		"HOSTILE_SUMMARY": {Kind: signal.Offer, Role: signal.RoleSender, Ufrag: "abci", Pwd: "abcdefghijklmnopqrstu0", Fingerprint: fp(6), Candidates: cand, Summary: &signal.Summary{Entries: 2, TotalBytes: 1000, Name: "evil\x1b[2Jname"}},
		"BIDI_SUMMARY":    {Kind: signal.Offer, Role: signal.RoleSender, Ufrag: "abcj", Pwd: "abcdefghijklmnopqrstu1", Fingerprint: fp(7), Candidates: cand, Summary: &signal.Summary{Entries: 1, TotalBytes: 2000, Name: "invoice\u202etxt.exe"}},
	}
	out := map[string]string{}
	for name, tok := range toks {
		s, err := tok.Encode()
		if err != nil {
			t.Fatalf("encoding %s: %v", name, err)
		}
		out[name] = s
	}
	good := out["SENDER_OFFER"]
	out["TRUNCATED"] = good[:len(good)-20]
	flip := []byte(good)
	i := len(flip) - 10
	if flip[i] == 'A' {
		flip[i] = 'B'
	} else {
		flip[i] = 'A'
	}
	out["CORRUPTED"] = string(flip)
	out["FUTURE"] = "p2pc7." + good[len("p2pc1."):]
	out["WRAPPED"] = "> " + good[:40] + "\n> " + good[40:]
	return out
}

// inProcess runs the CLI in this process with pipes for stdin/stdout, as a script would.
type inProcess struct {
	stdinW *io.PipeWriter
	stdout *bufio.Reader
	stderr *strings.Builder
	code   chan int
}

func startInProcess(ctx context.Context, args ...string) *inProcess {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	p := &inProcess{stdinW: inW, stdout: bufio.NewReader(outR), stderr: &strings.Builder{}, code: make(chan int, 1)}
	env := &Env{
		Stdin: inR, Stdout: outW, Stderr: p.stderr, Getenv: func(string) string { return "" },
		OpenTTY:     func() (*os.File, error) { return nil, errors.New("no terminal") },
		Interrupted: func() bool { return false },
	}
	go func() {
		p.code <- Main(ctx, env, args)
		_ = outW.Close()
	}()
	return p
}

// TestOwnTokenPastedBack: pasting your own offer where the answer belongs is named as such.
func TestOwnTokenPastedBack(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "f.txt")
	if err := os.WriteFile(f, []byte("hi"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := startInProcess(ctx, "send", "--no-stun", f)
	tok, err := p.stdout.ReadString('\n')
	if err != nil {
		t.Fatalf("reading the offer: %v", err)
	}
	if _, err := io.WriteString(p.stdinW, tok); err != nil {
		t.Fatal(err)
	}
	code := <-p.code
	if code != exitUsage {
		t.Fatalf("exit code %d, want %d; stderr:\n%s", code, exitUsage, p.stderr)
	}
	if !strings.Contains(p.stderr.String(), "this is your own token") {
		t.Fatalf("stderr does not name the cause:\n%s", p.stderr)
	}
}

// TestOffererPeerNeverReached: the side that printed the offer pastes an answer whose peer is
// gone (its only address, 127.0.0.1:9, answers nothing). Not one packet arrives, so the message
// asks first whether the peer's p2pcopy still runs, then gives the network advice.
func TestOffererPeerNeverReached(t *testing.T) {
	f := filepath.Join(t.TempDir(), "f.txt")
	if err := os.WriteFile(f, []byte("hi"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p := startInProcess(ctx, "send", "--no-stun", "--timeout", "2s", f)
	if _, err := p.stdout.ReadString('\n'); err != nil {
		t.Fatalf("reading the offer: %v", err)
	}
	if _, err := io.WriteString(p.stdinW, scriptTokens(t)["ANSWER"]+"\n"); err != nil {
		t.Fatal(err)
	}
	if code := <-p.code; code != exitNoConnect {
		t.Fatalf("exit code %d, want %d; stderr:\n%s", code, exitNoConnect, p.stderr)
	}
	lines := strings.Split(strings.TrimSpace(p.stderr.String()), "\n")
	want := regexp.MustCompile(`^p2pcopy: could not connect to your peer: no connection within the time limit ` +
		`\(tried your addresses: [^)]+; theirs: 1 local\)\. Your peer never reached you: is their p2pcopy still running ` +
		`\(it gives up --timeout, 30s by default, after printing its answer\)\? If it is, on the same network check that ` +
		`no firewall blocks UDP; across the internet, both sides may be behind strict NATs: run both commands again with ` +
		`--turn turn:USER:PASS@HOST:PORT on either side$`)
	if last := lines[len(lines)-1]; !want.MatchString(last) {
		t.Fatalf("the error line\n%s\ndoes not match\n%s", last, want)
	}
}

// TestBinaryOverPipes copies 200 MB between two processes of the built binary joined only by two
// pipes (the scriptable contract): bytes identical, --json events parse.
func TestBinaryOverPipes(t *testing.T) {
	bin := binary(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "random.bin")
	wantSum := writeRandomFile(t, src, 200_000_000)
	outDir := filepath.Join(dir, "out")
	start := time.Now()
	p := startPair(t, bin, []string{"--no-stun", "--json", src}, []string{"--no-stun", "-o", outDir})
	recvRun, sendRun := p.receiver.Wait(), p.sender.Wait()
	t.Logf("200 MB in %v", time.Since(start).Round(time.Millisecond))
	if recvRun != nil || sendRun != nil {
		t.Fatalf("receiver: %v\n%s\nsender: %v\n%s", recvRun, p.recvErr.String(), sendRun, p.sendErr.String())
	}
	if got := fileSHA256(t, filepath.Join(outDir, "random.bin")); got != wantSum {
		t.Fatalf("received file differs from the original")
	}
	events := map[string]map[string]any{}
	for _, line := range strings.Split(strings.TrimSpace(p.sendErr.String()), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("--json line does not parse: %q: %v", line, err)
		}
		name, _ := ev["event"].(string)
		events[name] = ev
	}
	for _, want := range []string{"offer", "connected", "progress", "done"} {
		if events[want] == nil {
			t.Errorf("no %q event in --json output:\n%s", want, p.sendErr.String())
		}
	}
	if done := events["done"]; done != nil && done["bytes"] != float64(200_000_000) {
		t.Errorf("done event reports %v bytes, want 200000000", done["bytes"])
	}
	if !strings.Contains(p.recvErr.String(), "sha256 verified") {
		t.Errorf("receiver did not report verification:\n%s", p.recvErr.String())
	}
}

func writeRandomFile(t *testing.T, path string, n int64) [32]byte {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(f, h), rand.Reader, n); err != nil {
		t.Fatal(err)
	}
	return [32]byte(h.Sum(nil))
}

func fileSHA256(t *testing.T, path string) [32]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return [32]byte(h.Sum(nil))
}
