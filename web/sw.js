// Service worker of the p2pcopy page: streams a received file into a browser download without
// holding it in memory. The page hands it a MessagePort per file and then opens
// <scope>p2pcopy-download/<id>/<name> in a hidden frame; this worker answers that request with a
// stream fed from the port. Backpressure: each "pull" sent to the page allows one more chunk.

const pending = new Map(); // id -> {stream, name, size}

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));

self.addEventListener('message', (e) => {
  const { id, name, size } = e.data || {};
  const port = e.ports[0];
  if (!id || !port) return;
  const stream = new ReadableStream({
    start(controller) {
      port.onmessage = ({ data }) => {
        if (data === 'end') {
          controller.close();
          port.close();
        } else if (data === 'abort') {
          controller.error(new Error('the transfer failed'));
          port.close();
        } else {
          controller.enqueue(new Uint8Array(data));
        }
      };
    },
    pull() { port.postMessage('pull'); },
    cancel() { port.postMessage('cancel'); },
  }, { highWaterMark: 16 });
  pending.set(id, { stream, name, size });
  port.postMessage('ready');
});

self.addEventListener('fetch', (e) => {
  const prefix = self.registration.scope + 'p2pcopy-download/';
  if (!e.request.url.startsWith(prefix)) return;
  const id = e.request.url.slice(prefix.length).split('/')[0];
  const p = pending.get(id);
  if (!p) {
    e.respondWith(new Response('this download is over', { status: 404 }));
    return;
  }
  pending.delete(id);
  const headers = {
    'Content-Type': 'application/octet-stream',
    'Content-Disposition': "attachment; filename*=UTF-8''" + encodeURIComponent(p.name),
    'X-Content-Type-Options': 'nosniff',
  };
  if (p.size >= 0) headers['Content-Length'] = String(p.size);
  e.respondWith(new Response(p.stream, { headers }));
});
