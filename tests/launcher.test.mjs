// The chat button in headless Chromium against the real server: a site with a yellow brand colour, on
// the left, whose button shows only while an agent of its queue can chat. The button appears and goes
// with the agent's presence; it takes no more of the host page than its own size; it passes axe-core;
// by keyboard alone the visitor opens a chat that reaches the agent with the page's context variables;
// the brand colour carries into the panel with readable text; after the chat ends, "Start a new chat"
// opens the next one at once.
//
// Run: BECKON_BIN=target/debug/beckon node --test tests/launcher.test.mjs
// BECKON_SCREENSHOTS=DIR also saves the screens it checks.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchBrowser, watchContext, describeProblems } from './lib/browser.mjs';
import { demoConfig, finishSuite, freePort, runBeckon, startBeckon, stopBeckon } from './lib/beckon.mjs';
import { axe, shot, steps } from './lib/suite.mjs';

const BECKON_BIN = process.env.BECKON_BIN;
const SCREENSHOTS = process.env.BECKON_SCREENSHOTS;
const WAIT_MS = 15_000;
const STARTUP_MS = 60_000;
/** How often the widget asks which queues can chat (watch.rs `AVAILABILITY_REFRESH_MS`). */
const AVAILABILITY_REFRESH_MS = 30_000;
const AGENT = { username: 'ana', password: 'ana s3cret pass', name: 'Ana Agent' };
const YELLOW = 'rgb(255, 212, 0)';
/** The secret the demo shop's backend signs its customer's identity token with, and Beckon checks. */
const IDENTITY_SECRET = 'the-demo-shop-identity-secret-0123456789';

const LOOK = `
[sites.look]
colour = "#FFD400"
position = "left"
title = "Lamp help"

[sites.launcher]
queue = "support"
label = "Ask the lamp team"

[sites.identity]
algorithm = "HS256"
secret = "${IDENTITY_SECRET}"
audience = "demo-shop"

[demo.customer]
name = "Camille Martin"
email = "camille@example.com"
`;

let workDir;
let configPath;
let browser;
let server;
let beckon;
let demo;
let serverOutput = { stdout: '', stderr: '' };
let agent;
let visitor;
// What the browsers saw go wrong: the visitors' pages and widget, and the console (whose 401 before
// login and missing favicon are expected answers, not errors).
const problems = { visitor: [], console: null };
const { step, failed } = steps();

const beckonCommand = (args, env = {}) => runBeckon(BECKON_BIN, args, { cwd: workDir, env, timeoutMs: STARTUP_MS });

before(async () => {
  if (!BECKON_BIN) throw new Error('BECKON_BIN is not set');
  if (SCREENSHOTS) mkdirSync(SCREENSHOTS, { recursive: true });
  workDir = mkdtempSync(join(tmpdir(), 'beckon-launcher-'));
  configPath = join(workDir, 'beckon.toml');
  // Fixed ports, so the server can stop and come back where the open pages expect it.
  const [own, shop] = [await freePort(), await freePort()];
  writeFileSync(
    configPath,
    demoConfig(LOOK).replace('listen = "127.0.0.1:0"', `listen = "127.0.0.1:${own}"`).replace('listen = "127.0.0.1:0"', `listen = "127.0.0.1:${shop}"`),
  );
  mkdirSync(join(workDir, 'rules'));
  await beckonCommand(
    ['agent', 'add', '--config', configPath, '--username', AGENT.username, '--display-name', AGENT.name, '--queues', 'sales,support', '--capacity', '3', '--role', 'agent'],
    { BECKON_PASSWORD: AGENT.password },
  );
  let origins;
  ({ server, origins, output: serverOutput } = await startBeckon(BECKON_BIN, configPath, workDir, STARTUP_MS));
  ({ beckon, demo } = origins);
  browser = await launchBrowser();
});

after(() => finishSuite({ browser, server, failed: failed(), output: serverOutput, workDir }));

