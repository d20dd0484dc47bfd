// Benchmark, not a test: what a visitor's browser pays for the widget before any interaction, measured
// as a browser measures it. Run with `cargo xtask bench widget` (which builds first), or
// `BECKON_BIN=target/debug/beckon node tests/bench/widget.mjs`.
//
// For Beckon (the real server, its demo shop as the host page) and for Rocket.Chat's livechat (its npm
// build served from loopback by a Node server that compresses with brotli q11 and caches hashed files for
// a year, as a CDN would), in headless Chromium with the CPU throttled 4x, it prints:
// - bytes on the wire from the widget's origin (CDP `encodedDataLength`: headers and compressed bodies)
//   and the number of requests, until the network has been idle for 500 ms;
// - main-thread time the widget adds: the page's task and script time (CDP `Performance.getMetrics`),
//   from a trace of the renderers' main threads (every `RunTask`) and CDP `Performance.getMetrics`, minus
//   the same page with every request to the widget's origin refused; the page's longest task (which
//   is the widget's when it grows past the bare page's); and, attributed directly, every task in which
//   something names the widget's frames or origin (its scripts, parsing, layout), counted whole, so an
//   upper bound: their total and the longest;
// - the same on a repeat view (another page of the same browser, its cache warm).
// Each figure is the median of RUNS runs.
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, normalize, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants } from 'node:zlib';
import { launchBrowser } from '../lib/browser.mjs';
import { demoConfig, startBeckon, stopBeckon } from '../lib/beckon.mjs';

const RUNS = Number(process.env.BENCH_RUNS || 7);
const THROTTLE = 4;
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DEMO_ROOT = join(ROOT, 'www/demo');
const LIVECHAT = join(ROOT, 'tests/node_modules/@rocket.chat/livechat/build');
const BECKON_BIN = process.env.BECKON_BIN || join(process.env.CARGO_TARGET_DIR || join(ROOT, 'target'), 'debug/beckon');

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
};

/** A page load in `context`, returning what came from `widgetOrigin` and the main thread's totals. */
async function load(context, url, widgetOrigin, { block = false, replace = null } = {}) {
  const page = await context.newPage();
  if (block) await page.route(`${widgetOrigin}/**`, (route) => route.abort());
  if (replace) await page.route(`${widgetOrigin}/**`, replace);
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Performance.enable');
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: THROTTLE });
  const urls = new Map();
  const cached = new Set();
  const widget = { bytes: 0, requests: 0, files: [] };
  cdp.on('Network.requestWillBeSent', ({ requestId, request }) => urls.set(requestId, request.url));
  cdp.on('Network.requestServedFromCache', ({ requestId }) => cached.add(requestId));
  cdp.on('Network.responseReceived', ({ requestId, response }) => {
    if (response.fromDiskCache || response.fromPrefetchCache) cached.add(requestId);
  });
  cdp.on('Network.loadingFinished', ({ requestId, encodedDataLength }) => {
    const requested = urls.get(requestId) || '';
    if (!requested.startsWith(widgetOrigin)) return;
    widget.bytes += encodedDataLength;
    // A file the cache answered costs no request on the network.
    if (!cached.has(requestId)) widget.requests += 1;
    const from = cached.has(requestId) ? ' (cache)' : '';
    widget.files.push(`${new URL(requested).pathname} ${encodedDataLength}${from}`);
  });
  await page.context().browser().startTracing(page, { categories: TRACE_CATEGORIES });
  await page.goto(url, { waitUntil: 'networkidle' });
  const { metrics } = await cdp.send('Performance.getMetrics');
  const trace = JSON.parse((await page.context().browser().stopTracing()).toString());
  const metric = (name) => (metrics.find((m) => m.name === name)?.value ?? 0) * 1000;
  await page.close();
  return { ...widget, ...mainThreadTasks(trace, [new URL(url).origin, widgetOrigin], widgetOrigin), scriptMs: metric('ScriptDuration') };
}

const TRACE_CATEGORIES = ['toplevel', 'devtools.timeline', 'disabled-by-default-devtools.timeline'];

