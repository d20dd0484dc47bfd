// The agent's console, shaped like the product, in headless Chromium against the real server: the
// Sessions pane (Home pinned, titles, icons, unread badges and their exact tooltips, the X that asks
// and says what will happen, collapse remembered per agent, keyboard), a conversation that opens at
// its newest message and follows new ones, drafts kept across sessions, and axe-core on Home and on a
// session, light and dark.
//
// Visitors are driven over the real visitor socket from a page of Beckon's own origin (the socket
// accepts only that origin), so the test needs no fake clock for invitations.
//
// Run: BECKON_BIN=target/debug/beckon node --test tests/console.test.mjs
// BECKON_SCREENSHOTS=DIR also saves the screens it checks.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchBrowser, watchContext, describeProblems } from './lib/browser.mjs';
import { demoConfig, finishSuite, runBeckon, startBeckon } from './lib/beckon.mjs';
import { axe, shot, steps } from './lib/suite.mjs';

const BECKON_BIN = process.env.BECKON_BIN;
const SCREENSHOTS = process.env.BECKON_SCREENSHOTS;
const AGENT = { username: 'ana', password: 'ana s3cret pass', displayName: 'Ana Agent' };
const PEER = { username: 'bo', password: 'bo s3cret pass', displayName: 'Bo Agent' };
const WAIT_MS = 15_000;
const STARTUP_MS = 60_000;

const RULE = `[[rule]]
id = "pricing-help"
queue = "sales"
invitation = "Questions about our plans? Chat with us."
[rule.when]
all = [{ path = "/pricing*" }]

[[rule]]
id = "inbox-help"
queue = "inbox"
invitation = "Write to us"
[rule.when]
all = [{ path = "/contact*" }]
`;

/** A queue of persistent conversations: closing the session leaves them Waiting. */
const INBOX = `
[[queues]]
id = "inbox"
name = "Inbox"
workstream = "messaging"

[[workstreams]]
id = "messaging"
channel = "persistent"
`;

let workDir;
let server;
let serverOutput = { stdout: '', stderr: '' };
let beckon;
let browser;
let agentContext;
let agent; // the agent's console page
let driver; // a page of Beckon's origin that runs the visitors' sockets
let problems;
const { step, failed } = steps();

const beckonCommand = (args, env = {}) => runBeckon(BECKON_BIN, args, { cwd: workDir, env, timeoutMs: STARTUP_MS });

before(async () => {
  if (!BECKON_BIN) throw new Error('BECKON_BIN is not set');
  workDir = mkdtempSync(join(tmpdir(), 'beckon-console-'));
  if (SCREENSHOTS) mkdirSync(SCREENSHOTS, { recursive: true });
  const configPath = join(workDir, 'beckon.toml');
  // Visitors here send faster than a person types: the console is under test, not the limits.
  writeFileSync(configPath, demoConfig(`${INBOX}\n[limits]\nvisitor_messages = { burst = 1000, every = "1ms" }\n`));
  mkdirSync(join(workDir, 'rules'));
  writeFileSync(join(workDir, 'rules', 'pricing.toml'), RULE);
  await beckonCommand(
    ['agent', 'add', '--config', configPath, '--username', AGENT.username, '--display-name', AGENT.displayName, '--queues', 'sales,support,inbox', '--capacity', '50'],
    { BECKON_PASSWORD: AGENT.password },
  );
  await beckonCommand(
    ['agent', 'add', '--config', configPath, '--username', PEER.username, '--display-name', PEER.displayName, '--queues', 'sales', '--capacity', '5'],
    { BECKON_PASSWORD: PEER.password },
  );
  let origins;
  ({ server, origins, output: serverOutput } = await startBeckon(BECKON_BIN, configPath, workDir, STARTUP_MS));
  beckon = origins.beckon;
  browser = await launchBrowser();
  const driverContext = await browser.newContext();
  driver = await driverContext.newPage();
  await driver.goto(`${beckon}/console`);
  await driver.evaluate(() => {
    window.visitors = {};
  });
});

after(() => finishSuite({ browser, server, failed: failed(), output: serverOutput, workDir }));

/** Visitor `n` opens a socket (or reuses theirs) and starts a chat by `rule`; resolves with the id of
 * the conversation the server names. */
function startVisitor(n, rule = 'pricing-help') {
  return driver.evaluate(
    ({ n, rule }) =>
      new Promise((resolve, reject) => {
        const start = JSON.stringify({ type: 'start_chat', rule_id: rule, context: { plan: 'pro' }, dropped: [] });
        const listen = (socket) => {
          const onFrame = (event) => {
            const frame = JSON.parse(event.data);
            if (frame.type === 'conversation' && frame.state === 'open') {
              socket.removeEventListener('message', onFrame);
              resolve(frame.conversation_id);
            }
            if (frame.type === 'error') reject(new Error(frame.message));
          };
          socket.addEventListener('message', onFrame);
        };
        const known = window.visitors[n];
        if (known) {
          listen(known.socket);
          known.socket.send(start);
          return;
        }
        const id = n.toString(16).padStart(32, '0');
        const socket = new WebSocket(`/ws/visitor?site=demo&visitor=${id}`);
        window.visitors[n] = { socket, sent: 0 };
        listen(socket);
        socket.onopen = () => socket.send(start);
      }),
    { n, rule },
  );
}

/** Visitor `n` sends `count` messages and resolves once each is acknowledged. */
function visitorSends(n, count, text = 'Message') {
  return driver.evaluate(
    ({ n, count, text }) =>
      new Promise((resolve, reject) => {
        const visitor = window.visitors[n];
        let acked = 0;
        const onAck = (event) => {
          const frame = JSON.parse(event.data);
          if (frame.type === 'error') reject(new Error(`visitor ${n}: ${frame.code}: ${frame.message}`));
          if (frame.type === 'ack' && ++acked === count) {
            visitor.socket.removeEventListener('message', onAck);
            resolve();
          }
        };
        visitor.socket.addEventListener('message', onAck);
        for (let i = 0; i < count; i++) {
          visitor.sent += 1;
          visitor.socket.send(JSON.stringify({ type: 'send', client_message_id: `v${n}-${visitor.sent}`, body: `${text} ${visitor.sent}` }));
        }
      }),
    { n, count, text },
  );
}

