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
