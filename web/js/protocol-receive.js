// The receiving side of a transfer (PROTOCOL.md §2), resume included: transfer/receive.go for the page.

import { inPlace } from './hash.js';
import { MAX_MESSAGE_SIZE, DEFAULT_IDLE_MS, TransferError, protocolError, messageName, message, isInt } from './protocol-messages.js';
import { pathProblem } from './protocol-paths.js';
import { live } from './protocol-conn.js';
import { read, expect, hello, fail, Progress } from './protocol-session.js';

// receive accepts a transfer. opts.confirm(entries) is called once the manifest arrived and
// passed the checks; it returns (or resolves to) either openSink(entry, index), or a store that
// can resume: {open(entry, index, offset), held: [{i, offset}], prefix(i, offset)}.
// open returns a sink {write(u8), close(), abort(), discard()} for a file, writing after the
// first offset bytes it already holds (0: from the start; write may take u8's buffer over), or
// throws a TransferError (e.g. code "limit" for a file too big for the save path); held lists what the store kept of entries from
// an earlier run, and prefix(i, offset) yields the first offset bytes it holds of entry i
// (Uint8Arrays, in order). Text entries are passed to opts.onText(path, text). opts.hashes
// computes the SHA-256 sums (hash.js: a worker's; by default on this thread).
// Resume (§2.3): A offers held; the sender proves (P) the SHA-256 of its own first offset bytes
// and this side, hashing what it holds, agrees (R) to exactly those that match. It never reveals
// a hash of what it holds.
export async function receive(conn, opts = {}) {
  const onEvent = opts.onEvent;
  const hashes = opts.hashes ?? inPlace;
  const t0 = Date.now();
  let sink = null;
  conn = live(conn, opts.idleTimeout ?? DEFAULT_IDLE_MS);
  try {
    await hello(conn, 'receive', opts.app || 'p2pcopy-web');
    const entries = [];
    const kinds = new Map();
    let total = 0;
    for (;;) {
      const m = (await expect(conn, 'M')).body;
      for (const w of m.entries ?? []) {
        const e = { path: typeof w.path === 'string' ? w.path.normalize('NFC') : '', kind: w.kind, size: w.kind === 'dir' ? 0 : (w.size ?? 0), mode: w.mode ?? 0, mtime: w.mtime ?? 0 };
        const why = pathProblem(e.path);
        if (why) throw new TransferError('unsafe-path', `refusing the transfer: unsafe path ${JSON.stringify(e.path)}: ${why}`);
        if (e.path.endsWith('.p2pcopy-part')) throw new TransferError('unsafe-path', `refusing the transfer: the name ${JSON.stringify(e.path)} ends in .p2pcopy-part, which is reserved for partial files`);
        if (kinds.has(e.path)) throw protocolError(`the peer's list of files contains ${JSON.stringify(e.path)} twice`);
        kinds.set(e.path, e.kind);
        if (entries.length >= 200000) throw new TransferError('limit', 'refusing the transfer: it has more than 200000 entries, this receiver\'s limit');
        if (e.size > 0) total += e.size;
        entries.push(e);
      }
      if (!m.more) break;
    }
    onEvent?.({ event: 'manifest', entries, total });
    const store = await (opts.confirm ? opts.confirm(entries) : null);
    const openSink = typeof store === 'function' ? (e, i) => store(e, i, 0) : store ? (e, i, off) => store.open(e, i, off) : null;
    const have = offerable(entries, typeof store === 'object' && store ? store.held ?? [] : []);
    await conn.send(message('A', { have }));
    // agreed: entry index -> {offset, h (the SHA-256 of those bytes, to go on from)}
    const agreed = have.length ? await judgeProofs(conn, entries, have, store, hashes) : new Map();
    const prog = new Progress(onEvent, total);
    let next = 0; // the next non-directory entry expected
    const advance = () => { while (next < entries.length && entries[next].kind === 'dir') next++; };
    advance();
    let files = 0, resumed = 0;
    for (;;) {
      const m = await read(conn);
      if (m.type === 'E') {
        if (next < entries.length) throw protocolError(`the peer ended the transfer before sending ${JSON.stringify(entries[next].path)}`);
        break;
      }
      if (m.type !== 'S') throw protocolError(`the peer sent a ${messageName(m.type)} message where a start (S) message was expected`);
      const { i, offset } = m.body;
      if (i !== next) throw protocolError(`the peer started entry ${i} where entry ${next} was expected`);
      const e = entries[i];
      const ag = agreed.get(i);
      agreed.delete(i);
      if (offset !== 0 && offset !== ag?.offset) {
        if (!ag) throw protocolError(`the peer resumed ${JSON.stringify(e.path)} at byte ${offset}, but no resume was offered`);
        throw protocolError(`the peer wants to resume ${JSON.stringify(e.path)} at byte ${offset}, but ${ag.offset} bytes were offered`);
      }
      const h = offset ? ag.h : hashes.create();
      let got = offset;
      const textParts = [];
      sink = e.kind === 'text' ? null : openSink ? await openSink(e, i, offset) : null;
      if (offset) {
        resumed += offset;
        prog.add(offset, true);
        onEvent?.({ event: 'resume', path: e.path, index: i, offset });
      }
      onEvent?.({ event: 'file-start', path: e.path, index: i, offset });
      let fin;
      for (;;) {
        const d = await read(conn);
        if (d.type === 'F') { fin = d.body; break; }
        if (d.type !== 'D') throw protocolError(`the peer sent a ${messageName(d.type)} message in the middle of ${JSON.stringify(e.path)}`);
        const data = d.data, n = data.length; // a sink may take data's buffer over
        if (e.size >= 0 && e.kind !== 'stream' && got + data.length > e.size) throw protocolError(`the peer sent more than the ${e.size} bytes announced for ${JSON.stringify(e.path)}`);
        got += data.length;
        await h.update(data); // a copy: the sink may take data's buffer
        if (e.kind === 'text') textParts.push(data.slice());
        else if (sink) await sink.write(data);
        prog.add(n);
      }
      if (fin.i !== i) throw protocolError(`the peer ended entry ${fin.i} while entry ${i} was being sent`);
      if (e.kind !== 'stream' && got !== e.size) throw protocolError(`the peer sent ${got} of the ${e.size} bytes announced for ${JSON.stringify(e.path)}`);
      if ((await h.hex()) !== fin.sha256.toLowerCase()) {
        // What is held is wrong: keeping it would only fail the same way next time.
        try { await sink?.discard?.(); } catch { /* the error below says what matters */ }
        sink = null;
        throw new TransferError('verify', `${e.path} arrived damaged (its SHA-256 does not match the sender's); run both commands again`);
      }
      if (e.kind === 'text') {
        const all = new Uint8Array(got);
        let o = 0;
        for (const p of textParts) { all.set(p, o); o += p.length; }
        opts.onText?.(e.path, new TextDecoder().decode(all));
      } else if (sink) {
        await sink.close();
        sink = null;
      }
      files++;
      onEvent?.({ event: 'file-done', path: e.path, index: i });
      next = i + 1;
      advance();
    }
    prog.add(0, true);
    await conn.send(message('C', { files, bytes: prog.bytes }));
    await conn.drained?.();
    onEvent?.({ event: 'done' });
    // The sender closes after C; give it a moment, then close ourselves.
    await Promise.race([conn.recv().catch(() => {}), new Promise((r) => setTimeout(r, 2000))]);
    conn.close();
    return { files, bytes: prog.bytes, resumed, seconds: (Date.now() - t0) / 1000 };
  } catch (e) {
    try { await sink?.abort?.(); } catch { /* nothing more to do */ }
    return fail(conn, e);
  }
}

