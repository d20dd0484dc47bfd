// The supervisors' console in headless Chromium against the real server, with three browser contexts
// (a supervisor and two agents) and visitors on the real visitor socket: the Ongoing dashboard updating
// live as chats arrive, are accepted and end; filters and sorting; monitor, join (the agent and the
// customer read it), write, leave; a transfer the second agent accepts, the first staying as a
// consultant who writes a note the customer never receives; a transfer rejected and one nobody answers
// in time; force close behind a confirmation; the admin's audit log listing each of these; the
// buttons a node's `[supervision]` turns off are not shown; axe-core on the dashboard and the log.
//
// Run: BECKON_BIN=target/debug/beckon node --test tests/supervisor.test.mjs
// BECKON_SCREENSHOTS=DIR also saves the screens it checks.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchBrowser, watchContext, describeProblems } from './lib/browser.mjs';
import { demoConfig, finishSuite, runBeckon, startBeckon, stopBeckon } from './lib/beckon.mjs';
import { axe, shot, steps } from './lib/suite.mjs';

const BECKON_BIN = process.env.BECKON_BIN;
const SCREENSHOTS = process.env.BECKON_SCREENSHOTS;
const WAIT_MS = 15_000;
const STARTUP_MS = 60_000;
const ACCOUNTS = {
  lead: { password: 'lead s3cret pass', name: 'Lena Lead', role: 'supervisor', capacity: '1' },
  ana: { password: 'ana s3cret pass', name: 'Ana Agent', role: 'agent', capacity: '5' },
  bo: { password: 'bo s3cret pass', name: 'Bo Agent', role: 'agent', capacity: '5' },
  root: { password: 'root s3cret pass', name: 'Ada Admin', role: 'admin', capacity: '1' },
};
// Billing's workstream gives a transfer 4 s to be answered, so the timeout step waits seconds, not 30.
const BILLING = `[[workstreams]]
id = "quick"
notification_timeout_seconds = 4

[[queues]]
id = "billing"
name = "Billing"
workstream = "quick"
`;
const RULE = `[[rule]]
id = "pricing-help"
queue = "sales"
invitation = "Questions about our plans? Chat with us."
[rule.when]
all = [{ path = "/pricing*" }]

[[rule]]
id = "billing-help"
queue = "billing"
invitation = "A question about your invoice?"
[rule.when]
all = [{ path = "/billing*" }]
`;

let workDir;
let browser;
let beckon;
let server;
let serverOutput = { stdout: '', stderr: '' };
let driver; // a page of Beckon's origin that runs the visitors' sockets
const pages = {};
const problems = [];
const { step, failed } = steps();

const beckonCommand = (args, env = {}) => runBeckon(BECKON_BIN, args, { cwd: workDir, env, timeoutMs: STARTUP_MS });

/** Starts a node with `extra` configuration and the three accounts; resolves with its origin. */
async function startNode(extra) {
  workDir = mkdtempSync(join(tmpdir(), 'beckon-supervisor-'));
  const configPath = join(workDir, 'beckon.toml');
  writeFileSync(configPath, demoConfig(`[limits]\nvisitor_messages = { burst = 1000, every = "1ms" }\n${extra}`));
  mkdirSync(join(workDir, 'rules'));
  writeFileSync(join(workDir, 'rules', 'pricing.toml'), RULE);
  for (const [username, account] of Object.entries(ACCOUNTS)) {
    await beckonCommand(
      ['agent', 'add', '--config', configPath, '--username', username, '--display-name', account.name, '--queues', 'sales,support,billing', '--capacity', account.capacity, '--role', account.role],
      { BECKON_PASSWORD: account.password },
    );
  }
  let origins;
  ({ server, origins, output: serverOutput } = await startBeckon(BECKON_BIN, configPath, workDir, STARTUP_MS));
  return origins.beckon;
}

async function logIn(username) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  problems.push(await watchContext(context));
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  await page.goto(`${beckon}/console`);
  await page.locator('[data-console=username]').fill(username);
  await page.locator('[data-console=password]').fill(ACCOUNTS[username].password);
  await page.locator('[data-console=login]').click();
  await page.locator('[data-console=presence]').waitFor();
  return page;
}

