// The sending side of a transfer (PROTOCOL.md §2): transfer/send.go for the page, reading Blobs.

import { inPlace } from './hash.js';
import { MAX_MESSAGE_SIZE, DEFAULT_CHUNK, DEFAULT_IDLE_MS, TransferError, protocolError, messageName, message, encodeManifest } from './protocol-messages.js';
import { live } from './protocol-conn.js';
import { read, expect, hello, fail, Progress } from './protocol-session.js';

// send offers items and sends them once the peer accepted. An item is
// {path, kind: 'file'|'dir'|'text', size, mode, mtime, blob}. It resolves after the receiver's C
// with {files, bytes, sent, resumed, seconds}. opts.hashes computes the SHA-256 sums (hash.js:
// a worker's; by default on this thread).
export async function send(conn, items, opts = {}) {
  const chunk = Math.min(opts.chunkSize || DEFAULT_CHUNK, MAX_MESSAGE_SIZE - 1);
  const readSize = Math.max(chunk, opts.readSize || 4 * 1024 * 1024);
  const hashes = opts.hashes ?? inPlace;
  const onEvent = opts.onEvent;
  const t0 = Date.now();
  conn = live(conn, opts.idleTimeout ?? DEFAULT_IDLE_MS);
  try {
    await hello(conn, 'send', opts.app || 'p2pcopy-web');
    for (const b of encodeManifest(items)) await conn.send(b);
    const total = items.reduce((n, it) => n + (it.kind === 'dir' ? 0 : it.size), 0);
    onEvent?.({ event: 'manifest', entries: items.length, total });
    const have = (await expect(conn, 'A')).body.have ?? [];
    const seen = new Set();
    for (const r of have) {
      const e = items[r.i];
      if (!e) throw protocolError(`the peer offered to resume entry ${r.i}, but the transfer has ${items.length} entries`);
      if (e.kind === 'dir') throw protocolError(`the peer offered to resume ${e.path}, which is a directory`);
      if (r.offset > e.size) throw protocolError(`the peer offered to resume ${e.path} at byte ${r.offset}, but it has only ${e.size} bytes`);
      if (seen.has(r.i)) throw protocolError(`the peer offered to resume ${e.path} twice`);
      seen.add(r.i);
    }
    // The receiver said how many bytes it holds; prove them with their hash (P), and resume
    // what it agrees to (R). It never tells us a hash of its files.
    const resume = new Map();
    if (have.length > 0) {
      const proofs = [], states = new Map();
      for (const r of have) {
        const it = items[r.i];
        if (it.kind !== 'file' || r.offset === 0) continue;
        const h = hashes.create();
        for (let off = 0; off < r.offset; off += readSize) {
          await h.update(new Uint8Array(await it.blob.slice(off, Math.min(r.offset, off + readSize)).arrayBuffer()), true);
        }
        states.set(r.i, h);
        proofs.push({ i: r.i, offset: r.offset, sha256: await h.hex(true) });
      }
      await conn.send(message('P', { proofs }));
      for (const r of (await expect(conn, 'R')).body.resume ?? []) {
        const p = proofs.find((x) => x.i === r.i);
        if (!p) throw protocolError(`the peer agreed to resume entry ${r.i}, which was not proved`);
        if (p.offset !== r.offset) throw protocolError(`the peer agreed to resume ${items[r.i].path} at byte ${r.offset}, but ${p.offset} bytes were proved`);
        if (resume.has(r.i)) throw protocolError(`the peer agreed to resume ${items[r.i].path} twice`);
        resume.set(r.i, { offset: r.offset, h: states.get(r.i) });
      }
      for (const [i, h] of states) if (!resume.has(i)) h.free();
    }
    const prog = new Progress(onEvent, total);
    let files = 0, sent = 0, resumed = 0;
    const checkPeer = async () => {
      if (conn.pending()) {
        const m = await read(conn);
        throw protocolError(`the peer sent a ${messageName(m.type)} message while the transfer was running`);
      }
    };
    for (let i = 0; i < items.length; i++) {
      const it = items[i];
      if (it.kind === 'dir') continue;
      const blob = it.kind === 'text' ? new Blob([it.text]) : it.blob;
      let h;
      let offset = 0;
      const r = resume.get(i);
      if (r) {
        h = r.h; // goes on from the proved prefix: F covers the whole file
        offset = r.offset;
        onEvent?.({ event: 'resume', path: it.path, offset });
      }
      h ??= hashes.create();
      await conn.send(message('S', { i, offset }));
      resumed += offset;
      prog.add(offset, true);
      // Read ahead one block while the previous one is being sent.
      let next = offset < it.size ? blob.slice(offset, Math.min(it.size, offset + readSize)).arrayBuffer() : null;
      let pos = offset;
      while (next) {
        const block = new Uint8Array(await next);
        if (block.length === 0) throw new TransferError('changed', `${it.path} changed while it was being sent; send it again when it is no longer being written`);
        const blockEnd = pos + block.length;
        next = blockEnd < it.size ? blob.slice(blockEnd, Math.min(it.size, blockEnd + readSize)).arrayBuffer() : null;
        for (let o = 0; o < block.length; o += chunk) {
          const part = block.subarray(o, Math.min(block.length, o + chunk));
          const d = new Uint8Array(1 + part.length);
          d[0] = 0x44;
          d.set(part, 1);
          await checkPeer();
          await conn.send(d);
          sent += part.length;
          prog.add(part.length);
        }
        // Its D messages are copies: the block goes to the hash as it is.
        await h.update(block, true);
        pos = blockEnd;
      }
      await conn.send(message('F', { i, sha256: await h.hex() }));
      files++;
      onEvent?.({ event: 'file-done', path: it.path });
    }
    await checkPeer();
    await conn.send(message('E', {}));
    prog.add(0, true);
    await expect(conn, 'C');
    onEvent?.({ event: 'done' });
    conn.close();
    return { files, bytes: prog.bytes, sent, resumed, seconds: (Date.now() - t0) / 1000 };
  } catch (e) {
    return fail(conn, e);
  }
}
