// Tests the JS transfer protocol against transfer/testdata/messages.json (made by the Go
// encoder) and runs sender and receiver against each other over an in-memory pipe.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { decodeMessage, message, encodeManifest, pipe, send, receive, TransferError, pathProblem } from '../js/protocol.js';

const vectors = JSON.parse(readFileSync(fileURLToPath(new URL('../../transfer/testdata/messages.json', import.meta.url)), 'utf8'));
const fromHex = (h) => Uint8Array.from(Buffer.from(h, 'hex'));
const toHex = (b) => Buffer.from(b).toString('hex');

test('valid message vectors decode to their body and encode to the same bytes', () => {
  assert.ok(vectors.valid.length > 10);
  for (const v of vectors.valid) {
    const m = decodeMessage(fromHex(v.hex));
    const type = String.fromCharCode(fromHex(v.hex)[0]);
    assert.equal(m.type, type, v.name);
    if (type === 'D') {
      assert.equal(toHex(m.data), v.data_hex, v.name);
      continue;
    }
    assert.deepEqual(m.body, v.body, v.name);
    assert.equal(toHex(message(type, v.body)), v.hex, v.name);
  }
});

test('invalid message vectors are protocol errors', () => {
  for (const v of vectors.invalid) {
    assert.throws(() => decodeMessage(fromHex(v.hex)), (e) => {
      assert.ok(e instanceof TransferError && e.code === 'protocol', `${v.name}: ${e}`);
      if (!v.message.includes('malformed')) assert.equal(e.message, v.message, v.name);
      return true;
    }, v.name);
  }
});

test('manifests split as the Go encoder splits them', () => {
  for (const v of vectors.manifests) {
    const got = encodeManifest(v.entries, v.limit).map((b) => new TextDecoder().decode(b));
    assert.deepEqual(got, v.messages, v.name);
  }
});

test('unsafe paths', () => {
  for (const p of ['', '/etc/passwd', 'a/../b', './a', 'a//b', 'C:x', 'a\\b', 'NUL.txt', 'com1', 'a\u202eb', 'x\ny', 'pay\u200bpal', '\ufeffa', 'a\u2028b']) {
    assert.notEqual(pathProblem(p), '', JSON.stringify(p));
  }
  for (const p of ['a', 'dir/b.txt', 'Ünïcödé 文件', 'console.log', 'می\u200cخواهم', '👩\u200d💻']) assert.equal(pathProblem(p), '', p);
  assert.equal(pathProblem('pay\u200bpal'), 'it contains the invisible character U+200B');
});

function memSinks(store) {
  return (entries) => (e) => {
    const parts = [];
    return { write: (d) => { parts.push(d.slice()); }, close: () => { store[e.path] = Buffer.concat(parts); }, abort: () => {} };
  };
}

test('sender and receiver over a pipe: files, an empty file, a directory, text', async () => {
  const [a, b] = pipe();
  const big = new Uint8Array(3 * 1024 * 1024 + 17);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 255;
  const items = [
    { path: 'd', kind: 'dir', size: 0, mode: 0o755, mtime: 0 },
    { path: 'd/big.bin', kind: 'file', size: big.length, mode: 0o644, mtime: 1700000000, blob: new Blob([big]) },
    { path: 'empty', kind: 'file', size: 0, mode: 0o644, mtime: 0, blob: new Blob([]) },
    { path: 'note', kind: 'text', size: 5, mode: 0, mtime: 0, text: 'hello' },
  ];
  const store = {};
  let text = '';
  const [sres, rres] = await Promise.all([
    send(a, items, { chunkSize: 100000, readSize: 1 << 20 }),
    receive(b, { confirm: memSinks(store), onText: (p, t) => { text = t; } }),
  ]);
  assert.equal(sres.files, 3);
  assert.equal(rres.files, 3);
  assert.equal(createHash('sha256').update(store['d/big.bin']).digest('hex'), createHash('sha256').update(big).digest('hex'));
  assert.equal(store.empty.length, 0);
  assert.equal(text, 'hello');
});

