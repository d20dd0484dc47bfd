// Benchmark, not a test: what an agent's browser pays for the console, measured as a browser measures
// it. Run with `cargo xtask bench console` (which builds first), or
// `BECKON_BIN=target/debug/beckon node tests/bench/console.mjs`.
//
// Against the real server with the demo configuration and one agent, in headless Chromium with the CPU
// throttled 4x and a cold cache, it prints the median of RUNS runs of:
// - bytes on the wire for `/console` until the network has been idle for 500 ms (CDP
//   `encodedDataLength`: headers and compressed bodies) and the number of requests;
// - time to an interactive login form: from navigation start until the username field is in the page
//   and the module that handles it has run (the field is only rendered by it);
// - login to Home: from the click on "Log in" until Home's heading and the presence menu are shown
//   (a REST login, the socket's welcome, the work-item streams);
// - a repeat view (a second page of the same browser, logged in, its cache warm): bytes, requests, and
//   Home shown, from navigation start.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser } from '../lib/browser.mjs';
import { demoConfig, startBeckon, stopBeckon } from '../lib/beckon.mjs';

const RUNS = Number(process.env.BENCH_RUNS || 7);
const THROTTLE = 4;
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BECKON_BIN = process.env.BECKON_BIN || join(process.env.CARGO_TARGET_DIR || join(ROOT, 'target'), 'debug/beckon');
const AGENT = { username: 'bench', password: 'bench s3cret pass' };
// Home's heading; `section.home h2` is the console before Home had a view of its own, so the same
// benchmark measures an older build.
const HOME = '.home-view h2, section.home h2';

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
};

/** Loads the console in `page`, counting what came over the network. */
async function load(page, origin, { login = null } = {}) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: THROTTLE });
  const cached = new Set();
  const wire = { bytes: 0, requests: 0 };
  cdp.on('Network.requestServedFromCache', ({ requestId }) => cached.add(requestId));
  cdp.on('Network.responseReceived', ({ requestId, response }) => {
    if (response.fromDiskCache || response.fromPrefetchCache) cached.add(requestId);
  });
  cdp.on('Network.loadingFinished', ({ requestId, encodedDataLength }) => {
    wire.bytes += encodedDataLength;
    if (!cached.has(requestId)) wire.requests += 1;
  });
  // When each mark first appears in the document, from navigation start, seen by a mutation observer
  // (it runs before the frame is painted).
  await page.addInitScript((marks) => {
    window.seen = {};
    new MutationObserver(() => {
      for (const [name, selector] of Object.entries(marks)) {
        if (!window.seen[name] && document.querySelector(selector)) window.seen[name] = performance.now();
      }
    }).observe(document, { subtree: true, childList: true });
  }, { form: '[data-console=username]', home: HOME });
  await page.goto(`${origin}/console`, { waitUntil: 'networkidle' });
  const loaded = { ...wire };
  const seen = async (name) => {
    try {
      return await (await page.waitForFunction((name) => window.seen[name], name)).jsonValue();
    } catch (error) {
      throw new Error(`${name} never appeared in ${page.url()}: ${await page.evaluate(() => JSON.stringify(window.seen) + document.body.innerText.slice(0, 300))}`, { cause: error });
    }
  };
  if (!login) {
    const homeMs = await seen('home');
    await cdp.detach();
    return { ...loaded, homeMs };
  }
  const formMs = await seen('form');
  await page.locator('[data-console=username]').fill(login);
  await page.locator('[data-console=password]').fill(AGENT.password);
  await page.evaluate(() => {
    document.querySelector('[data-console=login]').addEventListener('click', () => (window.clickedAt = performance.now()), { capture: true });
  });
  await page.locator('[data-console=login]').click();
  const homeMs = (await seen('home')) - (await page.evaluate(() => window.clickedAt));
  await cdp.detach();
  return { ...loaded, formMs, homeMs };
}

const workDir = mkdtempSync(join(tmpdir(), 'beckon-bench-console-'));
const configPath = join(workDir, 'beckon.toml');
writeFileSync(configPath, demoConfig(''));
mkdirSync(join(workDir, 'rules'));
// One agent per run: logging in once each stays clear of the login rate limit.
for (let run = 0; run < RUNS; run++) {
  execFileSync(BECKON_BIN, ['agent', 'add', '--config', configPath, '--username', `${AGENT.username}${run}`, '--display-name', 'Bench Agent', '--queues', 'sales,support', '--capacity', '3'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    cwd: workDir,
    env: { ...process.env, BECKON_PASSWORD: AGENT.password },
  });
}
const { server, origins } = await startBeckon(BECKON_BIN, configPath, workDir, 60_000);
const browser = await launchBrowser();
const first = [];
const repeat = [];
try {
  for (let run = 0; run < RUNS; run++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    first.push(await load(page, origins.beckon, { login: `${AGENT.username}${run}` }));
    // The same browser again, logged in, its cache warm.
    const again = await context.newPage();
    repeat.push(await load(again, origins.beckon));
    await context.close();
  }
} finally {
  await browser.close();
  await stopBeckon(server);
  rmSync(workDir, { recursive: true, force: true });
}
const pick = (runs, key) => median(runs.map((run) => run[key]));
console.log(`console, median of ${RUNS} runs, CPU ${THROTTLE}x slower, 1280x800`);
console.log(`  first view:  ${pick(first, 'bytes')} B on the wire in ${pick(first, 'requests')} requests`);
console.log(`  login form interactive: ${Math.round(pick(first, 'formMs'))} ms after navigation start`);
console.log(`  login to Home: ${Math.round(pick(first, 'homeMs'))} ms`);
console.log(`  repeat view: ${pick(repeat, 'bytes')} B on the wire in ${pick(repeat, 'requests')} requests, Home at ${Math.round(pick(repeat, 'homeMs'))} ms`);
