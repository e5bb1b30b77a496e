// Where received files go, best first: a save dialog (showSaveFilePicker / showDirectoryPicker,
// on the Accept click), else the Origin Private File System (disk-backed staging, then a
// download), else memory (a Blob, then a download). The page says up front when a transfer is
// too big for the path it has.

import { TransferError, formatBytes } from './protocol.js';

const STAGING = 'p2pcopy-staging';
const BLOB_LIMIT = 2e9; // beyond this an in-memory Blob is likely to fail

const base = (p) => p.split('/').pop();
const flat = (p) => p.replaceAll('/', '_');

function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 120000);
}

function record(path, size, how) {
  const li = document.createElement('li');
  li.textContent = `${path} (${formatBytes(size)}) — ${how}`;
  li.dataset.path = path;
  li.dataset.how = how;
  document.getElementById('saved')?.append(li);
}

const ok = (mode, want) => mode === 'auto' || mode === want;

// chooseSaver runs on the user's click. mode is auto|picker|opfs|blob; note(text) shows a remark.
export async function chooseSaver(summary, mode, note) {
  if (mode === 'discard') return discardSaver(); // measurements only: hash, count, drop

  const total = summary ? Number(summary.total_bytes) : 0;
  if (ok(mode, 'picker') && window.showSaveFilePicker) {
    try {
      if (summary && summary.entries <= 1) {
        const handle = await window.showSaveFilePicker({ suggestedName: summary.name || 'received' });
        return pickerSaver(handle, null, await fallback(mode === 'picker' ? 'auto' : mode, total, note));
      }
      if (window.showDirectoryPicker) {
        const dir = await window.showDirectoryPicker({ mode: 'readwrite' });
        return pickerSaver(null, dir, null);
      }
    } catch (e) {
      if (mode === 'picker') throw new TransferError('cancelled', `no place to save was chosen (${e.name})`);
      note(`No save dialog (${e.name}); using the next way of saving.`);
    }
  }
  return fallback(mode, total, note);
}

async function fallback(mode, total, note) {
  if (ok(mode, 'opfs') && window.isSecureContext && navigator.storage?.getDirectory) {
    try {
      const root = await navigator.storage.getDirectory();
      await root.removeEntry(STAGING, { recursive: true }).catch(() => {});
      const dir = await root.getDirectoryHandle(STAGING, { create: true });
      const est = await navigator.storage.estimate?.();
      const free = est ? est.quota - est.usage : Infinity;
      if (total > free) note(`${formatBytes(total)} is more than this browser lets the page store (${formatBytes(free)}); the transfer will be refused.`);
      return opfsSaver(dir, free);
    } catch (e) {
      if (mode === 'opfs') throw e;
    }
  }
  if (total > BLOB_LIMIT) note(`${formatBytes(total)} is too big to keep in memory in this page; it will be refused. Open the page over https or on this computer (p2pcopy web) to save large files.`);
  return blobSaver();
}

function pickerSaver(fileHandle, dirHandle, other) {
  return {
    how: 'picker',
    async prepare(entries) {
      const files = entries.filter((e) => e.kind === 'file' || e.kind === 'stream');
      if (fileHandle && files.length !== 1) return other.prepare(entries);
      return async (e) => {
        let h = fileHandle;
        if (!h) {
          let d = dirHandle;
          const parts = e.path.split('/');
          for (const p of parts.slice(0, -1)) d = await d.getDirectoryHandle(p, { create: true });
          h = await d.getFileHandle(parts.at(-1), { create: true });
        }
        const w = await h.createWritable();
        let n = 0;
        return {
          write: (d) => { n += d.length; return w.write(d); },
          close: async () => { await w.close(); record(e.path, n, 'picker'); },
          abort: () => w.abort(),
        };
      };
    },
  };
}

function opfsSaver(dir, free) {
  return {
    how: 'opfs',
    async prepare(entries) {
      const total = entries.reduce((n, e) => n + Math.max(0, e.size), 0);
      if (total > free) throw new TransferError('disk-full', `refusing the transfer: ${formatBytes(total)} does not fit in this browser's storage (${formatBytes(free)} free)`);
      return async (e, i) => {
        const h = await dir.getFileHandle(`${i}-${flat(e.path)}`, { create: true });
        const w = await h.createWritable();
        let n = 0;
        return {
          write: (d) => { n += d.length; return w.write(d); },
          close: async () => {
            await w.close();
            download(await h.getFile(), e.path.includes('/') ? flat(e.path) : base(e.path));
            record(e.path, n, 'opfs');
          },
          abort: () => w.abort(),
        };
      };
    },
  };
}

function blobSaver() {
  return {
    how: 'blob',
    async prepare(entries) {
      const total = entries.reduce((n, e) => n + Math.max(0, e.size), 0);
      if (total > BLOB_LIMIT) throw new TransferError('limit', `refusing the transfer: ${formatBytes(total)} is too big to keep in this page's memory; open the page over https or with p2pcopy web`);
      return async (e) => {
        let parts = [];
        let n = 0;
        return {
          write: (d) => { parts.push(d); n += d.length; },
          close: async () => {
            download(new Blob(parts), e.path.includes('/') ? flat(e.path) : base(e.path));
            parts = [];
            record(e.path, n, 'blob');
          },
          abort: () => { parts = []; },
        };
      };
    },
  };
}

function discardSaver() {
  return {
    how: 'discard',
    async prepare() {
      return async (e) => {
        let n = 0;
        return { write: (d) => { n += d.length; }, close: async () => record(e.path, n, 'discard'), abort: () => {} };
      };
    },
  };
}
