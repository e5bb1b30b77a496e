// The page: a full p2pcopy peer in the browser (docs/PROTOCOL.md §1-§3).

import { decodeToken, encodeToken, tokenSDP, fromSDP, checkToken, verificationCode, fromHex, TokenError, OFFER, ANSWER, trimCandidates } from './token.js';
import { send, receive, dataChannelConn, formatBytes, TransferError, DEFAULT_CHUNK, FLOW } from './protocol.js';
import { chooseSaver, canStore, isIOS, isSafari, BLOB_LIMIT, BLOB_LIMIT_IOS } from './save.js';
import { answerMAC } from './scan.js';
import { qrSVG } from './qr.js';
import { displayName, offeredText, plainError } from './display.js';
import { startHasher, inPlace } from './hash.js';

const APP = 'p2pcopy-web/0.1.0';
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);

// Settings from the page's query string (all optional): stun=none|URL,URL; save=auto|picker|opfs|blob;
// chunk, high, low (flow-control tuning, bytes); gather (ms to wait for candidates).
const DEFAULT_STUN = ['stun:stun.l.google.com:19302', 'stun:stun.cloudflare.com:3478'];
function iceServers() {
  const s = params.get('stun');
  if (s === 'none') return [];
  const urls = s ? s.split(',').filter(Boolean) : DEFAULT_STUN;
  return urls.length ? [{ urls }] : [];
}
const intParam = (k, d) => { const v = Number(params.get(k)); return Number.isFinite(v) && v > 0 ? v : d; };
const CHUNK = intParam('chunk', DEFAULT_CHUNK);
const FLOWCTL = { high: intParam('high', FLOW.high), low: intParam('low', FLOW.low) };
const GATHER_MS = intParam('gather', 3000);

// ---------------------------------------------------------------------------------------------
// Status, progress, errors.

let finished = false;
function status(text) { if (!finished) $('status').textContent = text; }
// fail shows why things stopped. A bad paste (retry) leaves the page waiting for another one,
// as the CLI asks again on a terminal.
function fail(err, retry = false) {
  console.error(err);
  let msg = plainError(err);
  // A copy into the browser's storage that broke off continues on the next run.
  if (state.role === 'receiver' && saver?.how === 'opfs' && state.phase === 'running' && ['io', 'timeout', 'cancelled'].includes(err?.code)) {
    msg += '. What arrived is kept: open the same link again (or ask your peer to run the same send again) and the copy continues where it stopped';
  }
  status('error: ' + displayName(msg)); // a message may quote a name the peer sent
  if (!retry) {
    finished = true;
    $('transfer').hidden = $('verify-code').textContent === '—';
  }
}
function done(summary, r) {
  status('done');
  finished = true;
  // Finished steps get out of the way: what is left is the result (and the code to compare).
  for (const id of ['offered', 'mine', 'paste', 'receive', 'send']) $(id).hidden = true;
  $('summary').textContent = summary;
  $('summary').dataset.bytes = r.bytes;
  $('summary').dataset.seconds = r.seconds;
  $('progress-live').textContent = '';
  if ($('saved').children.length) {
    $('saved-title').hidden = false;
    $('saved-title').focus(); // keyboard and screen reader users land on the result
  }
}

function eta(sec) {
  if (!Number.isFinite(sec) || sec < 0) return '';
  const m = Math.floor(sec / 60), s = Math.round(sec % 60);
  return m ? `${m}m${s}s` : `${s}s`;
}
// The spoken progress (a live region) changes at most this often: a screen reader reading out
// every update of the visible line would say nothing else.
const SPEAK_EVERY_MS = 5000;
let lastSpoken = 0;
function onEvent(e) {
  if (e.event === 'progress') {
    const p = $('progress');
    p.max = Math.max(e.total, 1);
    p.value = e.total ? e.bytes : 0;
    const rate = e.elapsed > 0 ? e.bytes / e.elapsed : 0;
    const pct = e.total ? Math.floor((100 * e.bytes) / e.total) : 100;
    const left = rate > 0 && e.bytes < e.total ? eta((e.total - e.bytes) / rate) : '';
    $('progress-text').textContent = `${pct}% · ${formatBytes(e.bytes)} of ${formatBytes(e.total)} · ${formatBytes(Math.round(rate))}/s${left ? ' · ' + left + ' left' : ''}`;
    const now = Date.now();
    if (now - lastSpoken >= SPEAK_EVERY_MS && e.bytes < e.total) {
      lastSpoken = now;
      $('progress-live').textContent = `${pct} percent${left ? ', about ' + left + ' left' : ''}`;
    }
  } else if (e.event === 'resume') {
    $('summary').textContent = `continuing ${displayName(e.path)} at ${formatBytes(e.offset)}, where the earlier try stopped`;
    $('summary').dataset.resumed = String(Number($('summary').dataset.resumed || 0) + e.offset);
  }
}