before(async () => {
  if (!BECKON_BIN) throw new Error('BECKON_BIN is not set');
  if (SCREENSHOTS) mkdirSync(SCREENSHOTS, { recursive: true });
  beckon = await startNode(BILLING);
  browser = await launchBrowser();
  driver = await (await browser.newContext()).newPage();
  await driver.goto(`${beckon}/console`);
  await driver.evaluate(() => {
    window.visitors = {};
  });
});

after(() => finishSuite({ browser, server, failed: failed(), output: serverOutput, workDir }));

/** Visitor `n` starts a chat from `rule`; resolves with the conversation's id. Every frame they
 * receive is kept in `window.visitors[n].frames`. */
function startVisitor(n, rule = 'pricing-help') {
  return driver.evaluate(
    (visit) =>
      new Promise((resolve, reject) => {
        const { n, rule } = visit;
        const id = n.toString(16).padStart(32, '0');
        const socket = new WebSocket(`/ws/visitor?site=demo&visitor=${id}`);
        const visitor = { socket, frames: [], sent: 0 };
        window.visitors[n] = visitor;
        socket.addEventListener('message', (event) => {
          const frame = JSON.parse(event.data);
          visitor.frames.push(frame);
          if (frame.type === 'conversation' && frame.state === 'open') resolve(frame.conversation_id);
          if (frame.type === 'error') reject(new Error(frame.message));
        });
        socket.onopen = () => socket.send(JSON.stringify({ type: 'start_chat', rule_id: rule, context: {}, dropped: [] }));
      }),
    { n, rule },
  );
}

function visitorSends(n, body) {
  return driver.evaluate(
    ({ n, body }) => {
      const visitor = window.visitors[n];
      visitor.sent += 1;
      visitor.socket.send(JSON.stringify({ type: 'send', client_message_id: `v${n}-${visitor.sent}`, body }));
    },
    { n, body },
  );
}

/** Waits until visitor `n` has received a message with `body`. */
function visitorReceives(n, body) {
  return driver.waitForFunction(
    ({ n, body }) => window.visitors[n].frames.some((frame) => frame.type === 'message' && frame.message.body === body),
    { n, body },
    { timeout: WAIT_MS },
  );
}

async function acceptOffer(page) {
  const offer = page.locator('[data-console=offer]').first();
  await offer.waitFor();
  await offer.locator('[data-console=accept-offer]').click();
  await offer.waitFor({ state: 'detached' });
}

const row = (id) => pages.lead.locator(`[data-console=ongoing-row][data-id="${id}"]`);
let first;

step('the supervisor opens Ongoing conversations: an empty state, and a row as soon as a chat starts', async () => {
  pages.lead = await logIn('lead');
  pages.ana = await logIn('ana');
  pages.bo = await logIn('bo');
  await pages.lead.locator('[data-console=open-ongoing]').click();
  await pages.lead.locator('[data-console=ongoing-empty]').waitFor();
  assert.equal(await pages.ana.locator('[data-console=open-ongoing]').count(), 0, 'agents have no dashboard');
  await shot(pages.lead, 'ongoing-empty');
  first = await startVisitor(1);
  await row(first).filter({ hasText: 'Open' }).waitFor();
  assert.equal((await pages.lead.locator('[data-console=ongoing-count]').textContent()).trim(), '1');
});

step('the row follows the chat live: accepted by Ana, Active and hers', async () => {
  await pages.ana.locator('[data-console=presence]').selectOption('available');
  await acceptOffer(pages.ana);
  await row(first).and(pages.lead.locator('[data-state=active]')).waitFor();
  assert.match(await row(first).textContent(), /sales.*Live chat.*Active.*ana/);
  await visitorSends(1, 'How much is the yearly plan?');
  await pages.ana.locator('[data-console=message]', { hasText: 'How much is the yearly plan?' }).waitFor();
  // The row's preview and Last message follow the chat without a state change.
  await row(first).filter({ hasText: 'How much is the yearly plan?' }).filter({ hasText: 'just now' }).waitFor();
});