async function acceptNextOffer() {
  const offer = agent.locator('[data-console=offer]').first();
  await offer.waitFor({ state: 'visible' });
  await offer.locator('[data-console=accept-offer]').click();
  await offer.waitFor({ state: 'detached' });
}

function entryOf(conversationId) {
  return agent.locator(`[data-console=session][data-id="${conversationId}"]`);
}

function entry(title) {
  return agent.locator('[data-console=session]').filter({ has: agent.locator('.title', { hasText: new RegExp(`^${title}`) }) });
}

step('the agent logs in by keyboard alone and goes Available', async () => {
  agentContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  problems = await watchContext(agentContext);
  agent = await agentContext.newPage();
  agent.setDefaultTimeout(WAIT_MS);
  await agent.goto(`${beckon}/console`);
  await agent.locator('[data-console=username]').focus();
  await agent.keyboard.type(AGENT.username);
  await agent.keyboard.press('Tab');
  await agent.keyboard.type(AGENT.password);
  await agent.keyboard.press('Enter');
  const presence = agent.locator('[data-console=presence]');
  await presence.waitFor({ state: 'visible' });
  await presence.focus();
  await presence.selectOption('available');
  assert.equal(await presence.inputValue(), 'available');
  const empty = agent.locator('[data-console=home-empty]');
  assert.doesNotMatch(await empty.textContent(), /Set your presence to Available/, 'the empty state asks an Available agent to become Available');
  await shot(agent, 'home-empty');
});

step('Home is pinned first, and two accepted chats become two sessions with titles and icons of their own', async () => {
  await startVisitor(1);
  // The offer names the queue and the invitation, and counts down to its timeout.
  const offer = agent.locator('[data-console=offer]').first();
  await offer.waitFor();
  assert.equal((await offer.locator('[data-console=offer-what]').textContent()).trim(), 'Wants to chat · Sales');
  assert.equal((await offer.locator('[data-console=offer-invitation]').textContent()).trim(), '“Questions about our plans? Chat with us.”');
  const countdown = (await offer.locator('[data-console=offer-countdown]').textContent()).trim();
  assert.match(countdown, /^0:[0-5]\d$/);
  await agent.waitForFunction(
    (before) => document.querySelector('[data-console=offer-countdown]')?.textContent.trim() !== before,
    countdown,
  );
  await shot(agent, 'offer');
  await acceptNextOffer();
  await startVisitor(2);
  await acceptNextOffer();
  const pane = await agent.evaluate(() =>
    [...document.querySelectorAll('nav.sessions > .session, nav.sessions > div.session')].map((element) => ({
      home: element.classList.contains('home'),
      title: element.querySelector('.title')?.firstChild?.textContent ?? '',
      icon: element.querySelector('.icon')?.firstChild?.textContent ?? '',
      hue: getComputedStyle(element.querySelector('.icon')).backgroundColor,
    })),
  );
  assert.equal(pane[0].home, true, 'Home comes first');
  assert.deepEqual(
    pane.slice(1).map(({ title, icon }) => ({ title, icon })),
    [
      { title: 'Visitor 1', icon: 'VI' },
      { title: 'Visitor 2', icon: 'VI' },
    ],
  );
  assert.notEqual(pane[1].hue, pane[2].hue, 'the two sessions have colours of their own');
  // Home has no X: it cannot be closed.
  assert.equal(await agent.locator('[data-console=home] ~ * [data-console=close-session]').count(), 2);
  assert.equal(await agent.locator('button.session.home [data-console=close-session]').count(), 0);
});

step('an unfocused session counts unread messages, 9 and then 9+, with the exact tooltip, and focusing clears it', async () => {
  // The chat accepted last has the focus: Visitor 2.
  await agent.locator('[data-console=state]').waitFor();
  const first = entry('Visitor 1');
  await visitorSends(1, 9);
  const badge = first.locator('[data-console=unread]');
  await badge.filter({ hasText: /^9$/ }).waitFor();
  assert.equal(await first.locator('[data-console=open-session]').getAttribute('title'), 'Visitor 1. 9 new updates in your conversation.');
  await visitorSends(1, 1);
  await badge.filter({ hasText: /^9\+$/ }).waitFor();
  assert.equal(await first.locator('[data-console=open-session]').getAttribute('title'), 'Visitor 1. 10 new updates in your conversation.');
  await shot(agent, 'session-unread');
  await first.locator('[data-console=open-session]').click();
  await badge.waitFor({ state: 'detached' });
  assert.equal(await first.locator('[data-console=open-session]').getAttribute('title'), 'Visitor 1');
});

step('an unfocused session whose customer turns negative shows the sentiment alert with the exact tooltip', async () => {
  // Visitor 1 has the focus; Visitor 2's customer is angry.
  const second = entry('Visitor 2');
  const open = second.locator('[data-console=open-session]');
  assert.equal(await second.locator('[data-console=sentiment-alert]').count(), 0);
  await visitorSends(2, 1, 'This is useless. I am really angry, nothing works!');
  await second.locator('[data-console=sentiment-alert]').waitFor();
  assert.equal(await open.getAttribute('title'), 'Visitor 2. Your conversation needs urgent attention.');
  assert.match(await open.textContent(), /needs urgent attention/, 'screen readers hear it too');
  await shot(agent, 'session-sentiment-alert');
  // Focused, the session shows how the customer feels instead of the mark.
  await open.click();
  await second.locator('[data-console=sentiment-alert]').waitFor({ state: 'detached' });
  const sentiment = agent.locator('[data-console=sentiment]');
  await sentiment.filter({ hasText: 'Sentiment: Very negative' }).waitFor();
  assert.match(await sentiment.getAttribute('class'), /alerting/);
  // Calmer messages bring the level of the latest ones up, live.
  await visitorSends(2, 4, 'Thanks, that is great!');
  await sentiment.filter({ hasText: /^\s*Sentiment: Positive\s*$/ }).waitFor();
  assert.doesNotMatch(await sentiment.getAttribute('class'), /alerting/);
  // The summary tells how it went: from the angry message up to now.
  await agent.locator('[data-console=tab-details]').click();
  const trend = agent.locator('[data-console=summary-item][data-name=Trend]');
  await trend.waitFor();
  assert.match((await trend.textContent()).trim(), /^Very negative( → [A-Za-z ]+)* → Positive$/);
  await agent.locator('[data-console=tab-knowledge]').click();
  await entry('Visitor 1').locator('[data-console=open-session]').click();
  assert.equal(await second.locator('[data-console=sentiment-alert]').count(), 0);
});