test('the sender proves what the receiver holds and resumes where the receiver agrees', async () => {
  const data = new Uint8Array(1000).map((_, i) => i & 255);
  const prefix = createHash('sha256').update(data.subarray(0, 400)).digest('hex');
  for (const agree of [true, false]) {
    const [a, b] = pipe();
    const sending = send(a, [{ path: 'f', kind: 'file', size: 1000, mode: 0o644, mtime: 0, blob: new Blob([data]) }], {});
    // A hand-driven receiver that holds 400 bytes.
    await b.send(message('H', { v: 2, role: 'receive', app: 'test' }));
    assert.equal(decodeMessage(await b.recv()).type, 'H');
    assert.equal(decodeMessage(await b.recv()).type, 'M');
    await b.send(message('A', { have: [{ i: 0, offset: 400 }] }));
    const p = decodeMessage(await b.recv());
    assert.equal(p.type, 'P');
    assert.deepEqual(p.body, { proofs: [{ i: 0, offset: 400, sha256: prefix }] });
    await b.send(message('R', { resume: agree ? [{ i: 0, offset: 400 }] : [] }));
    const wantOffset = agree ? 400 : 0;
    const s = decodeMessage(await b.recv());
    assert.deepEqual(s.body, { i: 0, offset: wantOffset });
    let got = 0, f;
    for (;;) {
      const m = decodeMessage(await b.recv());
      if (m.type === 'F') { f = m.body; break; }
      got += m.data.length;
    }
    assert.equal(got, 1000 - wantOffset);
    assert.equal(f.sha256, createHash('sha256').update(data).digest('hex'), 'F covers the whole file');
    assert.equal(decodeMessage(await b.recv()).type, 'E');
    await b.send(message('C', { files: 1, bytes: 1000 }));
    await sending;
  }
});

test('a receiver agreeing to what was not proved is a protocol error', async () => {
  const [a, b] = pipe();
  const r = await Promise.allSettled([
    send(a, [{ path: 'f', kind: 'file', size: 10, mode: 0o644, mtime: 0, blob: new Blob(['0123456789']) }], {}),
    (async () => {
      await b.send(message('H', { v: 2, role: 'receive' }));
      await b.recv(); await b.recv();
      await b.send(message('A', { have: [{ i: 0, offset: 4 }] }));
      await b.recv(); // P
      await b.send(message('R', { resume: [{ i: 0, offset: 5 }] }));
      return decodeMessage(await b.recv());
    })(),
  ]);
  assert.equal(r[0].reason.message, 'the peer agreed to resume f at byte 5, but 4 bytes were proved');
  assert.equal(r[1].value.type, 'X');
});

test('keep-alives keep a slow peer alive, and a silent one is given up', async () => {
  // The receiver's user takes three idle timeouts to accept: its keep-alives hold the sender.
  const [a, b] = pipe();
  const store = {};
  const slowConfirm = async (entries) => { await new Promise((r) => setTimeout(r, 600)); return memSinks(store)(entries); };
  await Promise.all([
    send(a, [{ path: 'f', kind: 'file', size: 3, mode: 0o644, mtime: 0, blob: new Blob(['abc']) }], { idleTimeout: 200 }),
    receive(b, { confirm: slowConfirm, idleTimeout: 200 }),
  ]);
  assert.equal(String(store.f), 'abc');
  // A sender that says hello and then nothing.
  const [c, d] = pipe();
  const t0 = Date.now();
  const r = await Promise.allSettled([
    receive(d, { idleTimeout: 200 }),
    (async () => { await c.send(message('H', { v: 2, role: 'send' })); })(),
  ]);
  assert.equal(r[0].reason.code, 'timeout');
  assert.equal(r[0].reason.message, 'your peer went silent: nothing arrived from it for 200ms, not even a keep-alive (its p2pcopy may be stuck or its computer asleep)');
  assert.ok(Date.now() - t0 < 10000, `gave up after ${Date.now() - t0} ms`); // loose for busy machines
});

test('a message over the size limit ends the transfer naming both sizes', async () => {
  const [a, b] = pipe();
  const big = new Uint8Array(262145);
  big[0] = 0x4d; // M
  const r = await Promise.allSettled([
    receive(b, {}),
    (async () => { await a.send(message('H', { v: 2, role: 'send' })); await a.recv(); await a.send(big); })(),
  ]);
  assert.equal(r[0].reason.message, 'the peer sent a message of 262145 bytes, more than the 262144 this side accepts');
});

test('a receiver refusing an unsafe path tells the sender, which shows the cause', async () => {
  const [a, b] = pipe();
  const results = await Promise.allSettled([
    send(a, [{ path: 'ok', kind: 'file', size: 1, mode: 0o644, mtime: 0, blob: new Blob(['x']) }], {}),
    (async () => {
      await b.send(message('H', { v: 2, role: 'receive' }));
      await b.recv(); await b.recv();
      await b.send(message('X', { code: 'unsafe-path', message: 'refusing the transfer: unsafe path "ok": test' }));
    })(),
  ]);
  assert.equal(results[0].status, 'rejected');
  assert.equal(results[0].reason.message, 'peer: refusing the transfer: unsafe path "ok": test');
  const [c, d] = pipe();
  const r = await Promise.allSettled([
    receive(d, {}),
    (async () => {
      await c.send(message('H', { v: 2, role: 'send' }));
      await c.recv();
      await c.send(message('M', { entries: [{ path: '../evil', kind: 'file', size: 1 }], more: false }));
      return decodeMessage(await c.recv());
    })(),
  ]);
  assert.equal(r[0].reason.code, 'unsafe-path');
  assert.equal(r[1].value.type, 'X');
  assert.equal(r[1].value.body.code, 'unsafe-path');
});