step('filters narrow the rows and each column sorts', async () => {
  // Ana steps away, so the second chat waits in its queue.
  await pages.ana.locator('[data-console=presence]').selectOption('away');
  const second = await startVisitor(2);
  await row(second).waitFor();
  const ids = () => pages.lead.locator('[data-console=ongoing-row]').evaluateAll((rows) => rows.map((row) => row.dataset.id));
  await pages.lead.locator('[data-console=filter-state]').selectOption('open');
  await pages.lead.waitForFunction(() => document.querySelectorAll('[data-console=ongoing-row]').length === 1);
  assert.deepEqual(await ids(), [second]);
  await pages.lead.locator('[data-console=filter-agent]').selectOption('ana');
  await pages.lead.locator('[data-console=ongoing-empty]', { hasText: 'No conversation matches these filters.' }).waitFor();
  await pages.lead.locator('[data-console=clear-filters]').click();
  await pages.lead.waitForFunction(() => document.querySelectorAll('[data-console=ongoing-row]').length === 2);
  // The waiting customer turns angry: the row says so live, and the sentiment filters and sorts.
  await visitorSends(2, 'This is useless. I am really angry, nothing works!');
  const feeling = row(second).locator('[data-console=ongoing-sentiment]');
  await feeling.filter({ hasText: 'Very negative' }).waitFor();
  assert.match(await feeling.getAttribute('class'), /alerting/);
  assert.equal((await row(first).locator('[data-console=ongoing-sentiment]').textContent()).trim(), 'Neutral');
  await pages.lead.locator('[data-console=filter-sentiment]').selectOption('very_negative');
  await pages.lead.waitForFunction(() => document.querySelectorAll('[data-console=ongoing-row]').length === 1);
  assert.deepEqual(await ids(), [second]);
  await pages.lead.locator('[data-console=clear-filters]').click();
  await pages.lead.waitForFunction(() => document.querySelectorAll('[data-console=ongoing-row]').length === 2);
  await pages.lead.locator('[data-console=sort-sentiment]').click();
  assert.deepEqual(await ids(), [second, first], 'the most negative first');
  await pages.lead.locator('[data-console=sort-visitor]').click();
  assert.equal(await pages.lead.locator('th[aria-sort=ascending] [data-console=sort-visitor]').count(), 1);
  assert.deepEqual(await ids(), [first, second]);
  await pages.lead.locator('[data-console=sort-visitor]').click();
  assert.deepEqual(await ids(), [second, first]);
  await shot(pages.lead, 'ongoing-rows');
  await axe(pages.lead, 'Ongoing conversations (light)');
  await pages.lead.emulateMedia({ colorScheme: 'dark' });
  await axe(pages.lead, 'Ongoing conversations (dark)');
  await shot(pages.lead, 'ongoing-dark');
  await pages.lead.emulateMedia({ colorScheme: 'light' });
  // Bo takes the second chat, so every chat has an owner for what follows.
  await pages.bo.locator('[data-console=presence]').selectOption('available');
  await acceptOffer(pages.bo);
  await row(second).and(pages.lead.locator('[data-state=active]')).waitFor();
  await pages.bo.locator('[data-console=presence]').selectOption('away');
});

step('a transfer Bo rejects stays with Ana, and the supervisor who asked and Ana are told without a refresh', async () => {
  await pages.bo.locator('[data-console=presence]').selectOption('available');
  await row(first).locator('[data-console=transfer]').click();
  const dialog = row(first).locator('[data-console=move-dialog]');
  await dialog.locator('[data-console=move-agent]').selectOption('bo');
  await dialog.locator('[data-console=move-confirm]').click();
  await dialog.waitFor({ state: 'detached' });
  const offer = pages.bo.locator('[data-console=offer]').first();
  await offer.waitFor();
  assert.match(await offer.textContent(), /Transfer from lead/);
  await offer.locator('[data-console=reject-offer]').click();
  await offer.waitFor({ state: 'detached' });
  await pages.lead.locator('[data-console=news]', { hasText: 'bo did not accept the transfer.' }).waitFor();
  // Ana, who keeps the chat, is told too.
  await pages.ana.locator('[data-console=news]', { hasText: 'bo did not accept the transfer.' }).waitFor();
  assert.match(await row(first).textContent(), /Active.*ana/);
  await pages.bo.locator('[data-console=presence]').selectOption('away');
});