// ---------------------------------------------------------------------------------------------
// WebRTC: one peer connection, one negotiated DataChannel, tokens instead of SDP.

async function newPeer() {
  const cert = await RTCPeerConnection.generateCertificate({ name: 'ECDSA', namedCurve: 'P-256' });
  const fpText = cert.getFingerprints().find((f) => f.algorithm === 'sha-256').value;
  const fingerprint = fromHex(fpText.replaceAll(':', ''));
  const pc = new RTCPeerConnection({ iceServers: iceServers(), certificates: [cert] });
  const dc = pc.createDataChannel('p2pcopy', { negotiated: true, id: 0, ordered: true });
  dc.binaryType = 'arraybuffer';
  const opened = new Promise((resolve, reject) => {
    dc.addEventListener('open', resolve, { once: true });
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'failed') reject(Object.assign(new Error('could not connect to your peer (no network path between the two devices worked); put both on the same Wi-Fi, or on different networks ask your peer to use a relay (p2pcopy --turn)'), { plain: true }));
    });
  });
  opened.catch(() => {});
  return { pc, dc, fingerprint, opened };
}

// gather waits for candidate gathering, at most GATHER_MS (a black-holed STUN server would
// otherwise hold it for many seconds).
function gather(pc) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(resolve, GATHER_MS);
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') { clearTimeout(t); resolve(); }
    });
  });
}

function localToken(pc, kind, role, summary) {
  const t = fromSDP(kind, pc.localDescription.sdp);
  t.candidates = trimCandidates(t.candidates);
  t.role = role;
  t.summary = summary ?? null;
  return { token: t, text: encodeToken(t) };
}

// ---------------------------------------------------------------------------------------------
// What this page does.

const state = {
  peer: null,          // {pc, dc, fingerprint, opened}
  myToken: null,       // our published token (decoded)
  role: null,          // 'sender' | 'receiver'
  items: null,         // files to send
  phase: 'idle',       // idle | offered (we printed an offer) | answered | connecting
  incoming: null,      // a peer's offer waiting for Accept
  scan: null,          // {secret, returnTo} from the link (scan-and-go)
};

function showMine(kind, text, hint) {
  $('mine').hidden = false;
  $('offer-token').hidden = kind !== OFFER;
  $('answer-token').hidden = kind !== ANSWER;
  const box = kind === OFFER ? $('offer-token') : $('answer-token');
  box.value = text;
  $('mine-title').textContent = kind === OFFER ? 'Give this token to your peer' : 'Give this answer back to your peer';
  $('mine-hint').textContent = hint;
  if (kind === OFFER) {
    const link = location.origin === 'null' || location.protocol === 'file:' ? '' : `${location.origin}${location.pathname}${location.search}#${text}`;
    $('link-line').hidden = !link;
    $('copy-link').hidden = !link;
    $('link').textContent = link;
    $('link').href = link;
    $('qr').replaceChildren();
    if (link) {
      try { $('qr').append(qrSVG(document, link, 'QR code of the link')); } catch { /* too long for a QR code: the link stays */ }
    }
  } else {
    $('qr').replaceChildren();
    $('link-line').hidden = true;
    $('copy-link').hidden = true;
  }
  $('token-label').textContent = kind === OFFER ? "Your peer's answer" : 'Token from your peer';
}

function showVerification(peerToken) {
  $('verify-code').textContent = verificationCode(state.peer.fingerprint, peerToken.fingerprint);
}

// collect turns picked or dropped files into protocol items: directories first, then files.
function collect(files) {
  const items = [], dirs = new Set();
  for (const f of files) {
    const path = (f.relPath || f.webkitRelativePath || f.name).replace(/^\/+/, '');
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (!dirs.has(d)) { dirs.add(d); items.push({ path: d, kind: 'dir', size: 0, mode: 0o755, mtime: 0 }); }
    }
    items.push({ path, kind: 'file', size: f.size, mode: 0o644, mtime: Math.floor((f.lastModified || 0) / 1000), blob: f });
  }
  return items;
}
function summarize(items) {
  const top = new Set(items.map((it) => it.path.split('/')[0]));
  const total = items.reduce((n, it) => n + (it.kind === 'dir' ? 0 : it.size), 0);
  return { entries: top.size, total_bytes: total, name: items.length ? items[0].path.split('/')[0] : '' };
}

