// The trigger rules in the browser: the WebAssembly build agrees with the native build on the example
// corpus, and the widget counts visible time, expires invitations, keeps frequency limits across page
// loads and reacts to exit intent, under Playwright's fake clock.
//
// Run: BECKON_BIN=target/debug/beckon node --test tests/rules.test.mjs (after `cargo xtask build`).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser, watchContext, describeProblems } from './lib/browser.mjs';
import { demoConfig, runBeckon, startBeckon, stopBeckon } from './lib/beckon.mjs';

const BECKON_BIN = process.env.BECKON_BIN;
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const EXAMPLES = join(ROOT, 'rules/examples');
const PROBE = join(ROOT, 'tests/.probe');
const WAIT_MS = 15_000;
const STARTUP_MS = 60_000;
const AGENT = { username: 'rita', password: 'rules-test' };

const RULES = `# Written by tests/rules.test.mjs.
[[rule]]
id = "product-dwell"
queue = "sales"
invitation = "Questions about the lamp?"
when = { all = [{ path = "/product*" }, { time_on_page = "10s" }] }

[[rule]]
id = "checkout-exit"
queue = "support"
invitation = "Leaving already?"
when = { all = [{ path = "/checkout*" }, { exit_intent = true }] }
`;

let workDir;
let server;
let beckon;
let demo;
let browser;

const beckonCommand = async (args, env = {}) => (await runBeckon(BECKON_BIN, args, { cwd: ROOT, env, timeoutMs: STARTUP_MS })).stdout;

before(async () => {
  assert.ok(BECKON_BIN, 'BECKON_BIN is not set: run `cargo xtask build` and BECKON_BIN=target/debug/beckon');
  workDir = mkdtempSync(join(tmpdir(), 'beckon-rules-'));
  const configPath = join(workDir, 'beckon.toml');
  writeFileSync(configPath, demoConfig());
  mkdirSync(join(workDir, 'rules'));
  writeFileSync(join(workDir, 'rules', 'widget.toml'), RULES);
  await beckonCommand(
    ['agent', 'add', '--config', configPath, '--username', AGENT.username, '--display-name', 'Rita', '--queues', 'sales,support', '--capacity', '1'],
    { BECKON_PASSWORD: AGENT.password },
  );
  let origins;
  ({ server, origins } = await startBeckon(BECKON_BIN, configPath, workDir, STARTUP_MS));
  ({ beckon, demo } = origins);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stopBeckon(server);
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------------
// The WebAssembly build and the native build give the same replay, report line for line.

async function probePage() {
  const context = await browser.newContext();
  const page = await context.newPage();
  // The probe is served from a made-up origin through request interception: no server needed.
  await page.route('http://probe.test/**', (route) => {
    const name = new URL(route.request().url()).pathname.slice(1);
    const types = { 'probe.js': 'text/javascript', 'probe_bg.wasm': 'application/wasm', '': 'text/html' };
    const body = name === '' ? '<!doctype html><title>probe</title>' : readFileSync(join(PROBE, name));
    return route.fulfill({ status: 200, contentType: types[name], body });
  });
  await page.goto('http://probe.test/');
  await page.evaluate(async () => {
    const probe = await import('/probe.js');
    await probe.default({ module_or_path: '/probe_bg.wasm' });
    window.probe = probe;
  });
  return { context, page };
}

test('the WebAssembly build replays every example visit exactly as the native build does', async () => {
  const files = readdirSync(EXAMPLES)
    .filter((name) => name.endsWith('.toml'))
    .sort()
    .map((name) => [join(EXAMPLES, name), readFileSync(join(EXAMPLES, name), 'utf8')]);
  const visits = readdirSync(join(EXAMPLES, 'visits')).filter((name) => name.endsWith('.toml')).sort();
  assert.ok(visits.length >= 4, `only ${visits.length} visit files`);
  const { context, page } = await probePage();
  const shownSomething = new Set();
  for (const visit of visits) {
    const path = join(EXAMPLES, 'visits', visit);
    const native = JSON.parse(
      await beckonCommand(['rules', 'simulate', EXAMPLES, path, '--config', 'server/config/demo.toml', '--format', 'json']),
    );
    const input = JSON.stringify({ files, visit_name: path, visit: readFileSync(path, 'utf8'), zones: native.zones });
    const wasm = JSON.parse(await page.evaluate((input) => window.probe.replay_json(input), input));
    assert.equal(wasm.shown, native.shown, `${visit}: invitations differ`);
    assert.equal(wasm.report, native.report, `${visit}: reports differ`);
    assert.ok(native.report.split('\n').length > 5, `${visit}: a real report`);
    if (native.shown !== '-') shownSomething.add(visit);
  }
  assert.ok(shownSomething.size >= 3, `most visits should invite someone: ${[...shownSomething]}`);
  await context.close();
});

// ---------------------------------------------------------------------------------------------------
// The widget under a fake clock.

function recordWidgetMessages() {
  if (window !== window.top) return;
  window.__beckonFromWidget = [];
  window.addEventListener('message', (event) => {
    if (event.data && event.data.beckon === 1) window.__beckonFromWidget.push(event.data.type);
  });
  // The test decides whether the page is visible.
  let state = 'visible';
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => state });
  window.__setVisible = (visible) => {
    state = visible ? 'visible' : 'hidden';
    document.dispatchEvent(new Event('visibilitychange'));
  };
}

