package transfer

import "time"

// EventType says what an Event reports.
type EventType string

// Event types.
const (
	EventManifest  EventType = "manifest"   // the manifest was sent (sender) or received and checked (receiver)
	EventFileStart EventType = "file-start" // a non-directory entry starts
	EventProgress  EventType = "progress"   // at most about 10 per second
	EventFileDone  EventType = "file-done"  // a non-directory entry was sent / verified and put in place
	EventDone      EventType = "done"       // the transfer is complete
)

// Event reports the progress of a transfer to SendOptions.OnEvent or
// ReceiveOptions.OnEvent. Callbacks run on the transferring goroutine: they must not
// block for long.
type Event struct {
	Type    EventType
	Entries []Entry // EventManifest
	Index   int     // file events: the entry's index in the manifest
	Entry   Entry   // file events
	Offset  int64   // EventFileStart: bytes skipped thanks to a resume
	Bytes   int64   // content bytes completed so far over the whole transfer, including resumed prefixes
	Total   int64   // total content bytes (-1 if a stream makes it unknown)
}

// Result summarises a successful transfer.
type Result struct {
	Files    int           // non-directory entries delivered
	Bytes    int64         // total content bytes (including resumed)
	Sent     int64         // content bytes actually transferred this run
	Resumed  int64         // bytes skipped thanks to resume
	Duration time.Duration //
}

const progressInterval = 100 * time.Millisecond

// progress counts content bytes and emits events, throttling EventProgress.
type progress struct {
	fn    func(Event)
	total int64
	bytes int64 // completed content bytes, including resumed prefixes
	last  time.Time

	index int
	entry Entry
}

func newProgress(fn func(Event), entries []Entry) *progress {
	p := &progress{fn: fn}
	for _, e := range entries {
		switch {
		case e.Kind == KindDir:
		case e.Size < 0:
			p.total = -1
		case p.total >= 0:
			p.total += e.Size
		}
	}
	return p
}

func (p *progress) emit(ev Event) {
	if p.fn == nil {
		return
	}
	ev.Bytes, ev.Total = p.bytes, p.total
	p.fn(ev)
}

func (p *progress) manifest(entries []Entry) {
	p.emit(Event{Type: EventManifest, Entries: entries})
}

// start reports that entry i starts, offset bytes of it being already there.
func (p *progress) start(i int, e Entry, offset int64) {
	p.index, p.entry = i, e
	p.bytes += offset
	p.emit(Event{Type: EventFileStart, Index: i, Entry: e, Offset: offset})
	p.last = time.Now()
}

// add counts n more bytes of the current entry.
func (p *progress) add(n int) {
	p.bytes += int64(n)
	if p.fn == nil {
		return
	}
	if now := time.Now(); now.Sub(p.last) >= progressInterval {
		p.last = now
		p.emit(Event{Type: EventProgress, Index: p.index, Entry: p.entry})
	}
}

func (p *progress) done() {
	p.emit(Event{Type: EventFileDone, Index: p.index, Entry: p.entry})
}

func (p *progress) finish() {
	p.emit(Event{Type: EventDone})
}
