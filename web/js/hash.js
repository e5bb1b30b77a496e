// SHA-256 for the transfer, off the page's main thread where the browser allows it: a dedicated
// worker (hash-worker.js) hashes what the main thread hands it over, while the main thread goes
// on reading or feeding the DataChannel. Where no worker starts, inPlace hashes on the calling
// thread with the same interface.
//
// A hasher factory has create(), which gives a hasher:
//   update(u8, own)  hashes u8 next; own: the caller gives u8's buffer up (no copy). It may
//                    return a promise: then the caller waits for it before handing over more.
//   hex(keep)        resolves to the lowercase hex digest of everything so far; keep: hashing
//                    goes on afterwards (a resume proof is the prefix's hash), else it ends.
//   free()           forgets a hasher that will not be finished.

import { sha256 } from '../vendor/noble-hashes/sha2.js';

const hexOf = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

// Bytes handed to the worker and not hashed yet before update asks the caller to wait: bounds
// the page's memory when the worker is slower than the network (16 MB is four of the sender's
// read blocks, and several hundred ms of data at the rates measured).
const BACKLOG = 16 << 20;
// How long a worker gets to answer that it runs; a browser that cannot start module workers
// may never answer at all.
const PROBE_MS = 5000;

// inPlace hashes on the calling thread (no worker, or tests).
export const inPlace = {
  create() {
    const h = sha256.create();
    return {
      update(u8) { h.update(u8); },
      hex: async (keep = false) => hexOf(keep ? h.clone().digest() : h.digest()),
      free() {},
    };
  },
  terminate() {},
};

// SharedArrayBuffer is absent where the page is not cross-origin isolated.
const SharedArrayBufferType = globalThis.SharedArrayBuffer ?? class {};

// startHasher starts hash-worker.js and resolves to a hasher factory, or to null where the
// browser cannot run it (then inPlace is the way).
export async function startHasher() {
  let w;
  try {
    w = new Worker(new URL('./hash-worker.js', import.meta.url), { type: 'module' });
  } catch {
    return null;
  }
  return hasherOn(w);
}

// hasherOn speaks to w, a started hash-worker.js (a Worker, or anything with postMessage,
// onmessage, onerror and terminate), and resolves to a hasher factory, or to null when it does
// not answer.
export async function hasherOn(w) {
  let seq = 0, nextID = 0, backlog = 0, broken = null;
  const waiting = new Map();
  let room = [];
  const wakeRoom = () => { const r = room; room = []; r.forEach((f) => f()); };
  w.onmessage = ({ data }) => {
    if (data.hashed) {
      backlog -= data.hashed;
      if (backlog <= BACKLOG) wakeRoom();
    }
    if (data.seq) {
      const cb = waiting.get(data.seq);
      waiting.delete(data.seq);
      cb?.(data);
    }
  };
  w.onerror = (e) => {
    e?.preventDefault?.();
    broken = new Error('the hashing worker stopped');
    for (const cb of waiting.values()) cb({ error: broken.message });
    waiting.clear();
    wakeRoom();
  };
  const call = (m) => new Promise((resolve, reject) => {
    if (broken) { reject(broken); return; }
    m.seq = ++seq;
    waiting.set(m.seq, (r) => (r.error ? reject(new Error(r.error)) : resolve(r)));
    w.postMessage(m);
  });
  const probe = await Promise.race([call({ op: 'probe' }).catch(() => ({ ok: false })), new Promise((r) => setTimeout(() => r({ ok: false }), PROBE_MS))]);
  if (!probe.ok) {
    w.terminate();
    return null;
  }
  return {
    create() {
      const id = ++nextID;
      w.postMessage({ op: 'new', id });
      return {
        update(u8, own = false) {
          if (broken) throw broken;
          let buf = u8.buffer, off = u8.byteOffset;
          const len = u8.length;
          if (!own || buf instanceof SharedArrayBufferType) {
            const c = u8.slice();
            buf = c.buffer; off = 0;
          }
          backlog += len;
          w.postMessage({ op: 'update', id, buf, off, len }, [buf]);
          if (backlog > BACKLOG) {
            return new Promise((resolve, reject) => room.push(() => (broken ? reject(broken) : resolve())));
          }
        },
        hex: (keep = false) => call({ op: 'digest', id, keep }).then((r) => r.hex),
        free() { if (!broken) w.postMessage({ op: 'free', id }); },
      };
    },
    terminate: () => w.terminate(),
  };
}