step('a conversation opens at its newest message and follows new ones; scrolled up, a marker counts them', async () => {
  await visitorSends(1, 25, 'A longer question about the plans, so the transcript overflows the view');
  // Back to Home and into the session again: it opens at the bottom.
  await agent.locator('[data-console=home]').click();
  await entry('Visitor 1').locator('[data-console=open-session]').click();
  const transcript = agent.locator('ol.transcript');
  await agent.locator('[data-console=message]', { hasText: 'overflows the view 35' }).waitFor();
  const atBottom = () =>
    transcript.evaluate((list) => list.scrollHeight - list.scrollTop - list.clientHeight <= 32);
  await agent.waitForFunction(() => {
    const list = document.querySelector('ol.transcript');
    return list.scrollHeight > list.clientHeight && list.scrollHeight - list.scrollTop - list.clientHeight <= 32;
  });
  await visitorSends(1, 1, 'Following');
  await agent.locator('[data-console=message]', { hasText: 'Following 36' }).waitFor();
  await agent.waitForFunction(() => {
    const list = document.querySelector('ol.transcript');
    return list.scrollHeight - list.scrollTop - list.clientHeight <= 32;
  });
  await transcript.evaluate((list) => {
    list.scrollTop = 0;
    list.dispatchEvent(new Event('scroll'));
  });
  await visitorSends(1, 2, 'Below');
  const marker = agent.locator('[data-console=new-messages]');
  await marker.filter({ hasText: '2 new messages' }).waitFor();
  assert.equal(await atBottom(), false, 'the view jumped although the agent had scrolled up');
  await shot(agent, 'session-marker');
  await marker.click();
  await marker.waitFor({ state: 'detached' });
  assert.equal(await atBottom(), true);
  // Every message shows its time.
  const times = await agent.locator('ol.transcript li.message time').count();
  assert.ok(times >= 38, `${times} timestamps`);
});

step('a draft survives switching sessions, and the composer says what it is for', async () => {
  const composer = agent.locator('[data-console=composer]');
  assert.match(await composer.getAttribute('placeholder'), /Write a reply/);
  await composer.fill('Half a thought');
  await entry('Visitor 2').locator('[data-console=open-session]').click();
  assert.equal(await composer.inputValue(), '');
  await entry('Visitor 1').locator('[data-console=open-session]').click();
  assert.equal(await composer.inputValue(), 'Half a thought');
  // And a reload.
  await agent.reload();
  await entry('Visitor 1').locator('[data-console=open-session]').click();
  assert.equal(await composer.inputValue(), 'Half a thought');
  await composer.press('Enter');
  await agent.locator('[data-console=message][data-author=agent]', { hasText: 'Half a thought' }).waitFor();
  assert.equal(await composer.inputValue(), '');
});

step('a persistent chat is closed to Waiting, comes back to its agent with its history, and after End starts afresh', async () => {
  const first = await startVisitor(5, 'inbox-help');
  await acceptNextOffer();
  await entryOf(first).waitFor();
  await visitorSends(5, 1, 'Where is my order');
  await agent.locator('[data-console=message]', { hasText: 'Where is my order 1' }).waitFor();
  // Its X says the conversation will wait for the customer, and closing it so leaves it on Home.
  await entryOf(first).hover();
  await entryOf(first).locator('[data-console=close-session]').click();
  const confirm = agent.locator('[data-console=confirm-close]');
  assert.match(await confirm.textContent(), /waits for the customer \(Waiting\)\. It comes back when they reply\./);
  await confirm.locator('[data-console=confirm-close-session]').click();
  await entryOf(first).waitFor({ state: 'detached' });
  await agent.keyboard.press('Alt+0');
  const waiting = agent.locator(`[data-console=stream-mine] [data-id="${first}"]`);
  await waiting.filter({ hasText: 'Waiting' }).waitFor();
  // Reopen brings the session back with its history; "Close session" (not End) puts it in Waiting again.
  await waiting.locator('[data-console=item-reopen]').click();
  await entryOf(first).waitFor();
  await agent.locator('[data-console=message]', { hasText: 'Where is my order 1' }).waitFor();
  await agent.locator('[data-console=close-to-waiting]').click();
  await entryOf(first).waitFor({ state: 'detached' });
  await agent.keyboard.press('Alt+0');
  await waiting.filter({ hasText: 'Waiting' }).waitFor();
  assert.equal(await waiting.locator('[data-console=item-reopen]').count(), 1);
  // The item previews the newest message anyone wrote, and who wrote it.
  assert.equal((await waiting.locator('[data-console=item-preview]').textContent()).trim(), 'Visitor: Where is my order 1');
  await shot(agent, 'home-waiting');
  // The customer writes again: offered to Ana first, with the history.
  await visitorSends(5, 1, 'Any news');
  await acceptNextOffer();
  await entryOf(first).waitFor();
  await agent.locator('[data-console=message]', { hasText: 'Where is my order 1' }).waitFor();
  await agent.locator('[data-console=message]', { hasText: 'Any news 2' }).waitFor();
  // End, then close the wrap-up: Closed, and listed so.
  await agent.locator('[data-console=end]').click();
  await agent.locator('[data-console=close]').click();
  await entryOf(first).waitFor({ state: 'detached' });
  await agent.keyboard.press('Alt+0');
  const closed = agent.locator(`[data-console=stream-closed] [data-id="${first}"]`);
  await closed.waitFor();
  // Open on a Closed item shows its transcript to read, without a composer; its X closes it at once.
  await closed.locator('[data-console=item-open]').click();
  await entryOf(first).waitFor();
  await agent.locator('[data-console=message]', { hasText: 'Any news 2' }).waitFor();
  assert.equal(await agent.locator('[data-console=composer]').count(), 0, 'a Closed conversation has no composer');
  assert.match(await agent.locator('[data-console=read-only]').textContent(), /This conversation is Closed\. You are reading its transcript/);
  await shot(agent, 'session-read-only');
  await entryOf(first).locator('[data-console=close-session]').click();
  await entryOf(first).waitFor({ state: 'detached' });
  assert.equal(await agent.locator('[data-console=confirm-close]').count(), 0, 'closing a transcript asks nothing');
  assert.equal(await agent.locator('button.session.home').getAttribute('aria-current'), 'page');
  // The customer returns after End: a new chat, without the old history.
  const second = await startVisitor(5, 'inbox-help');
  assert.notEqual(second, first);
  await acceptNextOffer();
  await entryOf(second).waitFor();
  await agent.locator('ol.transcript .empty').waitFor();
  assert.equal(await agent.locator('[data-console=message]', { hasText: 'Where is my order' }).count(), 0);
});