/** A visitor on the demo home page whose page clock is paused: it moves only through `advance`. */
async function openVisitor() {
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1100, height: 760 } });
  problems.visitor.push(await watchContext(context));
  const start = Date.now();
  await context.clock.install({ time: start });
  await context.clock.pauseAt(start + 1_000);
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  await page.goto(`${demo}/index.html`);
  const widget = page.frameLocator('iframe[title="Beckon chat"]');
  // The configuration is in once the rules are: from then on, availability decides.
  await widget.locator('body[data-beckon-rules=loaded]').waitFor({ state: 'attached' });
  return { context, page, widget, title: await page.title() };
}

function iframeBox(page) {
  return page.evaluate(() => {
    const iframe = document.querySelector('iframe[title="Beckon chat"]');
    const rect = iframe.getBoundingClientRect();
    return { left: rect.left, right: innerWidth - rect.right, width: rect.width, height: rect.height, visibility: getComputedStyle(iframe).visibility };
  });
}

async function logIn() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  problems.console = await watchContext(context);
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  await page.goto(`${beckon}/console`);
  await page.locator('[data-console=username]').fill(AGENT.username);
  await page.locator('[data-console=password]').fill(AGENT.password);
  await page.locator('[data-console=login]').click();
  await page.locator('[data-console=presence]').waitFor();
  return page;
}

async function setPresence(presence) {
  await agent.locator('[data-console=presence]').selectOption(presence);
  assert.equal(await agent.locator('[data-console=presence]').inputValue(), presence);
}

step('with nobody available the page shows no button', async () => {
  agent = await logIn();
  visitor = await openVisitor();
  await visitor.page.clock.runFor(AVAILABILITY_REFRESH_MS);
  // The server put the button in the page, hidden until an agent can chat.
  assert.equal(await visitor.widget.locator('[data-beckon=launcher]').isHidden(), true);
  const box = await iframeBox(visitor.page);
  assert.deepEqual([box.width, box.height, box.visibility], [0, 0, 'hidden']);
});

