package main

import (
	"strings"
	"testing"
	"time"

	"github.com/p2pcopy/p2pcopy/signal"
	"github.com/p2pcopy/p2pcopy/transfer"
)

// TestStallDisplay: when no byte moves, every output mode says the peer is silent and for how
// long; when bytes move again, progress returns.
func TestStallDisplay(t *testing.T) {
	for _, mode := range []struct {
		name  string
		g     globals
		want  string // shown after 12 s without progress
		moved string // what the next progress event starts with (the rate depends on timing)
	}{
		{"plain", globals{}, "stalled, waiting for peer (12s)…", "  20% 2.0 kB/10.0 kB "},
		{"json", globals{json: true}, `{"event":"stalled","seconds":12}`, `{"bytes":2000,"event":"progress","path":"","total":10000}` + "\n"},
	} {
		t.Run(mode.name, func(t *testing.T) {
			var out strings.Builder
			u := newUI(&Env{Stderr: &out}, &mode.g)
			e := transfer.Event{Type: transfer.EventProgress, Bytes: 1000, Total: 10_000}
			u.transferEvent(e)
			u.tick(u.lastMove.Add(2 * time.Second))
			if strings.Contains(out.String(), "stalled") {
				t.Fatalf("stall shown after 2 s:\n%s", out.String())
			}
			u.tick(u.lastMove.Add(12 * time.Second))
			if !strings.Contains(out.String(), mode.want) {
				t.Fatalf("want %q in:\n%s", mode.want, out.String())
			}
			out.Reset()
			e.Bytes = 2000
			u.lastPlain, u.lastJSON = time.Time{}, time.Time{}
			u.transferEvent(e)
			if strings.Contains(out.String(), "stalled") || !strings.HasPrefix(out.String(), mode.moved) {
				t.Fatalf("after bytes moved again:\n%s", out.String())
			}
		})
	}
}

// TestTerminalSafeText: a received text message shown on a terminal cannot carry escape
// sequences or C1 controls (even split across writes); plain text, tabs, newlines and other
// non-ASCII characters pass unchanged.
func TestTerminalSafeText(t *testing.T) {
	var out strings.Builder
	w := textOutput(&Env{Stdout: &out, StdoutTTY: true})
	for _, chunk := range []string{"héllo\t«wörld»\n", "\x1b[2Jcleared\x07", "\xc2", "\x9b31mred\x7f", " 日本\r\n"} {
		if n, err := w.Write([]byte(chunk)); err != nil || n != len(chunk) {
			t.Fatalf("Write(%q) = %d, %v", chunk, n, err)
		}
	}
	if want := "héllo\t«wörld»\n[2Jcleared31mred 日本\n"; out.String() != want {
		t.Fatalf("got %q, want %q", out.String(), want)
	}
	var raw strings.Builder
	if w := textOutput(&Env{Stdout: &raw}); w != &raw {
		_, _ = w.Write([]byte("\x1b"))
		t.Fatalf("text to a file or pipe must pass unchanged, got %q", raw.String())
	}
}