step('the keyboard moves between sessions: Alt+digit jumps, arrows move, and the X is reachable and asks first', async () => {
  await agent.keyboard.press('Alt+0');
  await agent.locator('[data-console=home-empty], .home-view h2').first().waitFor();
  assert.equal(await agent.locator('button.session.home').getAttribute('aria-current'), 'page');
  await agent.keyboard.press('Alt+2');
  await agent.locator('#session-title', { hasText: 'Visitor 2' }).waitFor();
  await agent.locator('button.session.home').focus();
  await agent.keyboard.press('ArrowDown');
  assert.equal(await agent.evaluate(() => document.activeElement.closest('.session')?.querySelector('.title')?.firstChild?.textContent), 'Visitor 1');
  // Tab reaches the X of the entry that has the focus; Enter asks, and says what closing does.
  await agent.keyboard.press('Tab');
  assert.equal(await agent.evaluate(() => document.activeElement.dataset.console), 'close-session');
  await agent.keyboard.press('Enter');
  const confirm = agent.locator('[data-console=confirm-close]');
  await confirm.waitFor();
  assert.match(await confirm.textContent(), /Visitor 1 goes back to its queue \(sales\), for another agent to take\./);
  assert.equal(await agent.evaluate(() => document.activeElement.dataset.console), 'confirm-close-session', 'the focus moves into the question');
  await shot(agent, 'session-confirm-close');
  // Escape keeps the session, as "Keep it" does.
  await agent.keyboard.press('Escape');
  await confirm.waitFor({ state: 'detached' });
  assert.equal(await entry('Visitor 1').count(), 1, 'keeping it changes nothing');
});

step('Home lists the streams live, a Pick race has one winner and a clear refusal, and shift+click keeps Home', async () => {
  // Away, so routing offers nothing and new chats wait in Open work items.
  await agent.locator('[data-console=presence]').selectOption('away');
  await agent.keyboard.press('Alt+0');
  const mine = agent.locator('[data-console=stream-mine] [data-console=work-item]');
  assert.equal(await mine.count(), 3, 'every session is in My work items: Visitors 1 and 2, and the new persistent chat');
  const third = await startVisitor(3);
  const item = agent.locator(`[data-console=stream-open] [data-console=work-item][data-id="${third}"]`);
  await item.waitFor();
  await shot(agent, 'home-streams');
  const boContext = await browser.newContext();
  const bo = await boContext.newPage();
  await bo.goto(`${beckon}/console`);
  await bo.locator('[data-console=username]').fill(PEER.username);
  await bo.locator('[data-console=password]').fill(PEER.password);
  await bo.locator('[data-console=login]').click();
  await bo.locator('[data-console=presence]').waitFor();
  // Both pick at once: Ana through her console, Bo through the API.
  const [boStatus] = await Promise.all([
    bo.evaluate((id) => fetch(`/api/conversations/${id}/pick`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).then((answer) => answer.status), third),
    agent.evaluate((id) => document.querySelector(`[data-id="${id}"] [data-console=item-pick]`).click(), third),
  ]);
  await item.waitFor({ state: 'detached' });
  const listed = (await beckonCommand(['conversations', '--config', join(workDir, 'beckon.toml')])).stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line));
  const owner = listed.find((conversation) => conversation.id === third)?.agent ?? null;
  if (owner === 'bo') {
    assert.equal(boStatus, 200);
    await agent.locator('.notice', { hasText: 'could not be picked' }).waitFor();
  } else {
    assert.equal(owner, 'ana', 'exactly one of them owns it');
    assert.notEqual(boStatus, 200, 'both picks succeeded');
    await entryOf(third).waitFor();
  }
  await boContext.close();
  // Shift+click opens the session of a fourth visitor without leaving Home.
  await agent.keyboard.press('Alt+0');
  const fourth = await startVisitor(4);
  await agent.locator(`[data-id="${fourth}"] [data-console=item-pick]`).click({ modifiers: ['Shift'] });
  await entryOf(fourth).waitFor();
  assert.equal(await agent.locator('button.session.home').getAttribute('aria-current'), 'page', 'Home kept the focus');
  await agent.locator(`[data-console=stream-mine] [data-id="${fourth}"]`).waitFor();
  await agent.locator('[data-console=presence]').selectOption('available');
});

