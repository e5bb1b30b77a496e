package transfer

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// fileEvents lists the file-start and file-done events as "start PATH @OFFSET =BYTES"
// and "done PATH =BYTES".
func fileEvents(ev *events) []string {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	var out []string
	for _, e := range ev.list {
		switch e.Type {
		case EventFileStart:
			out = append(out, fmt.Sprintf("start %s @%d =%d", e.Entry.Path, e.Offset, e.Bytes))
		case EventFileDone:
			out = append(out, fmt.Sprintf("done %s =%d", e.Entry.Path, e.Bytes))
		}
	}
	return out
}

// TestResumeComplete re-runs a directory transfer that was interrupted while
// half.bin was being received: done.bin and empty are already in place, half.bin has a
// partial file, new.bin was never started. Both sides report the resumes in their
// events ("resuming done.bin at 2.1 MB"), and done.bin is neither rewritten nor renamed.
func TestResumeComplete(t *testing.T) {
	parent, dst := t.TempDir(), t.TempDir()
	src := filepath.Join(parent, "d")
	done, half, fresh := randomBytes(2<<20+5, 11), randomBytes(1<<20+3, 12), randomBytes(70_000, 13)
	writeFile(t, filepath.Join(src, "done.bin"), done)
	writeFile(t, filepath.Join(src, "empty"), nil)
	writeFile(t, filepath.Join(src, "half.bin"), half)
	writeFile(t, filepath.Join(src, "new.bin"), fresh)
	mtime := time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
	os.Chtimes(filepath.Join(src, "done.bin"), mtime, mtime)

	const prefix = 600_001
	writeFile(t, filepath.Join(dst, "d/done.bin"), done)
	writeFile(t, filepath.Join(dst, "d/empty"), nil)
	writeFile(t, filepath.Join(dst, "d/half.bin"+partSuffix), half[:prefix])
	before, err := os.Stat(filepath.Join(dst, "d/done.bin"))
	if err != nil {
		t.Fatal(err)
	}

	var sev, rev events
	o := transfer(t, fileItems(t, src), SendOptions{OnEvent: sev.add}, ReceiveOptions{Dir: dst, OnEvent: rev.add})
	o.mustSucceed(t)
	sameTree(t, dst, parent)

	after, err := os.Stat(filepath.Join(dst, "d/done.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Error("done.bin was replaced")
	}
	// Kept, not written by this transfer: its mode and times stay as they were.
	if !after.ModTime().Equal(before.ModTime()) || after.Mode() != before.Mode() {
		t.Errorf("done.bin changed: mode %v, mtime %v; want %v, %v as before", after.Mode(), after.ModTime(), before.Mode(), before.ModTime())
	}

	d, h, n := int64(len(done)), int64(len(half)), int64(len(fresh))
	want := Result{Files: 4, Bytes: d + h + n, Sent: h - prefix + n, Resumed: d + prefix}
	wantEvents := []string{
		fmt.Sprintf("start d/done.bin @%d =%d", d, d),
		fmt.Sprintf("done d/done.bin =%d", d),
		fmt.Sprintf("start d/empty @0 =%d", d),
		fmt.Sprintf("done d/empty =%d", d),
		fmt.Sprintf("start d/half.bin @%d =%d", prefix, d+prefix),
		fmt.Sprintf("done d/half.bin =%d", d+h),
		fmt.Sprintf("start d/new.bin @0 =%d", d+h),
		fmt.Sprintf("done d/new.bin =%d", d+h+n),
	}
	for side, c := range map[string]struct {
		res Result
		ev  *events
	}{"send": {o.sendRes, &sev}, "recv": {o.recvRes, &rev}} {
		c.res.Duration = 0
		if c.res != want {
			t.Errorf("%s: result %+v, want %+v", side, c.res, want)
		}
		if got := fileEvents(c.ev); !slices.Equal(got, wantEvents) {
			t.Errorf("%s: events\n got %q\nwant %q", side, got, wantEvents)
		}
	}
}

// TestResumeCompleteMismatch: an existing file of the announced size but with other
// content is not overwritten: the receiver offers it, the sender's hash differs, the
// sender starts over and the receiver refuses with the usual "exists" error.
func TestResumeCompleteMismatch(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(src, "photos/a.jpg"), []byte("new a"))
	writeFile(t, filepath.Join(src, "photos/b.jpg"), []byte("new b"))
	writeFile(t, filepath.Join(dst, "photos/a.jpg"), []byte("old a"))
	writeFile(t, filepath.Join(dst, "photos/a.jpg"+partSuffix), []byte("xx"))
	items := fileItems(t, filepath.Join(src, "photos"))

	o := transfer(t, items, SendOptions{}, ReceiveOptions{Dir: dst})
	msg := "photos/a.jpg already exists in " + dst
	wantError(t, "recv", o.recvErr, CodeExists, false, msg)
	wantError(t, "send", o.sendErr, CodeExists, true, `"photos/a.jpg" already exists on the receiving side, which did not allow replacing it`)
	if got, want := tree(t, dst), []string{"photos/", "photos/a.jpg.p2pcopy-part=xx", "photos/a.jpg=old a"}; !slices.Equal(got, want) {
		t.Errorf("output directory %q, want %q", got, want)
	}

	o = transfer(t, items, SendOptions{}, ReceiveOptions{Dir: dst, Overwrite: true})
	o.mustSucceed(t)
	sameTree(t, dst, src)
	if o.recvRes.Resumed != 0 || o.sendRes.Resumed != 0 {
		t.Errorf("Resumed = %d/%d", o.sendRes.Resumed, o.recvRes.Resumed)
	}
}