// proofCost is the size one proof adds to the sender's P message: {"i":N,"offset":N,"sha256":"…"}
// and a comma.
const proofCost = (r) => `{"i":${r.i},"offset":${r.offset},"sha256":"${'0'.repeat(64)}"},`.length;

// offerable picks what A offers of what the store holds: files of the manifest with at least one
// byte held and no more than their size, each once, the largest first as long as a P proving all
// of them fits in one message (§2.3).
export function offerable(entries, held) {
  const seen = new Set();
  const ok = held.filter((r) => {
    const e = entries[r.i];
    if (!e || e.kind !== 'file' || !isInt(r.offset) || r.offset <= 0 || r.offset > e.size || seen.has(r.i)) return false;
    seen.add(r.i);
    return true;
  }).sort((a, b) => b.offset - a.offset || a.i - b.i);
  let budget = MAX_MESSAGE_SIZE - 'P{"proofs":[]}'.length + 1; // the last proof has no comma
  const out = [];
  for (const r of ok) {
    if (proofCost(r) > budget) break;
    budget -= proofCost(r);
    out.push({ i: r.i, offset: r.offset });
  }
  return out.sort((a, b) => a.i - b.i);
}

// judgeProofs reads the sender's P for what A offered, hashes the same bytes of what the store
// holds and answers R with exactly the entries whose hash matched.
async function judgeProofs(conn, entries, have, store, hashes) {
  const offered = new Map(have.map((r) => [r.i, r.offset]));
  const proofs = (await expect(conn, 'P')).body.proofs ?? [];
  const seen = new Set();
  for (const p of proofs) {
    if (!offered.has(p.i)) throw protocolError(`the peer proved entry ${p.i}, which was not offered for resuming`);
    if (p.offset !== offered.get(p.i)) throw protocolError(`the peer proved ${p.offset} bytes of ${JSON.stringify(entries[p.i].path)}, but ${offered.get(p.i)} were offered`);
    if (seen.has(p.i)) throw protocolError(`the peer proved ${JSON.stringify(entries[p.i].path)} twice`);
    seen.add(p.i);
  }
  const agreed = new Map();
  for (const p of proofs) {
    const h = hashes.create();
    let n = 0;
    try {
      for await (const part of store.prefix(p.i, p.offset)) {
        const take = part.subarray(0, Math.min(part.length, p.offset - n));
        await h.update(take);
        n += take.length;
        if (n >= p.offset) break;
      }
    } catch { n = -1; } // unreadable: started over
    if (n === p.offset && (await h.hex(true)) === p.sha256.toLowerCase()) agreed.set(p.i, { offset: p.offset, h });
    else h.free();
  }
  await conn.send(message('R', { resume: [...agreed].map(([i, a]) => ({ i, offset: a.offset })) }));
  return agreed;
}
