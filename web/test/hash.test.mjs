// Tests hash-worker.js (run in a Node worker thread, as the page runs it in a dedicated worker)
// through its client hash.js, on its own and as the hasher of a whole transfer both ways.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { createHash, randomBytes } from 'node:crypto';
import { hasherOn } from '../js/hash.js';
import { pipe, send, receive, message, decodeMessage } from '../js/protocol.js';

// nodeWorker runs hash-worker.js in a worker thread with the little of a browser's worker scope
// it uses (self, onmessage, postMessage), and returns it shaped as a browser's Worker.
function nodeWorker() {
  const url = new URL('../js/hash-worker.js', import.meta.url).href;
  const w = new Worker(`
    const { parentPort } = require('node:worker_threads');
    globalThis.self = globalThis;
    globalThis.postMessage = (m, t) => parentPort.postMessage(m, t);
    // A browser keeps what was posted until the worker's script has run: so does this.
    const early = [];
    parentPort.on('message', (data) => (globalThis.onmessage ? globalThis.onmessage({ data }) : early.push(data)));
    import(${JSON.stringify(url)}).then(() => { for (const data of early.splice(0)) globalThis.onmessage({ data }); });
  `, { eval: true });
  return {
    postMessage: (m, t) => w.postMessage(m, t),
    terminate: () => w.terminate(),
    set onmessage(f) { w.on('message', (data) => f({ data })); },
    set onerror(f) { w.on('error', f); },
  };
}

const sha = (...parts) => { const h = createHash('sha256'); for (const p of parts) h.update(p); return h.digest('hex'); };

test('the hashing worker hashes what it is handed, in order: copies, given-up buffers and a kept prefix', async () => {
  const hashes = await hasherOn(nodeWorker());
  assert.ok(hashes, 'the worker answered');
  try {
    const data = new Uint8Array(randomBytes(5 * 1024 * 1024 + 333));
    const h = hashes.create(), other = hashes.create();
    let o = 0, n = 0, prefix = '';
    for (const size of [1, 64 * 1024, 1 << 20, 7, 3 << 20, 4096]) {
      const part = data.subarray(o, o + size);
      if (n % 2) {
        await h.update(part.slice(), true); // a buffer of its own, given up
      } else {
        await h.update(part); // a view into data, copied
        assert.equal(data.length, 5 * 1024 * 1024 + 333, 'a copied view leaves the caller its bytes');
      }
      await other.update(data.subarray(0, 10));
      o += size; n++;
      if (n === 3) prefix = await h.hex(true);
    }
    await h.update(data.subarray(o));
    assert.equal(prefix, sha(data.subarray(0, 1 + 64 * 1024 + (1 << 20))), 'a kept digest is the hash of the prefix');
    assert.equal(await h.hex(), sha(data), 'hashing went on after the kept digest');
    assert.equal(await other.hex(), sha(...Array(6).fill(data.subarray(0, 10))), 'two hashes at once stay apart');
    await assert.rejects(h.hex(), /no hash/, 'a finished hash is gone');
  } finally {
    hashes.terminate();
  }
});

test('handing over more than the worker hashed asks the caller to wait', async () => {
  const hashes = await hasherOn(nodeWorker());
  try {
    const h = hashes.create();
    const block = new Uint8Array(4 << 20);
    let waited = 0;
    for (let i = 0; i < 10; i++) {
      const r = h.update(block);
      if (r) { waited++; await r; }
    }
    assert.ok(waited > 0, 'update returned a promise once 16 MB were outstanding');
    assert.equal(await h.hex(), sha(...Array(10).fill(block)));
  } finally {
    hashes.terminate();
  }
});

test('a worker that fails at start gives no hasher (the page hashes in place then)', async () => {
  const broken = {
    postMessage() { queueMicrotask(() => this.onerror?.({ preventDefault() {} })); },
    terminate() {},
  };
  assert.equal(await hasherOn(broken), null);
});