step('the pane collapses to icons and stays collapsed for this agent after a reload', async () => {
  const toggle = agent.locator('[data-console=pane-toggle]');
  assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
  await toggle.click();
  assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
  assert.ok(await agent.locator('.workspace.collapsed').isVisible());
  await shot(agent, 'pane-collapsed');
  await agent.reload();
  await agent.locator('[data-console=pane-toggle][aria-expanded=false]').waitFor();
  assert.ok(await agent.locator('.workspace.collapsed').isVisible());
  await agent.locator('[data-console=pane-toggle]').click();
  await agent.locator('.workspace:not(.collapsed)').waitFor();
});

step('desktop alerts: opted in and remembered, they name who wants to chat while the tab is in the background, and the title counts what waits', async () => {
  await agentContext.grantPermissions(['notifications'], { origin: beckon });
  // Every notification the console shows is recorded on its way to the browser's own.
  await agent.addInitScript(() => {
    const Real = window.Notification;
    window.shownNotifications = [];
    window.Notification = class extends Real {
      constructor(title, options) {
        super(title, options);
        window.shownNotifications.push({ title, body: options?.body ?? '', tag: options?.tag ?? '' });
      }
    };
  });
  await agent.reload();
  const toggle = agent.locator('[data-console=desktop-alerts]');
  assert.equal(await toggle.getAttribute('aria-pressed'), 'false', 'off until the agent turns them on');
  await toggle.click();
  await agent.locator('[data-console=desktop-alerts][aria-pressed=true]').waitFor();
  await agent.reload();
  await agent.locator('[data-console=desktop-alerts][aria-pressed=true]').waitFor();
  // Looking at the console: an offer shows in the console only.
  assert.equal(await agent.title(), 'Beckon console');
  // The agent switches to another window.
  await agent.evaluate(() => window.dispatchEvent(new Event('blur')));
  const sixth = await startVisitor(6);
  await agent.waitForFunction(() => window.shownNotifications.length === 1);
  assert.deepEqual(await agent.evaluate(() => window.shownNotifications), [
    { title: 'Visitor 6 wants to chat', body: 'Sales · “Questions about our plans? Chat with us.”', tag: sixth },
  ]);
  await agent.waitForFunction(() => document.title === '(1) New activity · Beckon console');
  // Back at the console: the title is plain again.
  await agent.evaluate(() => window.dispatchEvent(new Event('focus')));
  await agent.waitForFunction(() => document.title === 'Beckon console');
  await acceptNextOffer();
  await entryOf(sixth).waitFor();
  // A message in another session while away: notified with its text, and counted in the title.
  await agent.evaluate(() => window.dispatchEvent(new Event('blur')));
  await visitorSends(1, 1, 'While you were away');
  await agent.waitForFunction(() => window.shownNotifications.length === 2);
  const [, message] = await agent.evaluate(() => window.shownNotifications);
  assert.equal(message.title, 'Visitor 1');
  assert.match(message.body, /^While you were away \d+$/);
  await agent.waitForFunction(() => /^\(\d+\) New activity · Beckon console$/.test(document.title));
  await agent.evaluate(() => window.dispatchEvent(new Event('focus')));
  // Turned off, nothing more is shown.
  await toggle.click();
  await agent.locator('[data-console=desktop-alerts][aria-pressed=false]').waitFor();
  await agent.evaluate(() => window.dispatchEvent(new Event('blur')));
  await visitorSends(1, 1, 'Quietly');
  await agent.locator('[data-console=session] .summary', { hasText: 'Quietly' }).waitFor();
  assert.equal(await agent.evaluate(() => window.shownNotifications.length), 2);
  await agent.evaluate(() => window.dispatchEvent(new Event('focus')));
});