async function setItems(files) {
  const items = collect(files);
  if (!items.length) return;
  state.items = items;
  const s = summarize(items);
  $('picked').textContent = `${items.filter((i) => i.kind !== 'dir').length} file(s), ${formatBytes(s.total_bytes)}`;
  if (state.incoming && state.incoming.role === 'receiver') {
    $('accept').disabled = false;
    return;
  }
  if (state.phase === 'idle') await offerFirst('sender');
}

// offerFirst makes and shows our offer, then waits for the pasted answer.
async function offerFirst(role) {
  try {
    state.role = role;
    state.phase = 'offered';
    status('gathering network addresses…');
    state.peer = await newPeer();
    const { pc } = state.peer;
    await pc.setLocalDescription(await pc.createOffer());
    await gather(pc);
    const mine = localToken(pc, OFFER, role, role === 'sender' ? summarize(state.items) : null);
    state.myToken = mine.token;
    showMine(OFFER, mine.text, role === 'sender'
      ? 'Your peer runs: p2pcopy receive TOKEN (or opens the link). Then paste their answer below.'
      : 'Your peer runs: p2pcopy send FILE TOKEN (or opens the link and picks files). Then paste their answer below.');
    status("waiting for your peer's answer");
  } catch (e) { fail(e); }
}

// useToken handles a pasted token: an answer to our offer, or a peer's offer.
async function useToken(text) {
  if (finished) return;
  status('reading the token…');
  let tok;
  try {
    tok = decodeToken(text);
    if (state.phase === 'offered') {
      try {
        checkToken(tok, ANSWER, state.role, state.peer.fingerprint);
      } catch (e) {
        // §1.9: both sides offered.
        const opposite = tok.kind === OFFER && e.kind === 'wrong-kind' &&
          ((state.role === 'sender' && tok.role === 'receiver') || (state.role === 'receiver' && tok.role === 'sender'));
        if (!opposite) throw e;
        if (state.role === 'sender') {
          status('your peer also started (their token is an offer); they will answer yours: paste their answer');
          return;
        }
        state.peer.pc.close();
        state.peer = null;
        state.phase = 'idle';
        $('mine').hidden = true;
        return showOffer(tok);
      }
      await state.peer.pc.setRemoteDescription({ type: 'answer', sdp: tokenSDP(tok) });
      showVerification(tok);
      state.phase = 'connecting';
      return run(tok);
    }
    if (state.phase !== 'idle') return;
    const role = tok.role === 'receiver' ? 'sender' : 'receiver';
    checkToken(tok, OFFER, role, null);
    await showOffer(tok);
  } catch (e) { fail(e, e instanceof TokenError); }
}

// showOffer shows a peer's offer with an Accept button.
async function showOffer(tok) {
  const weSend = tok.role === 'receiver';
  state.incoming = { token: tok, role: weSend ? 'receiver' : 'sender' };
  // The note goes in before the offer shows: text arriving later would move the Accept button
  // under a finger (or a pointer) already on its way. Asking the browser is bounded.
  const note = weSend ? '' : await Promise.race([saveNote(tok.summary), new Promise((r) => setTimeout(() => r(''), 3000))]);
  $('offered').hidden = false;
  $('offered-title').textContent = weSend ? 'Your peer wants to receive' : 'Your peer offers';
  $('offered-what').textContent = weSend ? 'Files you choose here' : offeredText(tok.summary);
  $('send-for-peer').hidden = !weSend;
  $('receive').hidden = true;
  $('paste').hidden = true;
  if (!weSend) {
    $('send').hidden = true;
    $('save-note').textContent = note;
  }
  $('accept').disabled = weSend && !state.items;
  status(weSend ? 'choose files to send, then press Accept' : 'press Accept to receive');
  $('accept').focus();
}