step('the agents board shows presence and load live, and Assign says by how much an override exceeds capacity', async () => {
  const board = pages.lead.locator('[data-console=agents-board]');
  await board.locator('[data-console=agent-status][data-username=ana] [data-console=agent-load]', { hasText: '1/5' }).waitFor();
  const lead = board.locator('[data-console=agent-status][data-username=lead]');
  await lead.filter({ hasText: 'Offline' }).waitFor();
  // How long each agent has been in the presence they chose.
  await board.locator('[data-console=agent-status][data-username=ana] [data-console=agent-since]', { hasText: 'Away for under a minute' }).waitFor();
  // The lead (capacity 1, Offline) takes a third chat, overriding presence: it fits.
  const third = await startVisitor(3);
  await row(third).locator('[data-console=assign]').click();
  const dialog = row(third).locator('[data-console=move-dialog]');
  await dialog.locator('[data-console=move-agent]').selectOption('lead');
  assert.equal((await dialog.locator('[data-console=move-exceeds]').textContent()).trim(), '');
  await dialog.locator('[data-console=override-presence]').check();
  await dialog.locator('[data-console=move-confirm]').click();
  // The chat is the lead's own now: its session opens; back on the dashboard, the board counts it.
  await pages.lead.locator('#session-title', { hasText: 'Visitor 3' }).waitFor();
  await pages.lead.locator('[data-console=open-ongoing]').click();
  await lead.locator('[data-console=agent-load]', { hasText: '1/1' }).waitFor();
  // A fourth does not fit: the dialog says so, and by how much an override exceeds capacity.
  const fourth = await startVisitor(4);
  await row(fourth).locator('[data-console=assign]').click();
  const second = row(fourth).locator('[data-console=move-dialog]');
  await second.locator('[data-console=move-agent]').selectOption('lead');
  await second.locator('[data-console=move-exceeds]', { hasText: 'Not enough free capacity: this needs 1 more unit. Check Override capacity to assign anyway.' }).waitFor();
  await second.locator('[data-console=override-presence]').check();
  await second.locator('[data-console=override-capacity]').check();
  await second.locator('[data-console=move-exceeds]', { hasText: 'Exceeds capacity by 1 unit.' }).waitFor();
  await shot(pages.lead, 'assign-dialog');
  await axe(pages.lead, 'the assign dialog');
  await second.locator('[data-console=move-confirm]').click();
  await pages.lead.locator('#session-title', { hasText: 'Visitor 4' }).waitFor();
  await pages.lead.locator('[data-console=open-ongoing]').click();
  await lead.locator('[data-console=agent-load]', { hasText: '2/1' }).waitFor();
  assert.equal(await lead.locator('.load.full').count(), 1);
  await row(fourth).filter({ hasText: 'lead' }).waitFor();
  await shot(pages.lead, 'ongoing-board');
});

step('a transfer nobody answers in time stays with its owner, and the supervisor and the owner are told', async () => {
  const lead = pages.lead;
  const id = await startVisitor(5, 'billing-help');
  await row(id).locator('[data-console=assign]').click();
  const assign = row(id).locator('[data-console=move-dialog]');
  await assign.locator('[data-console=move-agent]').selectOption('ana');
  await assign.locator('[data-console=override-presence]').check();
  await assign.locator('[data-console=move-confirm]').click();
  await row(id).filter({ hasText: 'ana' }).and(lead.locator('[data-state=active]')).waitFor();
  await pages.bo.locator('[data-console=presence]').selectOption('available');
  await row(id).locator('[data-console=transfer]').click();
  const transfer = row(id).locator('[data-console=move-dialog]');
  await transfer.locator('[data-console=move-agent]').selectOption('bo');
  await transfer.locator('[data-console=move-confirm]').click();
  const offer = pages.bo.locator('[data-console=offer]', { hasText: 'Transfer from lead' });
  await offer.waitFor();
  // Bo never answers: after Billing's 4 s the offer goes, and the chat stays Ana's.
  await offer.waitFor({ state: 'detached', timeout: WAIT_MS });
  await lead.locator('[data-console=news]', { hasText: 'bo did not accept the transfer.' }).waitFor();
  await pages.ana.locator('[data-console=news]', { hasText: 'bo did not accept the transfer.' }).waitFor();
  assert.match(await row(id).textContent(), /billing.*Active.*ana/);
  await pages.bo.locator('[data-console=presence]').selectOption('away');
  // The assigned chat opened in Ana's console; she goes back to Visitor 1's.
  await pages.ana.locator(`[data-console=session][data-id="${first}"] [data-console=open-session]`).click();
});

