// A dedicated worker that computes the transfer's SHA-256 sums (hash.js is its client), so the
// page's main thread only moves bytes between the DataChannel, the file and this worker.
// Messages are handled in the order they arrive: a digest covers every update sent before it.

import { sha256 } from '../vendor/noble-hashes/sha2.js';

const hexOf = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const states = new Map(); // id -> incremental SHA-256

self.onmessage = ({ data: m }) => {
  switch (m.op) {
    case 'probe':
      self.postMessage({ seq: m.seq, ok: true });
      return;
    case 'new':
      states.set(m.id, sha256.create());
      return;
    case 'update':
      states.get(m.id)?.update(new Uint8Array(m.buf, m.off, m.len));
      self.postMessage({ hashed: m.len });
      return;
    case 'digest': {
      const h = states.get(m.id);
      if (!h) {
        self.postMessage({ seq: m.seq, error: `no hash ${m.id}` });
        return;
      }
      if (!m.keep) states.delete(m.id);
      self.postMessage({ seq: m.seq, hex: hexOf(m.keep ? h.clone().digest() : h.digest()) });
      return;
    }
    case 'free':
      states.delete(m.id);
      return;
  }
  self.postMessage({ seq: m.seq, error: `unknown request ${m.op}` });
};