let saver = null;
// saveNote says before Accept how the page will keep what arrives, and the limit of the
// in-memory way (private windows, plain http pages) in plain words.
async function saveNote(summary) {
  const total = summary ? Number(summary.total_bytes) : 0;
  const mode = params.get('save') || 'auto';
  if ((mode === 'auto' || mode === 'picker') && window.showSaveFilePicker) return 'You will choose where to save when you press Accept.';
  if (mode === 'sw' && !isSafari() && window.isSecureContext && navigator.serviceWorker) return 'The file is downloaded as it arrives.';
  if ((mode === 'auto' || mode === 'opfs' || mode === 'sw') && await canStore()) {
    return 'The file is kept in this browser as it arrives. If the copy breaks off, open the same link again: it continues where it stopped.';
  }
  const limit = isIOS() ? BLOB_LIMIT_IOS : BLOB_LIMIT;
  const over = total > limit ? ` ${formatBytes(total)} is more than that, so it would be refused: open the link in a normal window, or receive on a computer.` : '';
  return `This browser does not let the page keep files here (a private window, or a page not opened over https), so the file is held in memory until it is complete: up to about ${formatBytes(limit)}, and a copy that breaks off starts again from the beginning.${over}`;
}

async function accept() {
  const inc = state.incoming;
  if (!inc || state.phase !== 'idle') return;
  $('accept').disabled = true;
  state.phase = 'answered';
  state.role = inc.role === 'receiver' ? 'sender' : 'receiver';
  try {
    if (state.role === 'receiver') {
      // On the click: a save dialog may be shown only now.
      saver = await chooseSaver(inc.token.summary, params.get('save') || 'auto', (msg) => { $('save-note').textContent = msg; });
    }
    status('gathering network addresses…');
    state.peer = await newPeer();
    checkToken(inc.token, OFFER, state.role, state.peer.fingerprint);
    const { pc } = state.peer;
    await pc.setRemoteDescription({ type: 'offer', sdp: tokenSDP(inc.token) });
    await pc.setLocalDescription(await pc.createAnswer());
    await gather(pc);
    const mine = localToken(pc, ANSWER, state.role, state.role === 'sender' ? summarize(state.items) : null);
    state.myToken = mine.token;
    showVerification(inc.token);
    $('offered').hidden = true; // done: what is left is handing the answer back, then progress
    showMine(ANSWER, mine.text, 'Paste this answer where your peer is waiting for it.');
    status('waiting for your peer to connect');
    if (state.scan) handBack(mine.text);
    await run(inc.token);
  } catch (e) { fail(e); }
}