step('monitor, join (the agent and the customer read it), write, and leave', async () => {
  const lead = pages.lead;
  await row(first).locator('[data-console=monitor]').click();
  await lead.locator('#session-title', { hasText: 'Visitor 1' }).waitFor();
  await lead.locator('[data-console=read-only]', { hasText: 'You are monitoring this conversation' }).waitFor();
  await lead.locator('[data-console=message]', { hasText: 'How much is the yearly plan?' }).waitFor();
  await visitorSends(1, 'Is there a discount?');
  await lead.locator('[data-console=message]', { hasText: 'Is there a discount?' }).waitFor();
  await shot(lead, 'monitoring');
  await lead.locator('[data-console=join]').click();
  await visitorReceives(1, 'A supervisor joined the conversation.');
  await pages.ana.locator('[data-console=message]', { hasText: 'A supervisor joined the conversation.' }).waitFor();
  await lead.locator('[data-console=composer]').fill('Yes: two months free on the yearly plan.');
  await lead.locator('[data-console=composer]').press('Enter');
  await visitorReceives(1, 'Yes: two months free on the yearly plan.');
  await pages.ana.locator('[data-console=message]', { hasText: 'two months free' }).waitFor();
  await lead.locator('[data-console=leave]').click();
  await visitorReceives(1, 'The supervisor left the conversation.');
  await lead.locator('#session-title').waitFor({ state: 'detached' });
});

