// Receiving into the browser's own storage for this site (the Origin Private File System), so
// that a copy into a phone that slept or lost its network resumes on the next run.
//
// Layout under the site's storage root:
//   p2pcopy-part/<key>/<i>   what arrived of entry i of the transfer whose manifest hashes to key
//   p2pcopy-received/<i>-<name>  verified files of this page session, handed to the user
// The key is the SHA-256 of the manifest as it travels (paths, kinds, sizes, modes, times), so
// the same send run again (same files, unchanged) finds what an earlier run left, and a changed
// file does not. Files are written by a dedicated worker through synchronous access handles
// (opfs-worker.js): those bytes stay in the file even when the page dies. Where that worker
// cannot run, createWritable is used (nothing is kept of a broken copy then: the browser keeps
// such writes aside until they are closed).

import { sha256 } from '../vendor/noble-hashes/sha2.js';
import { TransferError, formatBytes, goJSON, wireEntry } from './protocol.js';

const PARTS = 'p2pcopy-part';
const RECEIVED = 'p2pcopy-received';
const OLD_STAGING = 'p2pcopy-staging'; // what earlier versions of the page left
const DONE = 'done'; // a marker in a key's folder: everything in it was handed over already
// Partial copies nobody came back for within a week are deleted: storage is the user's.
const KEEP_PARTS_MS = 7 * 24 * 3600 * 1000;
// Reading what is held for the resume check, in slices the main thread hashes between events.
const READ_SLICE = 4 << 20;
// Writes in flight to the worker before a write waits for it: 32 messages of at most 256 kB
// bound the memory the worker queue holds to 8 MB.
const IN_FLIGHT = 32;

const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

// transferKey names a transfer by its manifest: the same entries give the same key.
export function transferKey(entries) {
  return hex(sha256(new TextEncoder().encode(goJSON(entries.map(wireEntry))))).slice(0, 32);
}

// A worker's error as an Error with the DOM exception's name, for the page to put in words.
const asError = (e) => Object.assign(new Error(e.message), { name: e.name });

// startWorker starts opfs-worker.js and resolves to a client, or to null where the worker or its
// synchronous handles are missing (then createWritable is the way).
export async function startWorker() {
  let w;
  try {
    w = new Worker(new URL('./opfs-worker.js', import.meta.url));
  } catch {
    return null;
  }
  let seq = 0;
  const waiting = new Map();
  w.onmessage = ({ data }) => {
    const cb = waiting.get(data.seq);
    waiting.delete(data.seq);
    cb?.(data);
  };
  const failAll = (msg) => { for (const cb of waiting.values()) cb({ error: { name: 'Error', message: msg } }); waiting.clear(); };
  w.onerror = (e) => { e.preventDefault?.(); failAll('the saving worker stopped'); };
  const client = {
    // call sends m and resolves to the worker's answer; a failure rejects.
    call(m, transfer = []) {
      return new Promise((resolve, reject) => {
        m.seq = ++seq;
        waiting.set(m.seq, (r) => (r.error ? reject(asError(r.error)) : resolve(r)));
        w.postMessage(m, transfer);
      });
    },
    terminate: () => w.terminate(),
  };
  const probe = await Promise.race([client.call({ op: 'probe' }).catch(() => ({ ok: false })), new Promise((r) => setTimeout(() => r({ ok: false }), 5000))]);
  if (!probe.ok) {
    w.terminate();
    return null;
  }
  return client;
}

async function removeQuietly(dir, name) {
  try { await dir.removeEntry(name, { recursive: true }); } catch { /* not there */ }
}

async function fileIn(dir, name) {
  try { return await dir.getFileHandle(name); } catch { return null; }
}

// newest is the latest modification time of the files directly in dir (0 when empty).
async function newest(dir) {
  let t = 0;
  for await (const h of dir.values()) {
    if (h.kind === 'file') t = Math.max(t, (await h.getFile()).lastModified);
  }
  return t;
}

// openStore clears what earlier page sessions handed over and returns the store root.
export async function openStore() {
  const root = await navigator.storage.getDirectory();
  await removeQuietly(root, OLD_STAGING);
  await removeQuietly(root, RECEIVED);
  const parts = await root.getDirectoryHandle(PARTS, { create: true });
  const received = await root.getDirectoryHandle(RECEIVED, { create: true });
  return { root, parts, received };
}