/**
 * Every task the main threads of this page's renderers ran (the page's, and an out-of-process frame's if
 * any): the total and the longest. Renderers of pages closed earlier may still be winding down in the
 * same trace, so only processes that committed one of this load's frames count.
 */
function mainThreadTasks(trace, urls, widgetOrigin) {
  const events = trace.traceEvents || trace;
  const ours = (url) => urls.some((prefix) => (url || '').startsWith(prefix));
  const pids = new Set();
  for (const e of events) {
    const data = e.args?.data;
    if (e.name === 'TracingStartedInBrowser') {
      for (const frame of data?.frames || []) if (ours(frame.url)) pids.add(frame.processId);
    } else if (e.name === 'FrameCommittedInBrowser' && ours(data?.url)) {
      pids.add(data.processId);
    }
  }
  const mainThreads = new Set(
    events
      .filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain' && pids.has(e.pid))
      .map((e) => `${e.pid}:${e.tid}`),
  );
  // A task is the widget's when something in it names one of the widget's frames or its origin: its
  // scripts, its parsing, its layout.
  const widgetFrames = new Set();
  for (const e of events) {
    const data = e.args?.data;
    if (e.name === 'FrameCommittedInBrowser' && (data?.url || '').startsWith(widgetOrigin)) widgetFrames.add(data.frame);
  }
  const names = (e) => {
    const data = e.args?.data || e.args?.beginData || {};
    return widgetFrames.has(data.frame) || (data.url || '').startsWith(widgetOrigin) || (data.stackTrace || []).some((f) => (f.url || '').startsWith(widgetOrigin));
  };
  const byThread = new Map();
  for (const e of events) {
    const thread = `${e.pid}:${e.tid}`;
    if (!mainThreads.has(thread) || (e.ph !== 'X' && e.ph !== 'I' && e.ph !== 'i')) continue;
    if (!byThread.has(thread)) byThread.set(thread, []);
    byThread.get(thread).push(e);
  }
  let total = 0;
  let longest = 0;
  let widgetTotal = 0;
  let widgetLongest = 0;
  for (const list of byThread.values()) {
    list.sort((a, b) => a.ts - b.ts);
    list.forEach((task, index) => {
      if (task.name !== 'RunTask' || task.ph !== 'X') return;
      const ms = task.dur / 1000;
      total += ms;
      longest = Math.max(longest, ms);
      for (let next = index + 1; next < list.length && list[next].ts <= task.ts + task.dur; next += 1) {
        if (names(list[next])) {
          widgetTotal += ms;
          widgetLongest = Math.max(widgetLongest, ms);
          break;
        }
      }
    });
  }
  if (mainThreads.size === 0) throw new Error(`no renderer of ${urls.join(', ')} in the trace`);
  return { taskMs: total, longestMs: longest, widgetTaskMs: widgetTotal, widgetLongestMs: widgetLongest };
}

/** RUNS first views and repeat views of `url`, and the same page with the widget's origin refused. */
async function measure(browser, name, url, widgetOrigin, replace = null) {
  const first = [];
  const repeat = [];
  const bare = [];
  const bareRepeat = [];
  for (let run = 0; run < RUNS; run += 1) {
    const context = await browser.newContext();
    first.push(await load(context, url, widgetOrigin, { replace }));
    repeat.push(await load(context, url, widgetOrigin, { replace }));
    await context.close();
    const blocked = await browser.newContext();
    bare.push(await load(blocked, url, widgetOrigin, { block: true }));
    bareRepeat.push(await load(blocked, url, widgetOrigin, { block: true }));
    await blocked.close();
  }
  // The widget's share: the page with it, minus the same view of the page without it.
  const summary = (runs, base) => ({
    bytes: median(runs.map((r) => r.bytes)),
    requests: median(runs.map((r) => r.requests)),
    taskMs: Math.max(0, median(runs.map((r) => r.taskMs)) - median(base.map((r) => r.taskMs))),
    scriptMs: Math.max(0, median(runs.map((r) => r.scriptMs)) - median(base.map((r) => r.scriptMs))),
    longestMs: median(runs.map((r) => r.longestMs)),
    widgetTaskMs: median(runs.map((r) => r.widgetTaskMs)),
    widgetLongestMs: median(runs.map((r) => r.widgetLongestMs)),
  });
  const bareFigures = (runs) => `tasks ${median(runs.map((r) => r.taskMs)).toFixed(0)} ms, longest ${median(runs.map((r) => r.longestMs)).toFixed(0)} ms`;
  console.log(`${name}: the page without the widget: first view ${bareFigures(bare)}, repeat view ${bareFigures(bareRepeat)}`);
  const result = { name, first: summary(first, bare), repeat: summary(repeat, bareRepeat), files: first[0].files, repeatFiles: repeat[0].files };
  if (result.first.requests === 0) throw new Error(`${name}: no request reached ${widgetOrigin}; is the page wired to it?`);
  return result;
}