step('knowledge search starts from the first message; the agent reads an article and inserts its link and an excerpt', async () => {
  const conversationId = await startVisitor(7);
  await acceptNextOffer();
  await entryOf(conversationId).locator('[data-console=open-session]').click();
  const query = agent.locator('[data-console=knowledge-query]');
  assert.equal(await agent.locator('[data-console=tab-knowledge]').getAttribute('aria-selected'), 'true', 'Knowledge is open when the session starts');
  // Before the customer writes, the articles are listed by title.
  await agent.locator('[data-console=knowledge-count]', { hasText: 'All articles (6)' }).waitFor();
  assert.deepEqual(
    await agent.locator('[data-console=knowledge-hit]').evaluateAll((hits) => hits.map((hit) => hit.dataset.slug)),
    ['delivery', 'livraison', 'paying', 'pricing', 'bulb', 'returns'],
  );
  await visitorSends(7, 1, 'My lamp arrived broken, how do I return it?');
  await agent.waitForFunction(() => document.querySelector('[data-console=knowledge-query]').value === 'My lamp arrived broken, how do I return it? 1');
  await agent.locator('[data-console=knowledge-count]', { hasText: /^\d+ articles? match$/ }).waitFor();
  const first = agent.locator('[data-console=knowledge-hit]').first();
  assert.equal(await first.getAttribute('data-slug'), 'returns');
  const marked = await first.locator('[data-console=knowledge-snippet] mark').allTextContents();
  assert.ok(marked.includes('return') && marked.includes('lamp'), `the matched words are marked: ${marked}`);
  await shot(agent, 'knowledge-search');
  // A later message does not replace the search.
  await visitorSends(7, 1, 'Hello?');
  assert.equal(await query.inputValue(), 'My lamp arrived broken, how do I return it? 1');
  // The article opens in place, rendered; its link and the passage go into the reply.
  await first.locator('[data-console=knowledge-open]').click();
  const article = first.locator('[data-console=knowledge-article]');
  await article.waitFor();
  assert.match(await article.textContent(), /within 30 days of delivery/);
  await shot(agent, 'knowledge-article');
  const composer = agent.locator('[data-console=composer]');
  await composer.fill('Sorry to hear that!');
  await first.locator('[data-console=insert-link]').click();
  assert.equal(await composer.inputValue(), 'Sorry to hear that!\nReturns and refunds: http://127.0.0.1:8081/checkout.html');
  assert.equal(await agent.evaluate(() => document.activeElement?.dataset.console), 'composer', 'the cursor is back in the reply');
  await first.locator('[data-console=insert-excerpt]').click();
  const excerpt = (await first.locator('[data-console=knowledge-snippet]').textContent()).replace(/\s+/g, ' ').trim();
  assert.equal(await composer.inputValue(), `Sorry to hear that!\nReturns and refunds: http://127.0.0.1:8081/checkout.html\n${excerpt}`);
  await composer.press('Enter');
  await agent.locator('[data-console=message][data-author=agent]', { hasText: 'Returns and refunds: http://127.0.0.1:8081/checkout.html' }).waitFor();
  // By keyboard: another search, in French, stemmed as French.
  await query.focus();
  await query.fill('livraisons');
  await query.press('Enter');
  await agent.locator('[data-console=knowledge-hit][data-slug=livraison]').waitFor();
  await agent.locator('[data-console=knowledge-count]', { hasText: '1 article matches' }).waitFor();
  await shot(agent, 'knowledge-one');
  // Anything typed gets results or a clear answer, never a failure.
  for (const text of ['"unclosed AND (lamp OR', 'title_en:* -+~^', 'x'.repeat(1000)]) {
    await query.fill(text);
    await agent.locator('[data-console=knowledge-search]').click();
    await agent.locator('[data-console=knowledge-hits], [data-console=knowledge-empty]').first().waitFor();
    assert.equal(await agent.locator('[data-console=knowledge-error]').count(), 0, text.slice(0, 40));
  }
  await query.fill('zeppelin');
  await query.press('Enter');
  await agent.locator('[data-console=knowledge-empty]', { hasText: 'No article matches “zeppelin”.' }).waitFor();
  await shot(agent, 'knowledge-none');
  await axe(agent, 'knowledge search (light)');
  await agent.emulateMedia({ colorScheme: 'dark' });
  await query.fill('broken lamp');
  await query.press('Enter');
  await agent.locator('[data-console=knowledge-hit]').first().waitFor();
  await axe(agent, 'knowledge search (dark)');
  await shot(agent, 'knowledge-search-dark');
  await agent.emulateMedia({ colorScheme: 'light' });
  await agent.setViewportSize({ width: 900, height: 800 });
  await shot(agent, 'knowledge-narrow');
  await agent.setViewportSize({ width: 1280, height: 800 });
});

/** Opens the session of `conversationId` on its Customer tab. */
async function openCustomer(conversationId) {
  await entryOf(conversationId).locator('[data-console=open-session]').click();
  await agent.locator('[data-console=tab-customer]').click();
}

