// Where received files go, best first: a save dialog (showSaveFilePicker / showDirectoryPicker,
// on the Accept click), else the Origin Private File System (disk-backed staging, then a
// download), else memory (a Blob, then a download). The page says up front when a transfer is
// too big for the path it has.

import { TransferError, formatBytes } from './protocol.js';
import { displayName } from './display.js';

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

// What each way of saving did, in the words a user knows (never the storage API's name).
const SAVED = { picker: 'saved where you chose', opfs: 'downloaded', sw: 'downloaded', blob: 'downloaded', discard: 'checked, not kept' };

function record(path, size, how) {
  const li = document.createElement('li');
  li.textContent = `${displayName(path)} (${formatBytes(size)}): ${SAVED[how] ?? 'saved'}`;
  li.dataset.path = path;
  li.dataset.how = how;
  document.getElementById('saved')?.append(li);
}

const ok = (mode, want) => mode === 'auto' || mode === want;

// chooseSaver runs on the user's click. mode is auto|picker|opfs|sw|blob; note(text) shows a
// remark. auto prefers the save dialog, then OPFS (disk-backed, any size the browser allows),
// then memory; a service-worker streamed download (sw) is used when asked for: it holds nothing
// but a long download may be cut when the browser stops an idle worker.
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
      if (mode === 'picker') throw new TransferError('cancelled', 'no place to save was chosen');
      note('No place to save was chosen here; the files will be downloaded instead.');
    }
  }
  return fallback(mode, total, note);
}

async function fallback(mode, total, note) {
  if (mode === 'sw') {
    const reg = await registerWorker();
    if (reg) return swSaver(reg);
    note('This page cannot stream downloads (no service worker here); using the next way of saving.');
  }
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

// pickerSaver saves into what the user picked: one file (the browser itself asked before
// replacing it) or a folder. Into a folder nothing that is there already is ever replaced (the
// rule the CLI keeps without --overwrite, PROTOCOL.md §2.4): an existing name refuses the
// transfer before anything is received.
export function pickerSaver(fileHandle, dirHandle, other) {
  return {
    how: 'picker',
    async prepare(entries) {
      const files = entries.filter((e) => e.kind === 'file' || e.kind === 'stream');
      if (fileHandle && files.length !== 1) return other.prepare(entries);
      if (!fileHandle) {
        for (const e of files) {
          if (await existsIn(dirHandle, e.path)) {
            throw new TransferError('exists', `"${e.path}" is already in the folder you chose; choose another folder, or move that file away and try again`);
          }
        }
      }
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

// existsIn reports whether path ('/'-separated) names anything in dir.
async function existsIn(dir, path) {
  const parts = path.split('/');
  let d = dir;
  try {
    for (const p of parts.slice(0, -1)) d = await d.getDirectoryHandle(p);
  } catch (e) {
    if (e?.name === 'NotFoundError') return false;
    if (e?.name === 'TypeMismatchError') return true; // a file where a folder would go
    throw e;
  }
  for (const get of [(n) => d.getFileHandle(n), (n) => d.getDirectoryHandle(n)]) {
    try {
      await get(parts.at(-1));
      return true;
    } catch (e) {
      if (e?.name !== 'NotFoundError' && e?.name !== 'TypeMismatchError') throw e;
    }
  }
  return false;
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

// registerWorker registers sw.js (secure contexts only) and returns its active registration.
async function registerWorker() {
  if (!window.isSecureContext || !navigator.serviceWorker) return null;
  try {
    await navigator.serviceWorker.register('sw.js', { scope: './' });
    return await navigator.serviceWorker.ready;
  } catch {
    return null;
  }
}

function swSaver(reg) {
  return {
    how: 'sw',
    async prepare() {
      return async (e) => {
        const id = Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, '0')).join('');
        const name = e.path.includes('/') ? flat(e.path) : base(e.path);
        const ch = new MessageChannel();
        let credit = 0, cancelled = false, wake = null;
        const ready = new Promise((resolve) => {
          ch.port1.onmessage = ({ data }) => {
            if (data === 'ready') resolve();
            else if (data === 'pull') credit++;
            else if (data === 'cancel') cancelled = true;
            if (wake) { const w = wake; wake = null; w(); }
          };
        });
        reg.active.postMessage({ id, name, size: e.kind === 'stream' ? -1 : e.size }, [ch.port2]);
        await ready;
        const frame = document.createElement('iframe');
        frame.hidden = true;
        frame.title = 'download';
        frame.src = new URL(`p2pcopy-download/${id}/${encodeURIComponent(name)}`, reg.scope).href;
        document.body.append(frame);
        let n = 0;
        return {
          write: async (d) => {
            while (credit <= 0 && !cancelled) await new Promise((r) => { wake = r; });
            if (cancelled) throw new TransferError('cancelled', `the download of ${e.path} was cancelled in the browser`);
            credit--;
            const copy = d.slice();
            ch.port1.postMessage(copy.buffer, [copy.buffer]);
            n += d.length;
          },
          close: async () => {
            ch.port1.postMessage('end');
            record(e.path, n, 'sw');
            setTimeout(() => frame.remove(), 60000);
          },
          abort: () => { ch.port1.postMessage('abort'); },
        };
      };
    },
  };
}
