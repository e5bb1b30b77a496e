// A dedicated worker that writes received files into this site's private storage in the
// browser through synchronous access handles (File System Standard, createSyncAccessHandle,
// which exists only in dedicated workers). Each write lands in the file itself at once, so what
// arrived before a phone slept or lost its network is still there for the next run to resume.
// It is also the only way Safari before version 26 can write there (it has no createWritable).
// Messages are handled strictly one after another: Safari 15.2-16 had promise-returning
// handle methods, and interleaving two writes would misplace bytes.

const files = new Map(); // id -> {h: sync access handle, pos: next write position}
let nextID = 1;
let queue = Promise.resolve();

async function dirAt(parts) {
  let d = await navigator.storage.getDirectory();
  for (const p of parts) d = await d.getDirectoryHandle(p, { create: true });
  return d;
}

async function handle(m) {
  switch (m.op) {
    case 'probe':
      return { ok: typeof FileSystemFileHandle !== 'undefined' && 'createSyncAccessHandle' in FileSystemFileHandle.prototype };
    case 'open': {
      const fh = await (await dirAt(m.dir)).getFileHandle(m.name, { create: true });
      const h = await fh.createSyncAccessHandle();
      await h.truncate(m.offset);
      const id = nextID++;
      files.set(id, { h, pos: m.offset });
      return { id };
    }
    case 'write': {
      const f = files.get(m.id);
      if (!f) return {};
      const u = new Uint8Array(m.buf, m.off, m.len);
      for (let o = 0; o < u.length;) {
        const n = await f.h.write(u.subarray(o), { at: f.pos + o });
        if (!(n > 0)) throw new DOMException('nothing was written', 'QuotaExceededError');
        o += n;
      }
      f.pos += u.length;
      return {};
    }
    case 'close': {
      const f = files.get(m.id);
      files.delete(m.id);
      if (f) {
        await f.h.flush();
        await f.h.close();
      }
      return {};
    }
  }
  throw new Error('unknown request ' + m.op);
}

self.onmessage = ({ data: m }) => {
  queue = queue.then(() => handle(m)).then(
    (r) => self.postMessage({ seq: m.seq, ...r }),
    (e) => self.postMessage({ seq: m.seq, error: { name: e?.name ?? 'Error', message: String(e?.message ?? e) } }),
  );
};