step('a transfer Bo accepts leaves Ana as a consultant, whose note the customer never receives', async () => {
  await pages.bo.locator('[data-console=presence]').selectOption('available');
  const status = await pages.ana.evaluate(
    (id) => fetch(`/api/conversations/${id}/transfer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bo' }) }).then((answer) => answer.status),
    first,
  );
  assert.equal(status, 202);
  await acceptOffer(pages.bo);
  await row(first).filter({ hasText: 'bo' }).filter({ hasText: 'ana (consultant)' }).waitFor();
  // Ana keeps the session, with notes only.
  const ana = pages.ana;
  await ana.locator('[data-console=participants]', { hasText: 'consultant ana' }).waitFor();
  assert.equal(await ana.locator('[data-console=note-toggle]').count(), 0, 'a consultant writes notes only');
  assert.equal(await ana.locator('[data-console=composer]').getAttribute('aria-label'), 'Internal note');
  await visitorSends(1, 'Hello, anyone?');
  await ana.locator('[data-console=message]', { hasText: 'Hello, anyone?' }).waitFor();
  await ana.locator('[data-console=composer]').fill('They were promised the discount by Lena.');
  await ana.locator('[data-console=composer]').press('Enter');
  const note = pages.bo.locator('[data-console=message][data-internal=true]', { hasText: 'promised the discount' });
  await note.waitFor();
  assert.match(await note.locator('xpath=..').textContent(), /Internal note/);
  await shot(pages.bo, 'note');
  // Bo answers; by then the customer has had every message, and never the note.
  await pages.bo.locator('[data-console=composer]').fill('Bo here, the discount stands.');
  await pages.bo.locator('[data-console=composer]').press('Enter');
  await visitorReceives(1, 'Bo here, the discount stands.');
  const leaked = await driver.evaluate(() => window.visitors[1].frames.filter((frame) => JSON.stringify(frame).includes('promised the discount')).length);
  assert.equal(leaked, 0);
});

step('force close asks first, then the row leaves and the customer reads that a supervisor ended it', async () => {
  await pages.lead.locator('[data-console=open-ongoing]').click();
  await row(first).locator('[data-console=force-close]').click();
  const confirm = row(first).locator('[data-console=confirm-force-close]');
  await confirm.waitFor();
  await shot(pages.lead, 'force-close-confirm');
  await confirm.locator('button', { hasText: 'Keep it' }).click();
  await confirm.waitFor({ state: 'detached' });
  await row(first).locator('[data-console=force-close]').click();
  await row(first).locator('[data-console=confirm-force-close-yes]').click();
  await row(first).waitFor({ state: 'detached' });
  await visitorReceives(1, 'A supervisor ended this conversation.');
});

step('the admin reads each supervisor action in the audit log, filtered by action', async () => {
  assert.equal(await pages.lead.locator('[data-console=open-audit]').count(), 0, 'supervisors have no audit log');
  pages.root = await logIn('root');
  const root = pages.root;
  await root.locator('[data-console=open-audit]').click();
  const entries = (action) => root.locator(`[data-console=audit-entry][data-action=${action}]`);
  await entries('force_close').waitFor();
  assert.equal(await entries('force_close').count(), 1);
  for (const action of ['monitor', 'join', 'leave']) assert.equal(await entries(action).count(), 1, action);
  assert.equal(await entries('assign').count(), 3);
  assert.equal(await entries('assign').filter({ hasText: 'to lead, presence overridden, capacity exceeded by 1' }).count(), 1);
  for (const answer of ['rejected; asked by lead', 'expired; asked by lead', 'accepted; asked by ana']) {
    assert.equal(await entries('transfer_answered').filter({ hasText: answer }).count(), 1, answer);
  }
  assert.match(await entries('force_close').textContent(), new RegExp(`lead.*Force close.*${first}.*Done`));
  await shot(root, 'audit-log');
  await axe(root, 'the audit log (light)');
  await root.emulateMedia({ colorScheme: 'dark' });
  await axe(root, 'the audit log (dark)');
  await shot(root, 'audit-log-dark');
  await root.emulateMedia({ colorScheme: 'light' });
  // A filter asks the server: only transfers' answers are left.
  await root.locator('[data-console=audit-action]').selectOption('transfer_answered');
  await root.waitForFunction(() => [...document.querySelectorAll('[data-console=audit-entry]')].every((row) => row.dataset.action === 'transfer_answered'));
  assert.equal(await root.locator('[data-console=audit-entry]').count(), 3);
  await root.locator('[data-console=audit-actor]').fill('nobody');
  await root.locator('[data-console=audit-actor]').press('Enter');
  await root.locator('[data-console=audit-empty]', { hasText: 'No entry matches these filters.' }).waitFor();
  await root.locator('[data-console=audit-clear]').click();
  await entries('force_close').waitFor();
});

step('with the supervisor actions turned off, the dashboard offers none of them', async () => {
  await browser.close();
  await stopBeckon(server);
  rmSync(workDir, { recursive: true, force: true });
  beckon = await startNode(`${BILLING}[supervision]\nmonitor = false\nassign = false\ntransfer = false\nforce_close = false\n`);
  browser = await launchBrowser();
  driver = await (await browser.newContext()).newPage();
  await driver.goto(`${beckon}/console`);
  await driver.evaluate(() => {
    window.visitors = {};
  });
  pages.lead = await logIn('lead');
  pages.ana = await logIn('ana');
  await pages.ana.locator('[data-console=presence]').selectOption('available');
  const id = await startVisitor(3);
  await acceptOffer(pages.ana);
  await pages.lead.locator('[data-console=open-ongoing]').click();
  await row(id).and(pages.lead.locator('[data-state=active]')).waitFor();
  assert.equal(await row(id).locator('[data-console=monitor], [data-console=force-close]').count(), 0);
});

test('the consoles ran without CSP violations or uncaught errors', (t) => {
  if (problems.length === 0) return t.skip('no console was opened');
  for (const watched of problems) {
    assert.deepEqual(watched.violations, [], describeProblems(watched));
    assert.deepEqual(watched.pageErrors, [], describeProblems(watched));
  }
});