// TestResumeManyComplete re-runs a transfer of more finished files than one A message
// can offer: the largest are offered, the others are sent again and kept only if
// identical. An existing file that differs is still never overwritten.
func TestResumeManyComplete(t *testing.T) {
	parent, dst := t.TempDir(), t.TempDir()
	src := filepath.Join(parent, "many")
	const n = 3000
	var total int64
	for k := range n {
		data := randomBytes(k+1, uint64(k))
		writeFile(t, filepath.Join(src, fmt.Sprintf("f%04d", k)), data)
		writeFile(t, filepath.Join(dst, "many", fmt.Sprintf("f%04d", k)), data)
		total += int64(k + 1)
	}
	items := fileItems(t, src)

	run := func(opts ReceiveOptions) (outcome, *countingConn) {
		a, b := Pipe()
		cb := &countingConn{Conn: b}
		var o outcome
		done := make(chan struct{})
		go func() { o.recvRes, o.recvErr = Receive(context.Background(), cb, opts); close(done) }()
		o.sendRes, o.sendErr = Send(context.Background(), a, items, SendOptions{})
		<-done
		return o, cb
	}
	var rev events
	o, cb := run(ReceiveOptions{Dir: dst, OnEvent: rev.add})
	o.mustSucceed(t)
	if cb.count['A'] != 1 || cb.maxLen > MaxMessageSize {
		t.Errorf("%d A messages, largest message %d bytes", cb.count['A'], cb.maxLen)
	}
	var offered, resumed int64
	minOffered, maxOther := int64(n+1), int64(0)
	for _, e := range rev.of(EventFileStart) {
		if e.Offset > 0 {
			if e.Offset != e.Entry.Size {
				t.Fatalf("%s resumed at %d of %d", e.Entry.Path, e.Offset, e.Entry.Size)
			}
			offered++
			resumed += e.Offset
			minOffered = min(minOffered, e.Entry.Size)
		} else {
			maxOther = max(maxOther, e.Entry.Size)
		}
	}
	t.Logf("%d of %d finished files offered in an A message of %d bytes", offered, n, cb.maxLen)
	if offered < 2000 || offered == n || maxOther > minOffered {
		t.Errorf("offered %d files, smallest %d bytes; largest not offered %d bytes", offered, minOffered, maxOther)
	}
	want := Result{Files: n, Bytes: total, Sent: total - resumed, Resumed: resumed}
	for side, r := range map[string]Result{"send": o.sendRes, "recv": o.recvRes} {
		if r.Duration = 0; r != want {
			t.Errorf("%s: %+v, want %+v", side, r, want)
		}
	}
	sameTree(t, dst, parent)

	// The smallest file is not offered: it is received again, found different, refused.
	writeFile(t, filepath.Join(dst, "many/f0000"), []byte("!"))
	o, _ = run(ReceiveOptions{Dir: dst})
	msg := "many/f0000 already exists in " + dst
	wantError(t, "recv", o.recvErr, CodeExists, false, msg)
	wantError(t, "send", o.sendErr, CodeExists, true, `"many/f0000" already exists on the receiving side, which did not allow replacing it`)
	if b, _ := os.ReadFile(filepath.Join(dst, "many/f0000")); string(b) != "!" {
		t.Errorf("f0000 was overwritten: %q", b)
	}
	o, _ = run(ReceiveOptions{Dir: dst, Overwrite: true})
	o.mustSucceed(t)
	sameTree(t, dst, parent)
}

// TestChooseOffersFits checks the size of the A message for the largest indices and
// offsets: however many files could be resumed, it never exceeds MaxMessageSize, it is
// filled, and the largest files are the ones offered.
func TestChooseOffersFits(t *testing.T) {
	for _, size := range []int64{1, 1 << 40, 1<<62 + 12345} {
		r := &receiver{}
		for i := range defaultMaxEntries {
			p := planned{Entry: Entry{Path: "f", Kind: KindFile, Size: size + int64(i)}, target: toFile}
			if i%2 == 0 {
				p.complete = true
			} else {
				p.partSize = p.Size // a partial file as long as the entry: not yet renamed
			}
			r.plan = append(r.plan, p)
		}
		r.chooseOffers()
		a := proofMsg{Proofs: []proof{}}
		lowest := len(r.plan)
		for i, p := range r.plan {
			switch {
			case p.offer:
				a.Proofs = append(a.Proofs, proof{I: i, Offset: p.partSize, SHA256: strings.Repeat("f", 64)})
				lowest = min(lowest, i)
			case p.partSize != 0:
				t.Fatalf("entry %d is not offered but has partSize %d", i, p.partSize)
			case len(a.Proofs) > 0:
				t.Fatalf("entry %d is not offered, but the smaller entry %d is", i, lowest)
			}
		}
		// P, the sender's answer with a hash per offer, is the larger of A and P.
		b := encodeMessage(typeProof, a)
		t.Logf("size %d: %d offers in %d bytes", size, len(a.Proofs), len(b))
		if len(b) > MaxMessageSize || MaxMessageSize-len(b) >= offerCost(lowest-1, size+int64(lowest-1)) {
			t.Errorf("size %d: P message of %d bytes (limit %d)", size, len(b), MaxMessageSize)
		}
	}
	one, _ := json.Marshal(proof{I: 7, Offset: 1234, SHA256: strings.Repeat("0", 64)})
	if c := offerCost(7, 1234); c != len(one)+len(",") {
		t.Errorf("offerCost = %d, want %d", c, len(one)+1)
	}
	if n := len(encodeMessage(typeProof, proofMsg{Proofs: []proof{}})); n != proofOverhead {
		t.Errorf("proofOverhead = %d, want %d", proofOverhead, n)
	}
}