// memSinks and memStore as in protocol.test.mjs: a receiver keeping files in memory; memStore
// also holds earlier bytes and resumes.
const memSinks = (store) => () => (e) => {
  const parts = [];
  return { write: (d) => { parts.push(Buffer.from(d)); }, close: () => { store[e.path] = Buffer.concat(parts); }, abort: () => {} };
};
function memStore(held, store) {
  return () => ({
    held: Object.entries(held).map(([i, b]) => ({ i: Number(i), offset: b.length })),
    async *prefix(i, offset) { for (let o = 0; o < offset; o += 1000) yield held[i].subarray(o, Math.min(offset, o + 1000)); },
    open(e, i, offset) {
      const parts = [Buffer.from(held[i]?.subarray(0, offset) ?? [])];
      return { write: (d) => { parts.push(Buffer.from(d)); }, close: () => { store[e.path] = Buffer.concat(parts); }, abort: () => {}, discard: () => {} };
    },
  });
}

test('sender and receiver hashing in workers: files arrive whole, resume proves and continues', async () => {
  const [hs, hr] = await Promise.all([hasherOn(nodeWorker()), hasherOn(nodeWorker())]);
  try {
    const big = new Uint8Array(randomBytes(9 * 1024 * 1024 + 5));
    const small = new Uint8Array(randomBytes(5000));
    const items = [
      { path: 'big', kind: 'file', size: big.length, mode: 0o644, mtime: 0, blob: new Blob([big]) },
      { path: 'small', kind: 'file', size: small.length, mode: 0o644, mtime: 0, blob: new Blob([small]) },
      { path: 'note', kind: 'text', size: 2, mode: 0, mtime: 0, text: 'hi' },
    ];
    let store = {};
    let [a, b] = pipe();
    await Promise.all([
      send(a, items, { hashes: hs, chunkSize: 65536, readSize: 1 << 20 }),
      receive(b, { hashes: hr, confirm: memSinks(store), onText: () => {} }),
    ]);
    assert.equal(sha(store.big), sha(big));
    assert.equal(sha(store.small), sha(small));

    // Held: 3 MB of big (matches), 1000 bytes of small that differ.
    store = {};
    [a, b] = pipe();
    const [sres] = await Promise.all([
      send(a, items, { hashes: hs, chunkSize: 65536, readSize: 1 << 20 }),
      receive(b, { hashes: hr, confirm: memStore({ 0: big.slice(0, 3 << 20), 1: new Uint8Array(1000) }, store), onText: () => {} }),
    ]);
    assert.equal(sres.resumed, 3 << 20, 'only the matching prefix was resumed');
    assert.equal(sha(store.big), sha(big));
    assert.equal(sha(store.small), sha(small));
  } finally {
    hs.terminate();
    hr.terminate();
  }
});

test('a receiver hashing in a worker refuses a file whose SHA-256 does not match', async () => {
  const hr = await hasherOn(nodeWorker());
  try {
    for (const right of [true, false]) {
      const data = new Uint8Array(randomBytes(200000));
      const [a, b] = pipe();
      const store = {};
      const receiving = receive(b, { hashes: hr, confirm: memSinks(store) });
      await a.send(message('H', { v: 2, role: 'send' }));
      await a.recv(); // H
      await a.send(message('M', { entries: [{ path: 'f', kind: 'file', size: data.length }], more: false }));
      await a.recv(); // A
      await a.send(message('S', { i: 0, offset: 0 }));
      for (let o = 0; o < data.length; o += 65536) {
        const part = data.subarray(o, o + 65536);
        const d = new Uint8Array(1 + part.length);
        d[0] = 0x44;
        d.set(part, 1);
        await a.send(d);
      }
      await a.send(message('F', { i: 0, sha256: right ? sha(data) : sha(data.subarray(1)) }));
      if (right) {
        await a.send(message('E', {}));
        assert.equal(decodeMessage(await a.recv()).type, 'C');
        assert.equal((await receiving).files, 1);
      } else {
        await assert.rejects(receiving, (e) => e.code === 'verify');
      }
    }
  } finally {
    hr.terminate();
  }
});