step('the customer record: a contact and a case made from a chat survive a reload, another chat links the contact, and Resolve and close resolves the case', async () => {
  const first = await startVisitor(8);
  await acceptNextOffer();
  await visitorSends(8, 1, 'The lamp I bought flickers');
  await openCustomer(first);
  await agent.locator('[data-console=contact-none]').waitFor();
  await agent.locator('[data-console=case-none]', { hasText: 'Link a contact to open a case for them.' }).waitFor();
  await shot(agent, 'customer-empty');
  await axe(agent, 'the Customer tab with no contact (light)');
  // Interrupted mid-form: what was typed is still there after a reload.
  await agent.locator('[data-console=contact-name-input]').fill('Camille Martin');
  await agent.locator('[data-console=contact-email-input]').fill('camille@example');
  await agent.reload();
  await openCustomer(first);
  assert.equal(await agent.locator('[data-console=contact-name-input]').inputValue(), 'Camille Martin');
  assert.equal(await agent.locator('[data-console=contact-email-input]').inputValue(), 'camille@example');
  // A mistyped address is named before anything is saved.
  await agent.locator('[data-console=contact-save]').click();
  await agent.locator('[data-console=record-problem]', { hasText: '`email`: `camille@example` is not an email address' }).waitFor();
  await agent.locator('[data-console=contact-email-input]').fill('camille@example.com');
  await agent.locator('[data-console=contact-phone-input]').fill('+33 1 23 45 67 89');
  await agent.locator('[data-console=contact-notes-input]').fill('Prefers email.\n<b>not bold</b>');
  await agent.locator('[data-console=contact-save]').click();
  await agent.locator('#session-title', { hasText: 'Camille Martin' }).waitFor();
  await agent.locator('[data-console=contact-email]', { hasText: 'camille@example.com' }).waitFor();
  assert.equal(await agent.locator('[data-console=contact-notes]').textContent(), 'Prefers email.\n<b>not bold</b>', 'notes are text');
  assert.equal(await agent.locator('[data-console=record-problem]').count(), 0);
  assert.equal(await agent.locator('[data-console=contact-verified]').count(), 0, 'an agent-made contact is not verified');
  // The seed's own example: a case title half-typed when the agent reloads.
  await agent.locator('[data-console=case-title-input]').fill('Replace the flickering lamp');
  await agent.reload();
  await openCustomer(first);
  assert.equal(await agent.locator('[data-console=case-title-input]').inputValue(), 'Replace the flickering lamp');
  await agent.locator('[data-console=case-open]').click();
  await agent.locator('[data-console=case-title]', { hasText: 'Replace the flickering lamp' }).waitFor();
  assert.equal((await agent.locator('[data-console=case-status]').textContent()).trim(), 'Open');
  await shot(agent, 'customer-record');
  await axe(agent, 'the Customer tab with a contact and a case (light)');
  await agent.emulateMedia({ colorScheme: 'dark' });
  await axe(agent, 'the Customer tab with a contact and a case (dark)');
  await shot(agent, 'customer-record-dark');
  await agent.emulateMedia({ colorScheme: 'light' });
  await agent.setViewportSize({ width: 900, height: 800 });
  await shot(agent, 'customer-record-narrow');
  await agent.setViewportSize({ width: 1280, height: 800 });

  // Camille writes again from another browser: the agent finds her and links the chat.
  const second = await startVisitor(9);
  await acceptNextOffer();
  await openCustomer(second);
  await agent.locator('[data-console=contact-find-search]').fill('nobody-like-this');
  await agent.locator('[data-console=contact-find-go]').click();
  await agent.locator('[data-console=contact-find-none]', { hasText: 'No contact you may see matches “nobody-like-this”.' }).waitFor();
  await agent.locator('[data-console=contact-find-search]').fill('CAMILLE');
  await agent.locator('[data-console=contact-find-go]').click();
  const found = agent.locator('[data-console=contact-find-item]');
  await found.first().waitFor();
  assert.equal(await found.count(), 1);
  assert.match(await found.textContent(), /Camille Martin\s*camille@example\.com · \+33 1 23 45 67 89/);
  await shot(agent, 'customer-link');
  await found.locator('[data-console=contact-find-pick]').click();
  await agent.locator('#session-title', { hasText: 'Camille Martin' }).waitFor();
  await agent.locator('[data-console=case-none]', { hasText: 'No case is open for this conversation.' }).waitFor();

  // Resolve and close: the first chat is Closed and its case resolved, in one move.
  await entryOf(first).locator('[data-console=open-session]').click();
  await agent.locator('[data-console=resolve]').click();
  await entryOf(first).waitFor({ state: 'detached' });
  const record = await agent.evaluate(async () => {
    const [contact] = await (await fetch('/api/sites/demo/contacts?q=camille')).json();
    return (await fetch(`/api/contacts/${contact.id}`)).json();
  });
  assert.deepEqual(record.cases.map((c) => [c.title, c.status]), [['Replace the flickering lamp', 'resolved']]);
  assert.deepEqual(
    record.conversations.map((c) => [c.id, c.state]).sort(),
    [[first, 'closed'], [second, 'active']].sort(),
  );

  // From Home, Shift+click opens Camille's record session without leaving Home; Open shows it.
  await agent.keyboard.press('Alt+0');
  const row = agent.locator('[data-console=home-contact-item]', { hasText: 'Camille Martin' });
  await row.waitFor();
  await row.locator('[data-console=home-contact-pick]').click({ modifiers: ['Shift'] });
  const entry = agent.locator(`[data-console=record-session][data-id="${record.contact.id}"]`);
  await entry.waitFor();
  assert.equal(await agent.locator('#home-title').count(), 1, 'Home is still showing');
  await axe(agent, 'Home with its contacts');
  await shot(agent, 'home-contacts');
  await entry.locator('[data-console=open-record]').click();
  const view = agent.locator('[data-console=contact-record]');
  await view.locator('#record-title', { hasText: 'Camille Martin' }).waitFor();
  const caseRow = view.locator('[data-console=record-case]', { hasText: 'Replace the flickering lamp' });
  assert.match(await caseRow.textContent(), /Resolved/);
  assert.equal(await view.locator('[data-console=record-conversation]').count(), 2);
  await axe(agent, 'a contact record');
  await shot(agent, 'contact-record');
  // The case reopens here, and each conversation opens to read.
  await caseRow.locator('[data-console=record-case-toggle]').click();
  await view.locator('[data-console=record-case]', { hasText: /Replace the flickering lamp\s*Open/ }).waitFor();
  await view.locator(`[data-console=record-conversation][data-id="${first}"] [data-console=record-conversation-open]`).click();
  await agent.locator('#session-title', { hasText: 'Camille Martin' }).waitFor();
  await agent.locator('[data-console=read-only]').waitFor();
  await entry.locator('[data-console=close-record]').click();
  await entry.waitFor({ state: 'detached' });
});