async function openVisitor(path, options = {}) {
  const context = options.context ?? (await browser.newContext({ locale: 'en-US', ...options.contextOptions }));
  const problems = options.problems ?? (await watchContext(context));
  if (!options.context) {
    await context.addInitScript(recordWidgetMessages);
    const start = Date.now();
    await context.clock.install({ time: start });
    await context.clock.pauseAt(start + 1_000);
  }
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  await page.goto(`${demo}${path}`);
  await page.waitForFunction(() => window.__beckonFromWidget.includes('ready'), null, { timeout: STARTUP_MS });
  // The configuration arrives over the network; wait for it before moving page time.
  await page.waitForFunction(() => document.querySelector('iframe[title="Beckon chat"]') !== null);
  return { context, page, problems, widget: page.frameLocator('iframe[title="Beckon chat"]') };
}

async function configLoaded(visitor) {
  // The widget marks its body once the site's rules are in (a DOM hook of docs/contracts.md).
  await visitor.widget.locator('body[data-beckon-rules=loaded]').waitFor({ state: 'attached' });
}

async function advance(visitor, ms) {
  await visitor.page.clock.runFor(ms);
}

function invitation(visitor) {
  return visitor.widget.locator('[data-beckon=invitation]');
}

async function cleanClose(visitor) {
  assert.deepEqual(visitor.problems.violations, [], describeProblems(visitor.problems));
  assert.deepEqual(visitor.problems.pageErrors, [], describeProblems(visitor.problems));
  await visitor.context.close();
}

test('only visible time counts towards time on page', async () => {
  const visitor = await openVisitor('/product.html');
  await configLoaded(visitor);
  await advance(visitor, 3_000);
  await visitor.page.evaluate(() => window.__setVisible(false));
  await advance(visitor, 60_000); // a long time in another tab
  assert.equal(await invitation(visitor).isVisible(), false, 'invited while the page was hidden');
  await visitor.page.evaluate(() => window.__setVisible(true));
  await advance(visitor, 6_500); // 9.5 s visible in all
  assert.equal(await invitation(visitor).isVisible(), false, 'invited before 10 visible seconds');
  await advance(visitor, 1_000); // 10.5 s visible
  await invitation(visitor).waitFor({ state: 'visible' });
  assert.equal((await visitor.widget.locator('[data-beckon=invitation-message]').textContent()).trim(), 'Questions about the lamp?');
  await cleanClose(visitor);
});

test("time on page counts from when the loader ran, though the iframe waits for the page's load", async () => {
  const context = await browser.newContext({ locale: 'en-US' });
  const problems = await watchContext(context);
  await context.addInitScript(recordWidgetMessages);
  const start = Date.now();
  await context.clock.install({ time: start });
  await context.clock.pauseAt(start + 1_000);
  // The page's deferred script is held back, so its `load` waits (DOMContentLoaded and `load` wait for
  // deferred scripts; the async loader does not).
  let release;
  const released = new Promise((resolve) => (release = resolve));
  let requested;
  const scriptRequested = new Promise((resolve) => (requested = resolve));
  await context.route(`${demo}/demo.js`, async (route) => {
    requested();
    await released;
    await route.continue();
  });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  await page.goto(`${demo}/product.html`, { waitUntil: 'commit' });
  await page.waitForFunction(() => window.Beckon && window.Beckon.loaded === true);
  await scriptRequested;
  // Six seconds of page time pass while the page is still loading: no iframe yet.
  await page.clock.runFor(6_000);
  assert.equal(await page.locator('iframe[title="Beckon chat"]').count(), 0);
  release();
  await page.waitForFunction(() => window.__beckonFromWidget.includes('ready'), null, { timeout: STARTUP_MS });
  const visitor = { context, page, problems, widget: page.frameLocator('iframe[title="Beckon chat"]') };
  await configLoaded(visitor);
  // 9.5 s since the loader ran, 3.5 s since the widget started: the 10 s rule is not due yet.
  await advance(visitor, 3_500);
  assert.equal(await invitation(visitor).isVisible(), false, 'invited before 10 s on the page');
  // 10.5 s since the loader ran: due, though the widget itself has run for only 4.5 s.
  await advance(visitor, 1_000);
  await invitation(visitor).waitFor({ state: 'visible' });
  await cleanClose(visitor);
});