// prepareStore returns the receive() store for entries (see protocol.js receive): what an
// earlier run of the same transfer left (held), its bytes (prefix), and sinks (open) that write
// after them. finished(path, file) is called with each verified file, under its own name.
export async function prepareStore(store, worker, entries, free, finished) {
  const key = transferKey(entries);
  // Forget other transfers' partial copies nobody came back for, and finished ones.
  for await (const [name, h] of store.parts.entries()) {
    if (name === key || h.kind !== 'directory') continue;
    if (await fileIn(h, DONE) || Date.now() - (await newest(h)) > KEEP_PARTS_MS) await removeQuietly(store.parts, name);
  }
  let dir = await store.parts.getDirectoryHandle(key, { create: true });
  if (await fileIn(dir, DONE)) {
    await removeQuietly(store.parts, key);
    dir = await store.parts.getDirectoryHandle(key, { create: true });
  }
  const held = [];
  if (worker) {
    for (let i = 0; i < entries.length; i++) {
      if (entries[i].kind !== 'file') continue;
      const h = await fileIn(dir, String(i));
      if (!h) continue;
      const size = (await h.getFile()).size;
      if (size > entries[i].size) await removeQuietly(dir, String(i));
      else if (size > 0) held.push({ i, offset: size });
    }
  }
  const total = entries.reduce((n, e) => n + Math.max(0, e.size), 0) - held.reduce((n, r) => n + r.offset, 0);
  if (total > free) throw new TransferError('disk-full', `refusing the transfer: ${formatBytes(total)} does not fit in the space this browser gives the page (${formatBytes(free)} free); free up space on this device, or receive on a computer`);

  // handOver moves a verified file out of the partial copies and gives it to the user.
  const handOver = async (e, i) => {
    const fh = await dir.getFileHandle(String(i));
    const name = e.path.split('/').join('_');
    if (typeof fh.move === 'function') {
      try { await fh.move(store.received, `${i}-${name}`); } catch { /* stays where it is: marked done at the end */ }
    }
    finished(e.path, await fh.getFile());
  };

  return {
    held,
    key,
    async *prefix(i, offset) {
      const f = await (await dir.getFileHandle(String(i))).getFile();
      for (let o = 0; o < offset; o += READ_SLICE) yield new Uint8Array(await f.slice(o, Math.min(offset, o + READ_SLICE)).arrayBuffer());
    },
    async open(e, i, offset) {
      return worker ? workerSink(worker, [PARTS, key], e, i, offset, handOver) : writableSink(dir, e, i, handOver);
    },
    // finish forgets the partial copies once everything was handed over.
    async finish() {
      let left = false;
      for await (const h of dir.values()) { if (h.kind === 'file') left = true; }
      if (!left) await removeQuietly(store.parts, key);
      else await dir.getFileHandle(DONE, { create: true });
    },
  };
}

function workerSink(worker, dirPath, e, i, offset, handOver) {
  return worker.call({ op: 'open', dir: dirPath, name: String(i), offset }).then(({ id }) => {
    let inFlight = 0, error = null, wake = null;
    const settle = () => { inFlight--; if (wake) { const w = wake; wake = null; w(); } };
    const check = () => { if (error) throw error; };
    const close = () => worker.call({ op: 'close', id });
    return {
      // write takes d's buffer over when d is all of it but a leading type byte (a D message as
      // it arrived); otherwise it copies.
      async write(d) {
        check();
        while (inFlight >= IN_FLIGHT) { await new Promise((r) => { wake = r; }); check(); }
        let buf = d.buffer, off = d.byteOffset;
        const len = d.length;
        if (off > 1 || off + len !== buf.byteLength || buf instanceof SharedArrayBufferType) {
          const c = d.slice();
          buf = c.buffer; off = 0;
        }
        inFlight++;
        worker.call({ op: 'write', id, buf, off, len }, [buf]).then(settle, (err) => { error ??= err; settle(); });
      },
      async close() {
        await close();
        check();
        await handOver(e, i);
      },
      // abort keeps what arrived: the next run of the same transfer resumes from it.
      abort: () => close().catch(() => {}),
      // discard drops it: it failed the final check.
      async discard() {
        await close().catch(() => {});
        await worker.call({ op: 'open', dir: dirPath, name: String(i), offset: 0 }).then(({ id: z }) => worker.call({ op: 'close', id: z })).catch(() => {});
      },
    };
  });
}

// SharedArrayBuffer is absent where the page is not cross-origin isolated.
const SharedArrayBufferType = globalThis.SharedArrayBuffer ?? class {};

async function writableSink(dir, e, i, handOver) {
  const fh = await dir.getFileHandle(String(i), { create: true });
  const w = await fh.createWritable();
  return {
    write: (d) => w.write(d),
    async close() { await w.close(); await handOver(e, i); },
    abort: () => w.abort(),
    discard: () => w.abort(),
  };
}