step('cases open from Home as record sessions: found by title or contact and status, retitled, resolved, their contact and conversations opened', async () => {
  await agent.keyboard.press('Alt+0');
  const cases = agent.locator('[data-console=home-case-item]');
  await cases.first().waitFor();
  assert.equal(await cases.count(), 1, 'the open cases, which the list shows first');
  assert.match(await cases.textContent(), /Replace the flickering lamp\s*Open\s*Camille Martin · changed/);
  await agent.locator('[data-console=home-case-status]').selectOption('resolved');
  await agent.locator('[data-console=home-case-none]', { hasText: 'No resolved case you may see yet.' }).waitFor();
  await agent.locator('[data-console=home-case-status]').selectOption('');
  await agent.locator('[data-console=home-case-search]').fill('nothing-like-this');
  await agent.locator('[data-console=home-case-go]').click();
  await agent.locator('[data-console=home-case-none]', { hasText: 'No case you may see matches “nothing-like-this”.' }).waitFor();
  await agent.locator('[data-console=home-case-search]').fill('camille');
  await agent.locator('[data-console=home-case-go]').click();
  const row = cases.filter({ hasText: 'Replace the flickering lamp' });
  await row.waitFor();
  const caseId = await row.getAttribute('data-id');
  await row.locator('[data-console=home-case-pick]').click({ modifiers: ['Shift'] });
  const entry = agent.locator(`[data-console=record-session][data-kind=case][data-id="${caseId}"]`);
  await entry.waitFor();
  assert.match(await entry.textContent(), /Replace the flickering lamp\s*Case/);
  assert.equal(await agent.locator('#home-title').count(), 1, 'Home is still showing');
  await axe(agent, 'Home with its contacts and cases');
  await shot(agent, 'home-cases');

  await entry.locator('[data-console=open-record]').click();
  const view = agent.locator('[data-console=case-record]');
  await view.locator('#record-title', { hasText: 'Replace the flickering lamp' }).waitFor();
  assert.equal((await view.locator('[data-console=case-status]').textContent()).trim(), 'Open');
  assert.equal(await view.locator('[data-console=case-contact-name]').textContent(), 'Camille Martin');
  const conversations = view.locator('[data-console=record-conversation]');
  assert.equal(await conversations.count(), 1, 'only the conversation the case was opened from');
  await axe(agent, 'a case record (light)');
  await shot(agent, 'case-record');
  await agent.emulateMedia({ colorScheme: 'dark' });
  await axe(agent, 'a case record (dark)');
  await shot(agent, 'case-record-dark');
  await agent.emulateMedia({ colorScheme: 'light' });

  // Retitled: a blank title is named before anything is saved; the pane's entry follows the new one.
  await view.locator('[data-console=case-retitle]').click();
  await view.locator('[data-console=case-title-input]').fill('   ');
  await view.locator('[data-console=case-title-save]').click();
  await view.locator('.record-problem', { hasText: '`title`: a case needs a title' }).waitFor();
  await view.locator('[data-console=case-title-input]').fill('Replace the flickering desk lamp');
  await view.locator('[data-console=case-title-save]').click();
  await view.locator('#record-title', { hasText: 'Replace the flickering desk lamp' }).waitFor();
  await entry.filter({ hasText: 'Replace the flickering desk lamp' }).waitFor();
  // Resolved here, and reopened.
  await view.locator('[data-console=case-toggle]', { hasText: 'Resolve case' }).click();
  await view.locator('[data-console=case-status]', { hasText: 'Resolved' }).waitFor();
  await view.locator('[data-console=case-toggle]', { hasText: 'Reopen case' }).click();
  await view.locator('[data-console=case-status]', { hasText: 'Open' }).waitFor();

  // Its contact opens as a record of its own (Shift+click: in the background), its conversation to read.
  await view.locator('[data-console=case-contact-open]').click({ modifiers: ['Shift'] });
  const contactEntry = agent.locator('[data-console=record-session][data-kind=contact]', { hasText: 'Camille Martin' });
  await contactEntry.waitFor();
  assert.equal(await view.count(), 1, 'the case is still showing');
  await conversations.locator('[data-console=record-conversation-open]').click();
  await agent.locator('[data-console=read-only]').waitFor();
  await contactEntry.locator('[data-console=open-record]').click();
  await agent.locator('[data-console=contact-record] [data-console=record-case]', { hasText: 'Replace the flickering desk lamp' }).waitFor();
  for (const open of [contactEntry, entry]) {
    await open.locator('[data-console=close-record]').click();
    await open.waitFor({ state: 'detached' });
  }
  // By keyboard alone: find the case, move to its Open, and open it.
  await agent.keyboard.press('Alt+0');
  await agent.locator('[data-console=home-case-search]').focus();
  await agent.keyboard.type('desk lamp');
  await agent.keyboard.press('Enter');
  await cases.filter({ hasText: 'Replace the flickering desk lamp' }).waitFor();
  for (const next of ['home-case-status', 'home-case-go', 'home-case-pick']) {
    await agent.keyboard.press('Tab');
    assert.equal(await agent.evaluate(() => document.activeElement?.dataset.console), next);
  }
  await agent.keyboard.press('Enter');
  await view.locator('#record-title', { hasText: 'Replace the flickering desk lamp' }).waitFor();
  await entry.locator('[data-console=close-record]').click();
  await agent.setViewportSize({ width: 900, height: 800 });

  // Many cases: Home lists the 20 most recently changed and says so; a 200-character title wraps.
  const long = `A case whose title goes on ${'and on '.repeat(40)}`.slice(0, 200);
  await agent.evaluate(async (titles) => {
    const [contact] = await (await fetch('/api/sites/demo/contacts?q=camille')).json();
    const record = await (await fetch(`/api/contacts/${contact.id}`)).json();
    const live = record.conversations.find((conversation) => conversation.state === 'active');
    for (const title of titles) {
      const answer = await fetch('/api/cases', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ conversation_id: live.id, title }),
      });
      if (!answer.ok) throw new Error(`${answer.status}: ${await answer.text()}`);
    }
  }, [...Array.from({ length: 23 }, (_, n) => `Follow-up ${n + 1}`), long]);
  await agent.keyboard.press('Alt+0');
  await agent.locator('[data-console=more-found]', { hasText: 'The 20 most recently changed. Search to find others.' }).waitFor();
  assert.equal(await cases.count(), 20);
  assert.equal(await cases.first().locator('.found-name').textContent(), long, 'the newest first');
  await axe(agent, 'Home with 20 cases, narrow');
  await cases.first().scrollIntoViewIfNeeded();
  await shot(agent, 'home-cases-many-narrow');
  await agent.setViewportSize({ width: 1280, height: 800 });
});

step('axe-core finds nothing on Home and on a session, light and dark', async () => {
  await agent.keyboard.press('Alt+0');
  await agent.locator('.home-view h2').first().waitFor();
  await axe(agent, 'Home (light)');
  await entry('Visitor 2').locator('[data-console=open-session]').click();
  await agent.locator('#session-title', { hasText: 'Visitor 2' }).waitFor();
  await axe(agent, 'a session (light)');
  await agent.locator('[data-console=tab-details]').click();
  await agent.locator('[data-console=context-var][data-name=plan]').waitFor();
  await axe(agent, 'Additional details (light)');
  await agent.emulateMedia({ colorScheme: 'dark' });
  await shot(agent, 'session-details-dark');
  await axe(agent, 'Additional details (dark)');
  await axe(agent, 'a session (dark)');
  await shot(agent, 'session-dark');
  await agent.keyboard.press('Alt+0');
  await agent.locator('.home-view h2').first().waitFor();
  await axe(agent, 'Home (dark)');
  await shot(agent, 'home-dark');
  await agent.emulateMedia({ colorScheme: 'light' });
});

test('the console ran without CSP violations or uncaught errors', (t) => {
  if (!problems) return t.skip('the console was not opened');
  assert.deepEqual(problems.violations, [], describeProblems(problems));
  assert.deepEqual(problems.pageErrors, [], describeProblems(problems));
});