// TestDisplayName: characters that hide or reorder text in a name are shown by their code; every
// other character, in any script, is shown as it is.
func TestDisplayName(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"vm.vmdk", "vm.vmdk"},
		{"héllo wörld 日本 Ελλάδα.txt", "héllo wörld 日本 Ελλάδα.txt"},
		{"שלום.txt", "שלום.txt"},                           // right-to-left letters draw right to left by themselves
		{"invoice\u202etxt.exe", "invoice<U+202E>txt.exe"}, // right-to-left override: would read "invoiceexe.txt"
		{"\u202a\u202b\u202c\u202d", "<U+202A><U+202B><U+202C><U+202D>"},
		{"a\u200eb\u200fc\u061cd", "a<U+200E>b<U+200F>c<U+061C>d"},             // marks
		{"\u2066x\u2067y\u2068z\u2069", "<U+2066>x<U+2067>y<U+2068>z<U+2069>"}, // isolates
		{"re\u200bport.pdf", "re<U+200B>port.pdf"},                             // zero-width space
		{"\ufeffname", "<U+FEFF>name"},                                         // byte order mark
		{"soft\u00adhyphen", "soft<U+00AD>hyphen"},
		{"a\u2060b\u2064c", "a<U+2060>b<U+2064>c"},           // word joiner, invisible plus
		{"tag\U000E0041\U000E007F", "tag<U+E0041><U+E007F>"}, // tag characters
		{"evil\x1b[2Jname", "evil<U+001B>[2Jname"},           // terminal escape
		{"a\nb\tc\rd\x00e\x7f", "a<U+000A>b<U+0009>c<U+000D>d<U+0000>e<U+007F>"},
		{"c1\u009b31m", "c1<U+009B>31m"},
		{"line\u2028para\u2029", "line<U+2028>para<U+2029>"},
		{"bad\xffutf8\xc3", "bad<0xFF>utf8<0xC3>"},
		{"نامه\u200cها.pdf", "نامه\u200cها.pdf"},       // zero-width non-joiner: Persian needs it
		{"👨\u200d👩\u200d👧.jpg", "👨\u200d👩\u200d👧.jpg"}, // zero-width joiner: one emoji
		{"❤\ufe0f.png", "❤\ufe0f.png"},                 // variation selector: not a format character
		{"", ""},
	} {
		if got := displayName(c.in); got != c.want {
			t.Errorf("displayName(%+q) = %+q, want %+q", c.in, got, c.want)
		}
	}
}

// TestNamesShownEscaped: the accept prompt, the manifest listing, resume and verified lines and
// both kinds of progress show a hostile name by its codes, never with the override itself.
func TestNamesShownEscaped(t *testing.T) {
	const name, shown = "invoice\u202etxt.exe", "invoice<U+202E>txt.exe"
	entry := transfer.Entry{Path: name, Size: 10_000}
	for _, mode := range []struct {
		name string
		tty  bool
	}{{"plain", false}, {"terminal", true}} {
		t.Run(mode.name, func(t *testing.T) {
			var out strings.Builder
			u := newUI(&Env{Stderr: &out, StderrTTY: mode.tty}, &globals{verbose: true})
			u.offered(&signal.Summary{Entries: 1, TotalBytes: 10_000, Name: name})
			u.offered(&signal.Summary{Entries: 3, TotalBytes: 10_000, Name: name})
			u.transferEvent(transfer.Event{Type: transfer.EventManifest, Entries: []transfer.Entry{entry}, Total: 10_000})
			u.transferEvent(transfer.Event{Type: transfer.EventFileStart, Entry: entry, Offset: 1000, Bytes: 1000, Total: 10_000})
			u.transferEvent(transfer.Event{Type: transfer.EventProgress, Entry: entry, Bytes: 5000, Total: 10_000})
			u.transferEvent(transfer.Event{Type: transfer.EventFileDone, Entry: entry, Bytes: 10_000, Total: 10_000})
			u.transferEvent(transfer.Event{Type: transfer.EventDone, Bytes: 10_000, Total: 10_000})
			got := out.String()
			if strings.ContainsRune(got, '\u202e') {
				t.Errorf("the override reached the output:\n%s", got)
			}
			for _, want := range []string{
				"Your peer offers " + shown + " (10.0 kB).",
				"Your peer offers 3 items: " + shown + " and more (10.0 kB).",
				"  " + shown + " (10.0 kB)",
				"resuming " + shown + " at 1.0 kB",
				"  " + shown + " verified",
			} {
				if !strings.Contains(got, want+"\n") {
					t.Errorf("no line %q in:\n%s", want, got)
				}
			}
			if n := strings.Count(got, shown); n < 6 { // the lines above and the progress
				t.Errorf("%q shown %d times, want the progress too:\n%s", shown, n, got)
			}
		})
	}
}
