// A small bridge from cmd/p2pcopy's Go tests to a real Firefox: it launches the system's
// firefox-esr over WebDriver BiDi with puppeteer-core and then answers one JSON command per line
// on stdin with one JSON reply per line on stdout, so the tests themselves stay in Go beside the
// chromium ones (firefox_test.go). Nothing here is part of the page.
//
//   node bidi.mjs   (environment: FIREFOX=/usr/bin/firefox-esr, DOWNLOADS=<dir>)
//   → {"id":1,"op":"goto","url":"http://127.0.0.1:1234/"}
//   ← {"id":1,"ok":true}
//
// Commands: goto {url}, eval {js} → value (a promise is awaited), click {selector},
// setValue {selector, value}, upload {selector, files}, viewport {width, height},
// screenshot {path}, close. The first line out is {"ready":true,"version":"…"} once Firefox runs.

import readline from 'node:readline';
import puppeteer from 'puppeteer-core';

const prefs = {
  // Firefox hides its host addresses behind mDNS names unless told not to; the CLI in the test's
  // namespace then has nothing to check against. A real LAN peer resolves the names; a test
  // namespace has no mDNS responder for Firefox to use.
  'media.peerconnection.ice.obfuscate_host_addresses': false,
  // Firefox gathers no loopback candidates by default; the test namespace is loopback plus a veth.
  'media.peerconnection.ice.loopback': true,
  // Downloads (the page's "download" of a received file) land in DOWNLOADS without a dialog.
  'browser.download.dir': process.env.DOWNLOADS,
  'browser.download.folderList': 2,
  'browser.download.useDownloadDir': true,
  'browser.download.always_ask_before_handling_new_types': false,
  'browser.download.alwaysOpenPanel': false,
  'browser.download.panel.shown': true,
};

function send(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

const browser = await puppeteer.launch({
  browser: 'firefox',
  protocol: 'webDriverBiDi',
  executablePath: process.env.FIREFOX || '/usr/bin/firefox-esr',
  headless: true,
  extraPrefsFirefox: prefs,
  // Start-up can take a minute on a loaded machine; the Go side watches the whole run.
  timeout: 180000,
  protocolTimeout: 180000,
});
const page = (await browser.pages())[0] ?? (await browser.newPage());

const ops = {
  async goto({ url }) {
    await page.goto(url, { waitUntil: 'load', timeout: 120000 });
  },
  async eval({ js }) {
    return page.evaluate(js);
  },
  async click({ selector }) {
    await page.click(selector);
  },
  async setValue({ selector, value }) {
    await page.$eval(selector, (e, v) => { e.value = v; }, value);
  },
  async upload({ selector, files }) {
    const input = await page.$(selector);
    if (!input) throw new Error(`no ${selector} on the page`);
    await input.uploadFile(...files);
  },
  async viewport({ width, height }) {
    await page.setViewport({ width, height });
  },
  async screenshot({ path }) {
    await page.screenshot({ path, fullPage: true });
  },
  async close() {
    await browser.close();
    process.exit(0);
  },
};

send({ ready: true, version: await browser.version() });

const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  let cmd;
  try {
    cmd = JSON.parse(line);
    const op = ops[cmd.op];
    if (!op) throw new Error(`unknown command ${cmd.op}`);
    const value = await op(cmd);
    send({ id: cmd.id, ok: true, value: value === undefined ? null : value });
  } catch (e) {
    send({ id: cmd?.id, ok: false, error: String(e?.message ?? e) });
  }
}
// stdin closed: the test is over.
await browser.close();