// handBack posts the answer to the p2pcopy that served the link (scan-and-go, §3).
async function handBack(answer) {
  const { secret, returnTo } = state.scan;
  const base = returnTo || location.origin;
  try {
    const res = await fetch(new URL('/answer', base), {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain' },
      body: JSON.stringify({ answer, mac: answerMAC(secret, answer) }),
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    $('mine-hint').textContent = 'The answer went back to your peer by itself; nothing to paste.';
    $('mine').hidden = true; // nothing left to do there
  } catch {
    $('mine-hint').textContent = 'Could not hand the answer back by itself (the computer that showed the link could not be reached): copy it and send it to your peer.';
  }
}

// keepAwake holds a Screen Wake Lock while a transfer runs (a phone that dims and sleeps
// drops the connection), where the browser has one; the browser drops the lock when the page is
// hidden, so it is taken again when the page is shown. release() ends it.
function keepAwake() {
  if (!navigator.wakeLock?.request) return { release() {} };
  let lock = null, on = true;
  const take = () => { if (on && document.visibilityState === 'visible' && !lock) navigator.wakeLock.request('screen').then((l) => { lock = l; l.addEventListener?.('release', () => { lock = null; }); if (!on) l.release(); }, () => {}); };
  document.addEventListener('visibilitychange', take);
  take();
  return {
    release() {
      on = false;
      document.removeEventListener('visibilitychange', take);
      lock?.release().catch(() => {});
      lock = null;
    },
  };
}

async function run(peerToken) {
  const awake = keepAwake();
  // SHA-256 in a worker, started while the connection is made; in place where none starts.
  const hashing = startHasher().catch(() => null);
  let hashes = inPlace;
  try {
    status('connecting…');
    $('transfer').hidden = false;
    const { dc, opened } = state.peer;
    await opened;
    state.phase = 'running';
    // Listening at once: the peer's first message may already be on its way.
    const conn = dataChannelConn(dc, FLOWCTL);
    hashes = (await hashing) ?? inPlace;
    if (state.role === 'sender') {
      status('sending…');
      const r = await send(conn, state.items, { app: APP, chunkSize: CHUNK, onEvent, hashes });
      done(`sent ${r.files} file(s), ${formatBytes(r.bytes)} in ${r.seconds.toFixed(1)} s (${formatBytes(Math.round(r.bytes / Math.max(r.seconds, 0.001)))}/s), sha256 verified by the receiver`, r);
    } else {
      status('receiving…');
      const r = await receive(conn, {
        app: APP,
        onEvent,
        hashes,
        confirm: (entries) => saver.prepare(entries),
        onText: (path, text) => { $('text').hidden = false; $('text').textContent += text; },
      });
      await saver.finish?.();
      done(`received ${r.files} file(s), ${formatBytes(r.bytes)} in ${r.seconds.toFixed(1)} s (${formatBytes(Math.round(r.bytes / Math.max(r.seconds, 0.001)))}/s), sha256 verified`, r);
    }
  } catch (e) {
    fail(e);
  } finally {
    awake.release();
    hashing.then((h) => h?.terminate());
    setTimeout(() => state.peer?.pc.close(), 3000);
  }
  void peerToken;
}

// ---------------------------------------------------------------------------------------------
// Wiring.

async function filesFromDrop(dt) {
  const out = [];
  const walk = async (entry, prefix) => {
    if (entry.isFile) {
      const f = await new Promise((res, rej) => entry.file(res, rej));
      f.relPath = prefix + f.name;
      out.push(f);
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      for (;;) {
        const batch = await new Promise((res, rej) => reader.readEntries(res, rej));
        if (!batch.length) break;
        for (const e of batch) await walk(e, prefix + entry.name + '/');
      }
    }
  };
  const entries = Array.from(dt.items ?? []).map((i) => i.webkitGetAsEntry?.()).filter(Boolean);
  if (!entries.length) return Array.from(dt.files ?? []);
  for (const e of entries) await walk(e, '');
  return out;
}

function copy(text, button) {
  const ok = () => { const t = button.textContent; button.textContent = 'Copied'; setTimeout(() => { button.textContent = t; }, 1500); };
  if (navigator.clipboard?.writeText) navigator.clipboard.writeText(text).then(ok, () => fallbackCopy(text, ok));
  else fallbackCopy(text, ok);
}
function fallbackCopy(text, ok) {
  const ta = document.createElement('textarea');
  ta.value = text;
  document.body.append(ta);
  ta.select();
  try { document.execCommand('copy'); ok(); } catch { /* the token stays selectable */ }
  ta.remove();
}

function start() {
  $('files-input').addEventListener('change', (e) => setItems(e.target.files));
  $('folder-input').addEventListener('change', (e) => setItems(e.target.files));
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', async (e) => { e.preventDefault(); drop.classList.remove('over'); setItems(await filesFromDrop(e.dataTransfer)); });
  drop.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); $('files-input').click(); } });
  $('token-go').addEventListener('click', () => useToken($('token-input').value));
  $('accept').addEventListener('click', accept);
  $('receive-first').addEventListener('click', async () => {
    if (state.phase !== 'idle') return;
    $('send').hidden = true;
    try {
      saver = await chooseSaver(null, params.get('save') || 'auto', (msg) => { $('save-note').textContent = msg; });
    } catch (e) { return fail(e); }
    offerFirst('receiver');
  });
  $('copy').addEventListener('click', () => copy(!$('offer-token').hidden ? $('offer-token').value : $('answer-token').value, $('copy')));
  $('copy-link').addEventListener('click', () => copy($('link').textContent, $('copy-link')));
  window.addEventListener('hashchange', () => location.reload());

  // A link: #TOKEN, or for scan-and-go #TOKEN&k=SECRET[&r=RETURN-ORIGIN] (§3).
  const frag = location.hash.slice(1);
  if (frag) {
    const parts = frag.split('&');
    const kv = new Map(parts.slice(1).map((p) => { const i = p.indexOf('='); return [p.slice(0, i), decodeURIComponent(p.slice(i + 1))]; }));
    if (kv.get('k')) state.scan = { secret: kv.get('k'), returnTo: kv.get('r') || '' };
    // Opened from a link (a scanned code): only the offer and what follows it are shown.
    document.body.classList.add('from-link');
    // Keep the secret out of the address bar (and of bookmarks and history) once read.
    if (state.scan) history.replaceState(null, '', location.pathname + location.search + '#' + parts[0]);
    $('token-input').value = decodeURIComponent(parts[0]);
    useToken(parts[0]);
  }
  document.documentElement.dataset.ready = 'yes'; // the controls answer from now on (tests wait for it)
}

start();