/** Resolves once the server's own view (refreshed every 2 s) says whether `queue` can chat. */
async function serverSays(queue, available) {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const { queues } = await (await fetch(`${beckon}/api/sites/demo/availability`)).json();
    if (queues.includes(queue) === available) return;
    assert.ok(Date.now() < deadline, `the server never said ${queue} is ${available ? '' : 'un'}available`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Moves the visitor's page time past the widget's next availability check and waits for its answer. */
async function nextAvailabilityCheck(page) {
  const answered = page.waitForResponse((response) => response.url().endsWith('/availability'));
  await page.clock.runFor(AVAILABILITY_REFRESH_MS);
  await answered;
}

function frame(page) {
  return page.frames().find((candidate) => candidate.url().includes('/widget/'));
}

step('an agent going Available brings the button, in the site corner, no bigger than itself', async () => {
  await setPresence('available');
  await serverSays('support', true);
  await nextAvailabilityCheck(visitor.page);
  const launcher = visitor.widget.locator('[data-beckon=launcher]');
  await launcher.waitFor({ state: 'visible' });
  assert.equal((await launcher.textContent()).trim(), 'Ask the lamp team');
  const box = await iframeBox(visitor.page);
  assert.equal(box.visibility, 'visible');
  assert.equal(box.left, 16, `the site asked for the left corner: ${JSON.stringify(box)}`);
  const button = await launcher.boundingBox();
  assert.ok(box.width <= button.width + 12 && box.height <= button.height + 12, `the iframe ${JSON.stringify(box)} is more than the button ${JSON.stringify(button)}`);
  const colours = await launcher.evaluate((element) => ({ background: getComputedStyle(element).backgroundColor, text: getComputedStyle(element).color }));
  assert.deepEqual(colours, { background: YELLOW, text: 'rgb(0, 0, 0)' }, 'black reads on yellow, white would not');
  await shot(visitor.page, 'launcher-yellow-left');
});

step('going Away takes the button away again', async () => {
  await setPresence('away');
  await serverSays('support', false);
  await nextAvailabilityCheck(visitor.page);
  await visitor.widget.locator('[data-beckon=launcher]').waitFor({ state: 'hidden' });
  await visitor.page.waitForFunction(() => document.querySelector('iframe[title="Beckon chat"]').getBoundingClientRect().width === 0);
  await setPresence('available');
  await serverSays('support', true);
  await nextAvailabilityCheck(visitor.page);
  await visitor.widget.locator('[data-beckon=launcher]').waitFor({ state: 'visible' });
});

step('by keyboard alone the visitor opens a chat that reaches the agent with the page context', async () => {
  // axe and the chat run on timers: page time moves with real time from here.
  await visitor.context.clock.resume();
  await axe(frame(visitor.page), 'the chat button', { pageRules: false });
  // From the page's last link, Tab goes into the widget's button; Enter presses it.
  await visitor.page.locator('a').last().focus();
  await visitor.page.keyboard.press('Tab');
  const focused = await frame(visitor.page).evaluate(() => document.activeElement?.dataset.beckon);
  assert.equal(focused, 'launcher', 'Tab from the page reaches the chat button');
  await visitor.page.keyboard.press('Enter');
  const chat = visitor.widget.locator('[data-beckon=chat]');
  await chat.waitFor({ state: 'visible' });
  assert.equal((await visitor.widget.locator('[data-beckon=title]').textContent()).trim(), 'Lamp help');
  const box = await iframeBox(visitor.page);
  assert.equal(box.left, 16, `the panel opens in the same corner: ${JSON.stringify(box)}`);
  // The visitor opened it: the focus went into the panel, and typing goes to the composer.
  await visitor.widget.locator('[data-beckon=composer]').waitFor({ state: 'visible' });
  await frame(visitor.page).waitForFunction(() => document.activeElement?.dataset.beckon === 'composer');
  await visitor.widget.locator('[data-beckon=status]').filter({ hasText: 'Waiting for an agent' }).waitFor();
  await axe(frame(visitor.page), 'the panel waiting for an agent', { pageRules: false });
  await visitor.page.keyboard.type('Does the lamp dim?');
  await visitor.page.keyboard.press('Enter');
  await visitor.widget.locator('[data-beckon=delivery]').first().waitFor({ state: 'visible' });

  await agent.locator('[data-console=offer]').waitFor({ state: 'visible' });
  await agent.locator('[data-console=accept-offer]').click();
  await agent.locator('[data-console=tab-details]').click();
  for (const name of ['page_url', 'time_on_page', 'plan', 'cart_value', 'customer_tier']) {
    await agent.locator(`[data-console=context-var][data-name="${name}"]`).waitFor({ state: 'visible' });
  }
  assert.equal(await agent.locator('[data-console=context-var][data-name="rule_id"]').count(), 0, 'no rule invited this chat');
  const plan = await agent.locator('[data-console=context-var][data-name="plan"]').textContent();
  assert.equal(plan.trim(), 'pro');
  await agent.locator('[data-console=message][data-author=visitor]').filter({ hasText: 'Does the lamp dim?' }).waitFor();
});

step('the brand colour carries into the panel, readable, and the panel passes axe', async () => {
  await visitor.widget.locator('[data-beckon=status]').filter({ hasText: AGENT.name }).waitFor();
  const bubble = visitor.widget.locator('.line.visitor .message').first();
  const colours = await bubble.evaluate((element) => ({ background: getComputedStyle(element).backgroundColor, text: getComputedStyle(element).color }));
  assert.deepEqual(colours, { background: YELLOW, text: 'rgb(0, 0, 0)' });
  await axe(frame(visitor.page), 'the panel in yellow', { pageRules: false });
  await shot(visitor.page, 'panel-yellow-left');
});

/** Whether the panel's transcript scrolls sideways: nothing a message says may widen it. */
function overflowsSideways(page) {
  return frame(page).evaluate(() => {
    const transcript = document.querySelector('.transcript');
    const panel = document.querySelector('[data-beckon=chat]');
    return transcript.scrollWidth > transcript.clientWidth || panel.scrollWidth > panel.clientWidth;
  });
}

step('a long message, a long word, right-to-left text, emoji and a link stay inside the panel, as text', async () => {
  const word = 'Lampshade'.repeat(40);
  const hebrew = 'שלום, המנורה מתעמעמת בשלוש רמות';
  const said = [word, `${hebrew} — ok?`, '💡🔆✨ '.repeat(30).trim(), 'Manual: https://shop.example/manual?lamp=1&x=<b>2</b>'];
  const composer = agent.locator('[data-console=composer]');
  for (const body of said) {
    await composer.fill(body);
    await composer.press('Enter');
  }
  const long = 'How bright is it at night? '.repeat(60).trim();
  await visitor.widget.locator('[data-beckon=composer]').fill(long);
  await visitor.widget.locator('[data-beckon=send]').click();
  const agentLines = visitor.widget.locator('[data-beckon=message][data-author=agent]');
  await agentLines.filter({ hasText: 'Manual:' }).waitFor();
  await visitor.widget.locator('[data-beckon=message][data-author=visitor]').filter({ hasText: 'How bright' }).waitFor();
  assert.equal(await overflowsSideways(visitor.page), false, 'the transcript scrolls sideways');
  // The visitor sent the last message: the panel follows it, with no "new message" marker.
  assert.equal(await visitor.widget.locator('[data-beckon=new-message]').count(), 0);
  // Right-to-left text runs right to left in its bubble.
  assert.equal(await agentLines.filter({ hasText: 'שלום' }).evaluate((element) => getComputedStyle(element).direction), 'rtl');
  assert.equal((await agentLines.filter({ hasText: 'שלום' }).textContent()).trim(), `${hebrew} — ok?`);
  const link = agentLines.filter({ hasText: 'Manual:' }).locator('a');
  assert.equal(await link.getAttribute('rel'), 'noopener noreferrer');
  // The address ends where markup would begin, and the markup stays text.
  assert.equal(await link.getAttribute('href'), 'https://shop.example/manual?lamp=1&x=');
  assert.equal(await agentLines.locator('b').count(), 0, 'markup arrives as text');
  assert.match(await agentLines.filter({ hasText: 'Manual:' }).textContent(), /<b>2<\/b>/);
  await shot(visitor.page, 'panel-long-rtl-emoji-link');
});

step('while the server is away the panel says it is reconnecting, keeps what the visitor wrote, and sends it once when back', async () => {
  // While the server is away, the browsers' reconnection attempts are refused, and Chromium logs each.
  const watched = [...problems.visitor, problems.console];
  for (const seen of watched) seen.tolerated.push(/^WebSocket connection to 'ws:\/\/[^']*\/ws\/(visitor|agent)(\?[^']*)?' failed: .*ERR_CONNECTION_REFUSED$/);
  await stopBeckon(server);
  const notice = visitor.widget.locator('[data-beckon=notice]');
  await notice.filter({ hasText: 'Reconnecting' }).waitFor();
  await visitor.widget.locator('[data-beckon=composer]').fill('Sent while you were away');
  await visitor.widget.locator('[data-beckon=send]').click();
  await visitor.widget.locator('[data-beckon=delivery]').filter({ hasText: 'Sending' }).waitFor();
  await visitor.widget.locator('[data-beckon=composer]').fill('A draft in progress');
  await axe(frame(visitor.page), 'the panel reconnecting', { pageRules: false });
  await shot(visitor.page, 'panel-reconnecting');
  ({ server, output: serverOutput } = await startBeckon(BECKON_BIN, configPath, workDir, STARTUP_MS));
  // Back: the message is stored and marked, the notice goes, the draft stays.
  await visitor.widget.locator('[data-beckon=delivery]').filter({ hasText: 'Delivered' }).waitFor({ timeout: 30_000 });
  await notice.filter({ hasText: 'Reconnecting' }).waitFor({ state: 'detached' });
  assert.equal(await visitor.widget.locator('[data-beckon=composer]').inputValue(), 'A draft in progress');
  const onConsole = agent.locator('[data-console=message][data-author=visitor]').filter({ hasText: 'Sent while you were away' });
  await onConsole.first().waitFor({ timeout: 30_000 });
  assert.equal(await onConsole.count(), 1, 'sent once, however often it was retried');
  await visitor.widget.locator('[data-beckon=composer]').fill('');
  // Both sockets are back, so every refused attempt was reported before this line.
  for (const seen of watched) seen.tolerated.length = 0;
});

/** The `data-beckon` hook of what has the focus in the widget. */
function focusedHook(page) {
  return frame(page).evaluate(() => document.activeElement?.dataset.beckon ?? document.activeElement?.tagName);
}

step('by keyboard, the visitor ends the chat and Start a new chat opens the next one at once', async () => {
  // From the composer back to End chat, then the question, whose focus is on its answer.
  await visitor.widget.locator('[data-beckon=composer]').focus();
  for (let presses = 0; presses < 6 && (await focusedHook(visitor.page)) !== 'end'; presses++) {
    await visitor.page.keyboard.press('Shift+Tab');
  }
  assert.equal(await focusedHook(visitor.page), 'end', 'Shift+Tab from the composer reaches End chat');
  await visitor.page.keyboard.press('Enter');
  await visitor.widget.locator('[data-beckon=confirm-end]').waitFor();
  assert.equal(await focusedHook(visitor.page), 'confirm-end-yes');
  await visitor.page.keyboard.press('Enter');
  const again = visitor.widget.locator('[data-beckon=new-chat]');
  await again.waitFor({ state: 'visible' });
  await frame(visitor.page).waitForFunction(() => document.activeElement?.dataset.beckon === 'new-chat');
  await axe(frame(visitor.page), 'the ended panel', { pageRules: false });
  await shot(visitor.page, 'panel-ended-new-chat');
  await visitor.page.keyboard.press('Enter');
  // A fresh first module opens the chat straight away: no button, no invitation in between.
  await visitor.widget.locator('[data-beckon=chat]').waitFor({ state: 'visible' });
  await visitor.widget.locator('[data-beckon=status]').filter({ hasText: /waiting|shortly|number/i }).waitFor();
  assert.equal(await visitor.widget.locator('[data-beckon=launcher]').isHidden(), true);
  await agent.locator('[data-console=offer]').waitFor({ state: 'visible' });
  // Through all of it, the widget never touched the host page's title.
  assert.equal(await visitor.page.title(), visitor.title);
});

step("a signed-in customer's chat reaches the agent titled with their name, from the site's signed identity", async () => {
  // The demo shop's account page asks its backend for the customer's token and passes it to the loader.
  const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1100, height: 760 } });
  problems.visitor.push(await watchContext(context));
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  const tokens = [];
  page.on('response', (answer) => {
    if (answer.url().endsWith('/account/token')) tokens.push(answer.status());
  });
  await page.goto(`${demo}/account.html`);
  const widget = page.frameLocator('iframe[title="Beckon chat"]');
  await widget.locator('[data-beckon=launcher]').click();
  await widget.locator('[data-beckon=composer]').fill('Is my order on its way?');
  await widget.locator('[data-beckon=composer]').press('Enter');
  await axe(page, 'the demo shop\'s account page with the chat open');
  await shot(page, 'demo-account-chat');
  const offer = agent.locator('[data-console=offer]', { hasText: 'Camille Martin' });
  await offer.waitFor({ state: 'visible' });
  await offer.locator('[data-console=accept-offer]').click();
  await agent.locator('[data-console=session] .title', { hasText: 'Camille Martin' }).first().click();
  await agent.locator('#session-title', { hasText: 'Camille Martin' }).waitFor();
  await agent.locator('[data-console=tab-customer]').click();
  await agent.locator('[data-console=contact-verified]').waitFor();
  assert.equal((await agent.locator('[data-console=contact-email]').textContent()).trim(), 'camille@example.com');
  await shot(agent, 'customer-verified');
  assert.deepEqual(tokens, [200], 'the token is asked for once, as the chat starts');
  await context.close();
});

step('no CSP violations or uncaught errors in the pages, the widget or the console', async () => {
  for (const seen of problems.visitor) {
    const { violations, consoleErrors, pageErrors } = seen;
    assert.deepEqual({ violations, consoleErrors, pageErrors }, { violations: [], consoleErrors: [], pageErrors: [] }, describeProblems(seen));
  }
  const { violations, pageErrors } = problems.console;
  assert.deepEqual({ violations, pageErrors }, { violations: [], pageErrors: [] }, describeProblems(problems.console));
});