function print(result) {
  const row = (view, s) =>
    `${result.name.padEnd(27)} ${view.padEnd(7)} ${String(s.bytes).padStart(8)} B ${String(s.requests).padStart(4)} req ` +
    `${s.taskMs.toFixed(0).padStart(5)} ms tasks ${s.scriptMs.toFixed(0).padStart(4)} ms script | tasks naming it (upper bound) ${s.widgetTaskMs.toFixed(0).padStart(4)} ms, longest ${s.widgetLongestMs.toFixed(0).padStart(3)} ms | page's longest task ${s.longestMs.toFixed(0)} ms`;
  console.log(row('first', result.first));
  console.log(row('repeat', result.repeat));
}

// --- Rocket.Chat's livechat, served as a CDN would serve it -------------------------------------------

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.png': 'image/png', '.svg': 'image/svg+xml' };
const compressed = new Map();

function serveFile(response, request, file, cacheControl) {
  const type = TYPES[extname(file)] || 'application/octet-stream';
  let body = readFileSync(file);
  const headers = { 'content-type': type, 'cache-control': cacheControl, vary: 'accept-encoding' };
  if (/\bbr\b/.test(request.headers['accept-encoding'] || '') && !type.startsWith('image/')) {
    if (!compressed.has(file)) compressed.set(file, brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
    body = compressed.get(file);
    headers['content-encoding'] = 'br';
  }
  response.writeHead(200, headers);
  response.end(body);
}

function listen(handler) {
  return new Promise((resolve) => {
    const server = createServer(handler);
    server.listen(0, '127.0.0.1', () => resolve({ server, origin: `http://127.0.0.1:${server.address().port}` }));
  });
}

async function startRocketChat() {
  const livechat = await listen((request, response) => {
    const path = new URL(request.url, 'http://x').pathname;
    const immutable = 'public, max-age=31536000, immutable';
    if (path === '/rocketchat-livechat.min.js') return serveFile(response, request, join(LIVECHAT, path), 'public, max-age=300');
    if (path === '/livechat' || path === '/livechat/') return serveFile(response, request, join(LIVECHAT, 'index.html'), 'no-cache');
    const file = normalize(join(LIVECHAT, path.replace(/^\/livechat\//, '')));
    if (path.startsWith('/livechat/') && file.startsWith(LIVECHAT) && existsSync(file) && !file.endsWith('.map')) {
      return serveFile(response, request, file, immutable);
    }
    // Its API (configuration, sockets) is a Rocket.Chat server's; there is none here.
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end('{"success":false}');
  });
  const snippet = `<script>(function(w, d, s, u) {
  w.RocketChat = function(c) { w.RocketChat._.push(c) }; w.RocketChat._ = []; w.RocketChat.url = u;
  var h = d.getElementsByTagName(s)[0], j = d.createElement(s);
  j.async = true; j.src = '${livechat.origin}/rocketchat-livechat.min.js';
  h.parentNode.insertBefore(j, h);
})(window, document, 'script', '${livechat.origin}/livechat');</script>`;
  const host = await listen((request, response) => {
    const path = new URL(request.url, 'http://x').pathname.replace(/^\/$/, '/index.html');
    const file = normalize(join(DEMO_ROOT, path));
    if (!file.startsWith(DEMO_ROOT) || !existsSync(file)) {
      response.writeHead(404);
      return response.end();
    }
    if (file.endsWith('.html')) {
      const html = readFileSync(file, 'utf8').replace(/<script src="\{\{BECKON_URL\}\}\/beckon\.js"[^>]*><\/script>/, snippet);
      response.writeHead(200, { 'content-type': TYPES['.html'] });
      return response.end(html);
    }
    return serveFile(response, request, file, 'no-cache');
  });
  return { livechat, host, stop: () => Promise.all([livechat, host].map(({ server }) => new Promise((done) => server.close(done)))) };
}

// --- Beckon ----------------------------------------------------------------------------------------------

const RULE = `[[rule]]
id = "pricing-help"
queue = "sales"
invitation = "Questions about our plans? Chat with us."
[rule.when]
all = [{ path = "/pricing*" }, { time_on_page = "10s" }]
`;

/** The demo with `extra` configuration: e.g. the chat button, which then also shows before any interaction. */
async function startBeckonDemo(extra = '') {
  const dir = mkdtempSync(join(tmpdir(), 'beckon-bench-widget-'));
  mkdirSync(join(dir, 'rules'));
  writeFileSync(join(dir, 'rules', 'pricing.toml'), RULE);
  // Every queue needs a member; nobody logs in.
  const hash = execFileSync(BECKON_BIN, ['hash-password'], { input: 'bench-password\n' }).toString().trim();
  const agent = `
[[agents]]
username = "demo"
display_name = "Demo"
password_hash = "${hash}"
queues = ["sales", "support"]
capacity = 1
`;
  writeFileSync(join(dir, 'beckon.toml'), demoConfig(agent + extra));
  return startBeckon(BECKON_BIN, join(dir, 'beckon.toml'), dir, 30_000);
}

const browser = await launchBrowser();
const beckon = await startBeckonDemo();
// Shown whatever the availability, so the button is on screen in every run.
const withButton = await startBeckonDemo('\n[sites.launcher]\nqueue = "support"\nshow = "always"\n');
const rocket = await startRocketChat();
try {
  const ours = await measure(browser, 'Beckon', `${beckon.origins.demo}/pricing.html`, beckon.origins.beckon);
  const button = await measure(browser, 'Beckon with the chat button', `${withButton.origins.demo}/pricing.html`, withButton.origins.beckon);
  const theirs = await measure(browser, 'Rocket.Chat livechat', `${rocket.host.origin}/pricing.html`, rocket.livechat.origin);
  // The floor of the design: a loader that only adds an empty iframe from Beckon's origin after `load`.
  const floor = await measure(browser, 'empty iframe (floor)', `${beckon.origins.demo}/pricing.html`, beckon.origins.beckon, (route) => {
    const path = new URL(route.request().url()).pathname;
    if (path === '/beckon.js') {
      const script = `addEventListener('load', () => { const f = document.createElement('iframe'); f.title = 'empty'; f.style.cssText = 'position:fixed;width:0;height:0;border:0'; f.src = '${beckon.origins.beckon}/empty'; document.body.appendChild(f); });`;
      return route.fulfill({ contentType: 'text/javascript', body: script });
    }
    return route.fulfill({ contentType: 'text/html', body: '<!doctype html><html lang="en"><title>empty</title></html>' });
  });
  console.log(`widget before interaction, median of ${RUNS} runs, CPU throttled ${THROTTLE}x (main-thread figures are the widget's share)`);
  print(ours);
  print(button);
  print(theirs);
  print(floor);
  console.log(`Beckon / Rocket.Chat: ${(ours.first.bytes / theirs.first.bytes).toFixed(2)}x the bytes, ${(ours.first.requests / theirs.first.requests).toFixed(2)}x the requests, ${(ours.first.taskMs / Math.max(1, theirs.first.taskMs)).toFixed(2)}x the main-thread time on a first view`);
  console.log(`the chat button adds ${button.first.bytes - ours.first.bytes} bytes on the wire before interaction (${button.first.requests - ours.first.requests} requests)`);
  console.log('Beckon first view, bytes per request:');
  for (const file of ours.files) console.log(`  ${file}`);
  console.log('Beckon repeat view:');
  for (const file of ours.repeatFiles) console.log(`  ${file}`);
} finally {
  await browser.close();
  await stopBeckon(beckon.server);
  await stopBeckon(withButton.server);
  await rocket.stop();
}