test('a corrupted file fails verification', async () => {
  const [a, b] = pipe();
  const r = await Promise.allSettled([
    receive(b, { confirm: memSinks({}) }),
    (async () => {
      await a.send(message('H', { v: 2, role: 'send' }));
      await a.recv();
      await a.send(message('M', { entries: [{ path: 'f', kind: 'file', size: 3 }], more: false }));
      await a.recv();
      await a.send(message('S', { i: 0, offset: 0 }));
      await a.send(Uint8Array.from([0x44, 1, 2, 3]));
      await a.send(message('F', { i: 0, sha256: '00'.repeat(32) }));
      return decodeMessage(await a.recv());
    })(),
  ]);
  assert.equal(r[0].reason.code, 'verify');
  assert.equal(r[1].value.body.code, 'verify');
});

test('names travel and are saved composed (NFC), as the Go code does', async () => {
  const [a, b] = pipe();
  let seen;
  const r = await Promise.allSettled([
    receive(b, { confirm: (entries) => { seen = entries.map((e) => e.path); throw new TransferError('rejected', 'no'); } }),
    (async () => {
      await a.send(message('H', { v: 2, role: 'send' }));
      await a.recv();
      await a.send(message('M', { entries: [{ path: 'cafe\u0301.txt', kind: 'file', size: 1 }], more: false }));
    })(),
  ]);
  assert.equal(r[0].status, 'rejected');
  assert.deepEqual(seen, ['caf\u00e9.txt']);
  assert.equal(decodeMessage(message('M', { entries: [{ path: 'cafe\u0301.txt', kind: 'file', size: 1 }] })).body.entries[0].path, 'caf\u00e9.txt');
});

// memStore is a receiving store that holds earlier bytes per entry index and can resume.
function memStore(held, store = {}) {
  return () => ({
    held: Object.entries(held).map(([i, b]) => ({ i: Number(i), offset: b.length })),
    async *prefix(i, offset) {
      const b = held[i];
      for (let o = 0; o < offset; o += 100) yield b.subarray(o, Math.min(offset, o + 100));
    },
    open(e, i, offset) {
      const parts = [Buffer.from((held[i] ?? new Uint8Array()).subarray(0, offset))];
      return { write: (d) => { parts.push(Buffer.from(d)); }, close: () => { store[e.path] = Buffer.concat(parts); }, abort: () => {}, discard: () => { store[e.path] = 'discarded'; } };
    },
  });
}

test('the receiver offers what it holds, checks the proof with its own bytes and resumes only on a match', async () => {
  const data = new Uint8Array(5000).map((_, i) => (i * 31) & 255);
  const other = new Uint8Array(5000).map((_, i) => (i * 17 + 3) & 255);
  const items = [
    { path: 'same', kind: 'file', size: 5000, mode: 0o644, mtime: 0, blob: new Blob([data]) },
    { path: 'differs', kind: 'file', size: 5000, mode: 0o644, mtime: 0, blob: new Blob([other]) },
    { path: 'whole', kind: 'file', size: 5000, mode: 0o644, mtime: 0, blob: new Blob([data]) },
  ];
  const held = { 0: data.slice(0, 1234), 1: data.slice(0, 2000), 2: data.slice() };
  const store = {};
  const events = [];
  const [a, b] = pipe();
  const [sres, rres] = await Promise.all([
    send(a, items, { chunkSize: 700 }),
    receive(b, { confirm: memStore(held, store), onEvent: (e) => { if (e.event === 'resume') events.push([e.path, e.offset]); } }),
  ]);
  assert.deepEqual(events, [['same', 1234], ['whole', 5000]]);
  assert.equal(sres.resumed, 6234, 'the sender skipped what the receiver proved it holds');
  assert.equal(sres.sent, 15000 - 6234);
  assert.equal(rres.resumed, 6234);
  assert.ok(store.same.equals(Buffer.from(data)));
  assert.ok(store.differs.equals(Buffer.from(other)), 'a prefix that did not match was received again from the start');
  assert.ok(store.whole.equals(Buffer.from(data)));
});

