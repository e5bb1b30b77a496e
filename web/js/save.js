// Where received files go, best first: a save dialog (showSaveFilePicker / showDirectoryPicker,
// on the Accept click), else this site's private storage in the browser (disk-backed, kept
// across runs so a broken copy resumes: opfs.js), else memory (a Blob). The page says up front
// when a transfer is too big for the way it has. Each verified file is then offered with the
// actions that fit the browser: Open (types a browser shows safely), Share (where the browser
// can share files: phones) and Download.

import { TransferError, formatBytes } from './protocol.js';
import { displayName } from './display.js';

// Beyond this an in-memory Blob is likely to fail (desktop browsers).
export const BLOB_LIMIT = 2e9;
// iPhones and iPads end a page holding around 400 MB in memory (DESIGN.md §8).
export const BLOB_LIMIT_IOS = 4e8;

const base = (p) => p.split('/').pop();
const flat = (p) => p.replaceAll('/', '_');
const downloadName = (p) => (p.includes('/') ? flat(p) : base(p));

// Types a browser shows by itself and that cannot run code in the page's origin (no HTML, SVG
// or XML: an object URL opened in a tab has this page's origin).
const VIEWABLE = {
  jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', gif: 'image/gif', webp: 'image/webp', avif: 'image/avif', bmp: 'image/bmp',
  heic: 'image/heic', mp4: 'video/mp4', m4v: 'video/mp4', webm: 'video/webm', mov: 'video/quicktime', mp3: 'audio/mpeg', m4a: 'audio/mp4',
  ogg: 'audio/ogg', opus: 'audio/ogg', wav: 'audio/wav', flac: 'audio/flac', pdf: 'application/pdf', txt: 'text/plain', md: 'text/plain',
  log: 'text/plain', csv: 'text/plain',
};

// viewableType is the type a browser can show name as, or '' for anything else.
export function viewableType(name) {
  const m = /\.([A-Za-z0-9]+)$/.exec(name);
  return (m && VIEWABLE[m[1].toLowerCase()]) || '';
}

// isIOS tells iPhones and iPads (including iPads that present themselves as Macs).
export function isIOS(nav = globalThis.navigator) {
  return /iPhone|iPad|iPod/.test(nav?.userAgent ?? '') || (nav?.platform === 'MacIntel' && nav?.maxTouchPoints > 1);
}
// isSafari tells Safari (and every iOS browser, which are Safari inside): service-worker
// downloads fail there.
export function isSafari(nav = globalThis.navigator) {
  const ua = nav?.userAgent ?? '';
  return isIOS(nav) || (/Safari\//.test(ua) && !/Chrome\/|Chromium\/|Android|Firefox\//.test(ua));
}

function download(file, name) {
  const url = URL.createObjectURL(file);
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
const SAVED = { picker: 'saved where you chose', opfs: 'saved', sw: 'downloaded', blob: 'saved', discard: 'checked, not kept' };

function button(text, testid, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = text;
  b.dataset.testid = testid;
  b.addEventListener('click', onClick);
  return b;
}

// record lists a verified file with what the user can do with it: file is its content (a File
// or Blob), absent when it went straight to a download.
export function record(path, size, how, file) {
  const li = document.createElement('li');
  const name = downloadName(path);
  const label = document.createElement('span');
  label.className = 'saved-name';
  label.textContent = `${displayName(path)} (${formatBytes(size)}): ${SAVED[how] ?? 'saved'}`;
  li.append(label);
  li.dataset.path = path;
  li.dataset.how = how;
  if (file && how !== 'discard') {
    const type = viewableType(name);
    const named = new File([file], name, { type: type || 'application/octet-stream' });
    const actions = document.createElement('div');
    actions.className = 'row actions';
    if (type) {
      actions.append(button('Open', 'open', () => {
        const url = URL.createObjectURL(named);
        window.open(url, '_blank', 'noopener');
        setTimeout(() => URL.revokeObjectURL(url), 600000);
      }));
    }
    let canShare = false;
    try { canShare = !!navigator.canShare?.({ files: [named] }); } catch { /* not for files */ }
    if (canShare) {
      actions.append(button('Share', 'share', () => {
        navigator.share({ files: [named], title: displayName(name) }).catch(() => { /* closed without sharing */ });
      }));
    }
    actions.append(button('Download', 'download', () => download(named, name)));
    for (const b of actions.children) b.setAttribute('aria-label', `${b.textContent} ${displayName(name)}`);
    li.append(actions);
  }
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
    // Safari (and so every browser on iOS) fails service-worker downloads: never there.
    const reg = isSafari() ? null : await registerWorker();
    if (reg) return swSaver(reg);
    note('This browser cannot stream downloads; the file is kept in the browser until it is complete instead.');
  }
  if (ok(mode, 'opfs')) {
    const s = await storageSaver(note, total);
    if (s) return s;
    if (mode === 'opfs') throw new TransferError('io', 'this browser does not let the page keep files (a private window?); open the link in a normal window');
  }
  const limit = isIOS() ? BLOB_LIMIT_IOS : BLOB_LIMIT;
  if (total > limit) note(`${formatBytes(total)} is too big to hold in this page's memory (the limit here is about ${formatBytes(limit)}); it will be refused. Open the link in a normal (not private) window, or receive on a computer.`);
  return blobSaver(limit);
}

// storageSaver keeps received files in the site's storage in the browser (opfs.js), or returns
// null where the browser does not allow that (private windows, insecure pages).
async function storageSaver(note, total) {
  if (!window.isSecureContext || !navigator.storage?.getDirectory) return null;
  // Loaded only when used: a page that sends, or holds files in memory, starts faster.
  const { openStore, startWorker, prepareStore } = await import('./opfs.js');
  let store;
  try {
    store = await openStore();
  } catch {
    return null; // private windows refuse
  }
  const worker = await startWorker();
  const est = await navigator.storage.estimate?.().catch(() => null);
  const free = est ? est.quota - est.usage : Infinity;
  if (total > free) note(`${formatBytes(total)} is more than this browser lets the page keep (${formatBytes(free)}); the transfer will be refused. Free up space on this device, or receive on a computer.`);
  let current = null;
  return {
    how: 'opfs',
    async prepare(entries) {
      current = await prepareStore(store, worker, entries, free, (path, file) => {
        download(file, downloadName(path));
        record(path, file.size, 'opfs', file);
      });
      return current;
    },
    finish: () => current?.finish(),
  };
}

// canStore tells, before Accept, whether this browser lets the page keep files on disk (so a
// broken copy resumes): false in private windows and on insecure (http://LAN) pages.
export async function canStore() {
  if (!window.isSecureContext || !navigator.storage?.getDirectory) return false;
  try {
    await navigator.storage.getDirectory();
    return true;
  } catch {
    return false;
  }
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
          close: async () => { await w.close(); record(e.path, n, 'picker', await Promise.resolve().then(() => h.getFile()).catch(() => null)); },
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

function blobSaver(limit) {
  return {
    how: 'blob',
    async prepare(entries) {
      const total = entries.reduce((n, e) => n + Math.max(0, e.size), 0);
      if (total > limit) throw new TransferError('limit', `refusing the transfer: ${formatBytes(total)} is too big to hold in this page's memory; open the link in a normal (not private) window, or receive on a computer`);
      return async (e) => {
        let parts = [];
        let n = 0;
        return {
          write: (d) => { parts.push(d); n += d.length; },
          close: async () => {
            const file = new File(parts, downloadName(e.path));
            parts = [];
            download(file, downloadName(e.path));
            record(e.path, n, 'blob', file);
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
        const name = downloadName(e.path);
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