test('an expired invitation is reported, and once per visit holds across page loads', async () => {
  const visitor = await openVisitor('/product.html');
  await configLoaded(visitor);
  const shown = visitor.page.waitForResponse((r) => r.url().endsWith('/invitation-events') && r.request().postData().includes('"shown"'));
  await advance(visitor, 10_500);
  await invitation(visitor).waitFor({ state: 'visible' });
  assert.equal((await shown).status(), 204);
  const expired = visitor.page.waitForResponse((r) => r.url().endsWith('/invitation-events') && r.request().postData().includes('"expired"'));
  await advance(visitor, 59_000);
  assert.equal(await invitation(visitor).isVisible(), true, 'closed before one minute');
  await advance(visitor, 1_000);
  await invitation(visitor).waitFor({ state: 'hidden' });
  const response = await expired;
  assert.equal(response.status(), 204);
  assert.match(response.request().postData(), /"rule_id":"product-dwell"/);

  // The next page of the same visit: the rule already invited once, so it stays quiet.
  await visitor.page.close();
  const next = await openVisitor('/product.html', { context: visitor.context, problems: visitor.problems });
  await configLoaded(next);
  await advance(next, 30_000);
  assert.equal(await invitation(next).isVisible(), false, 'invited twice in one visit');

  // Another visitor (fresh storage) is invited as usual: the limit is per visitor, not global.
  const other = await openVisitor('/product.html');
  await configLoaded(other);
  await advance(other, 10_500);
  await invitation(other).waitFor({ state: 'visible' });
  await cleanClose(other);
  await cleanClose(next);
});

test('closing an invitation is reported and counted per rule on the status endpoint', async () => {
  const visitor = await openVisitor('/product.html');
  await configLoaded(visitor);
  await advance(visitor, 10_500);
  await invitation(visitor).waitFor({ state: 'visible' });
  const closed = visitor.page.waitForResponse((r) => r.url().endsWith('/invitation-events') && r.request().postData().includes('"closed"'));
  await visitor.widget.locator('[data-beckon=close]').click();
  await invitation(visitor).waitFor({ state: 'hidden' });
  assert.equal((await closed).status(), 204);
  await cleanClose(visitor);

  const login = await fetch(`${beckon}/api/console/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: beckon },
    body: JSON.stringify({ username: AGENT.username, password: AGENT.password }),
  });
  assert.equal(login.status, 200);
  const cookie = login.headers.get('set-cookie').split(';')[0];
  const status = await (await fetch(`${beckon}/api/sites/demo/rules/status`, { headers: { cookie } })).json();
  const dwell = status.stats.find((s) => s.rule_id === 'product-dwell');
  assert.ok(dwell && dwell.closed >= 1 && dwell.shown >= dwell.closed + dwell.expired, JSON.stringify(status.stats));
});

test('exit intent invites on a desktop, not on a phone', async () => {
  const desktop = await openVisitor('/checkout.html');
  await configLoaded(desktop);
  await advance(desktop, 2_000);
  assert.equal(await invitation(desktop).isVisible(), false, 'invited without exit intent');
  await desktop.page.evaluate(() => document.dispatchEvent(new MouseEvent('mouseout', { clientY: -1, bubbles: true })));
  await advance(desktop, 1_000);
  await invitation(desktop).waitFor({ state: 'visible' });
  assert.equal((await desktop.widget.locator('[data-beckon=invitation-message]').textContent()).trim(), 'Leaving already?');
  await cleanClose(desktop);

  const phone = await openVisitor('/checkout.html', {
    contextOptions: { isMobile: true, hasTouch: true, viewport: { width: 390, height: 800 }, screen: { width: 390, height: 844 } },
  });
  await configLoaded(phone);
  const isPhone = await phone.page.frames().find((f) => f.url().startsWith(`${beckon}/widget/`)).evaluate(() => matchMedia('(pointer: coarse)').matches);
  assert.equal(isPhone, true, 'the emulated phone has a coarse pointer');
  await phone.page.evaluate(() => document.dispatchEvent(new MouseEvent('mouseout', { clientY: -1, bubbles: true })));
  await advance(phone, 5_000);
  assert.equal(await invitation(phone).isVisible(), false, 'exit intent invited on a phone');
  await cleanClose(phone);
});