test('the receiver\'s A and R on the wire: what it holds, then only what the proof matched', async () => {
  const data = new Uint8Array(1000).map((_, i) => i & 255);
  const [a, b] = pipe();
  const store = {};
  const receiving = receive(b, { confirm: memStore({ 0: data.slice(0, 400), 1: data.slice(0, 10) }, store) });
  await a.send(message('H', { v: 2, role: 'send' }));
  assert.equal(decodeMessage(await a.recv()).type, 'H');
  await a.send(message('M', { entries: [{ path: 'f', kind: 'file', size: 1000 }, { path: 'g', kind: 'file', size: 1000 }], more: false }));
  const acc = await a.recv();
  assert.equal(new TextDecoder().decode(acc), 'A{"have":[{"i":0,"offset":400},{"i":1,"offset":10}]}');
  const good = createHash('sha256').update(data.subarray(0, 400)).digest('hex');
  await a.send(message('P', { proofs: [{ i: 0, offset: 400, sha256: good }, { i: 1, offset: 10, sha256: 'ab'.repeat(32) }] }));
  assert.equal(new TextDecoder().decode(await a.recv()), 'R{"resume":[{"i":0,"offset":400}]}');
  await a.send(message('S', { i: 0, offset: 400 }));
  const rest = new Uint8Array(601); rest[0] = 0x44; rest.set(data.subarray(400), 1);
  await a.send(rest);
  await a.send(message('F', { i: 0, sha256: createHash('sha256').update(data).digest('hex') }));
  // g was not agreed: resuming it anyway is a protocol error.
  await a.send(message('S', { i: 1, offset: 10 }));
  await assert.rejects(receiving, { code: 'protocol', message: 'the peer resumed "g" at byte 10, but no resume was offered' });
  assert.ok(store.f.equals(Buffer.from(data)));
});

test('a proof the receiver did not ask for is a protocol error', async () => {
  const [a, b] = pipe();
  const receiving = receive(b, { confirm: memStore({ 0: new Uint8Array(5) }) });
  await a.send(message('H', { v: 2, role: 'send' }));
  await a.recv();
  await a.send(message('M', { entries: [{ path: 'f', kind: 'file', size: 10 }], more: false }));
  await a.recv();
  await a.send(message('P', { proofs: [{ i: 0, offset: 6, sha256: '00'.repeat(32) }] }));
  await assert.rejects(receiving, { code: 'protocol', message: 'the peer proved 6 bytes of "f", but 5 were offered' });
});

test('a resumed file whose whole hash does not match is discarded, not kept for next time', async () => {
  const data = new Uint8Array(100).map((_, i) => i);
  const [a, b] = pipe();
  const store = {};
  const receiving = receive(b, { confirm: memStore({ 0: data.slice(0, 50) }, store) });
  await a.send(message('H', { v: 2, role: 'send' }));
  await a.recv();
  await a.send(message('M', { entries: [{ path: 'f', kind: 'file', size: 100 }], more: false }));
  await a.recv();
  await a.send(message('P', { proofs: [{ i: 0, offset: 50, sha256: createHash('sha256').update(data.subarray(0, 50)).digest('hex') }] }));
  await a.recv();
  await a.send(message('S', { i: 0, offset: 50 }));
  await a.send(Uint8Array.from([0x44, ...new Uint8Array(50)]));
  await a.send(message('F', { i: 0, sha256: createHash('sha256').update(data).digest('hex') }));
  await assert.rejects(receiving, { code: 'verify' });
  assert.equal(store.f, 'discarded');
});

test('A offers at most what one P can prove, the largest first', async () => {
  const { offerable } = await import('../js/protocol.js');
  const entries = Array.from({ length: 5000 }, (_, i) => ({ path: `f${i}`, kind: 'file', size: 1e12 }));
  const held = entries.map((_, i) => ({ i, offset: 1 + i }));
  const have = offerable(entries, held);
  const p = message('P', { proofs: have.map((r) => ({ ...r, sha256: '00'.repeat(32) })) });
  assert.ok(p.length <= 262144, `P of ${p.length} bytes`);
  assert.ok(have.length > 2000 && have.length < 5000, `${have.length} offered`);
  assert.ok(have.every((r) => r.i >= 5000 - have.length), 'the largest held first');
  assert.deepEqual(offerable([{ path: 'd', kind: 'dir', size: 0 }, { path: 'f', kind: 'file', size: 3 }], [{ i: 0, offset: 1 }, { i: 1, offset: 4 }, { i: 1, offset: 0 }, { i: 9, offset: 1 }]), []);
});
