// The widget's language in headless Chromium against the real server, from each of its three sources:
// the site's configuration (forced), the host page's `<html lang>`, then the browser's languages. In
// each, the chat button, the invitation (the rule's text and the buttons), the chat panel's words and
// the messages' times are in the chosen language; the visitor's browser receives only that language,
// with the chat.
//
// Run: BECKON_BIN=target/debug/beckon node --test tests/language.test.mjs
// BECKON_SCREENSHOTS=DIR also saves the screens it checks.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchBrowser, watchContext, describeProblems } from './lib/browser.mjs';
import { demoConfig, finishSuite, freePort, runBeckon, startBeckon } from './lib/beckon.mjs';
import { axe, shot, steps } from './lib/suite.mjs';

const BECKON_BIN = process.env.BECKON_BIN;
const WAIT_MS = 15_000;
const STARTUP_MS = 60_000;
/** The rule's text per language; `it` is one the widget does not speak. */
const INVITATION = {
  default: 'Questions? We are here.',
  fr: 'Des questions ? Nous sommes là.',
  'fr-CA': 'Des questions? On est là.',
  de: 'Fragen? Wir sind da.',
  ro: 'Întrebări? Suntem aici.',
  it: 'Domande? Siamo qui.',
};
const RULE = `# Written by tests/language.test.mjs: invite every visitor after 3 s on a page.
[[rule]]
id = "hello"
queue = "support"
invitation = { ${Object.entries(INVITATION).map(([key, text]) => `${key} = ${JSON.stringify(text)}`).join(', ')} }

[rule.when]
time_on_page = "3s"
`;

let workDir;
let browser;
let server;
let beckon;
let demo;
let serverOutput = { stdout: '', stderr: '' };
const problems = [];
const received = [];
const { step, failed } = steps();

/** A host page of `site`, with `lang` on its `<html>` unless it is null. */
function hostPage(site, lang) {
  const attribute = lang === null ? '' : ` lang="${lang}"`;
  return `<!doctype html>
<html${attribute}>
<head><meta charset="utf-8"><title>Lamps</title><link rel="icon" href="data:,">
<script src="{{BECKON_URL}}/beckon.js" data-site="${site}" async></script></head>
<body><main><h1>Lamps</h1><p>Desk lamps.</p><a href="#top">Top</a></main></body>
</html>
`;
}

before(async () => {
  if (!BECKON_BIN) throw new Error('BECKON_BIN is not set');
  workDir = mkdtempSync(join(tmpdir(), 'beckon-language-'));
  const shopPort = await freePort();
  const root = join(workDir, 'site');
  mkdirSync(root);
  writeFileSync(join(root, 'page-lang.html'), hostPage('demo', 'fr-CA'));
  writeFileSync(join(root, 'no-lang.html'), hostPage('demo', null));
  writeFileSync(join(root, 'italian.html'), hostPage('demo', 'it'));
  writeFileSync(join(root, 'forced.html'), hostPage('forced', 'fr'));
  mkdirSync(join(workDir, 'rules'));
  writeFileSync(join(workDir, 'rules', 'hello.toml'), RULE);
  const config = demoConfig(`
[sites.launcher]
queue = "support"
show = "always"

[[sites]]
id = "forced"
name = "Magazin"
language = "ro"
allowed_origins = ["http://127.0.0.1:${shopPort}"]
rules_dir = "rules"

[sites.look]
colour = "#0b7a3e"

[sites.launcher]
queue = "support"
show = "always"

# The Romanian visitor writes thirty messages in a row.
[limits]
visitor_messages = { burst = 40, every = "100ms" }
`)
    .replace(/^root = .*$/m, 'root = "site"')
    .replace(/(\[demo\]\nlisten = )"127\.0\.0\.1:0"/, `$1"127.0.0.1:${shopPort}"`);
  const configPath = join(workDir, 'beckon.toml');
  writeFileSync(configPath, config);
  // A member for each queue, never signed in: the visitors' chats wait in the queue.
  await runBeckon(
    BECKON_BIN,
    ['agent', 'add', '--config', configPath, '--username', 'ana', '--display-name', 'Ana Agent', '--queues', 'sales,support', '--capacity', '3', '--role', 'agent'],
    { cwd: workDir, env: { BECKON_PASSWORD: 'ana s3cret pass' }, timeoutMs: STARTUP_MS },
  );
  let origins;
  ({ server, origins, output: serverOutput } = await startBeckon(BECKON_BIN, configPath, workDir, STARTUP_MS));
  ({ beckon, demo } = origins);
  browser = await launchBrowser();
});

after(() => finishSuite({ browser, server, failed: failed(), output: serverOutput, workDir }));

/** A visitor whose browser prefers `locale`, on `path`, with the page clock paused. */
async function visit(path, locale) {
  const context = await browser.newContext({ locale, viewport: { width: 1100, height: 760 } });
  problems.push(await watchContext(context));
  context.on('response', (response) => {
    if (response.url().includes('/widget/text/')) received.push(response.url());
  });
  const start = Date.now();
  await context.clock.install({ time: start });
  await context.clock.pauseAt(start + 1_000);
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  await page.goto(`${demo}/${path}`);
  const widget = page.frameLocator('iframe[title="Beckon chat"]');
  await widget.locator('body[data-beckon-rules=loaded]').waitFor({ state: 'attached' });
  const frame = page.frames().find((candidate) => candidate.url().includes('/widget/'));
  return { context, page, widget, frame };
}

/**
 * Checks one visit end to end in `expected`: the page's `lang`, the chat button, the invitation's text
 * and buttons, then the chat's words and a message's time. Answers the visit for more checks.
 */
async function speaks(visitor, expected) {
  const { page, widget, frame } = visitor;
  assert.equal(await frame.evaluate(() => document.documentElement.lang), expected.lang);
  await widget.locator('[data-beckon=launcher]').waitFor({ state: 'visible' });
  assert.equal((await widget.locator('[data-beckon=launcher]').textContent()).trim(), expected.launcher);
  assert.equal(received.length, 0, 'no words travel before the visitor chats');

  await page.clock.runFor(3_500);
  const invitation = widget.locator('[data-beckon=invitation]');
  await invitation.waitFor();
  assert.equal(await widget.locator('[data-beckon=invitation-message]').textContent(), expected.invitation);
  assert.equal(await widget.locator('[data-beckon=accept]').textContent(), expected.accept);
  assert.equal(await widget.locator('[data-beckon=close]').textContent(), expected.decline);
  assert.equal(await invitation.getAttribute('aria-label'), expected.invitationLabel);

  await visitor.context.clock.resume();
  await widget.locator('[data-beckon=accept]').click();
  await widget.locator('[data-beckon=chat]').waitFor();
  await widget.locator('[data-beckon=status]').filter({ hasText: expected.waiting }).waitFor();
  assert.equal(await widget.locator('[data-beckon=composer]').getAttribute('placeholder'), expected.composer);
  assert.equal((await widget.locator('[data-beckon=end]').textContent()).trim(), expected.end);
  assert.equal(await widget.locator('[data-beckon=minimise]').getAttribute('aria-label'), expected.minimise);
  // Only the chosen language came, once, with the chat.
  assert.deepEqual(
    received.map((url) => new URL(url).pathname.replace(/-[0-9a-f]+\.json$/, '')),
    [`/widget/text/${expected.words}`],
  );
  received.length = 0;

  await widget.locator('[data-beckon=composer]').fill(expected.message);
  await widget.locator('[data-beckon=composer]').press('Enter');
  await widget.locator('[data-beckon=delivery]').filter({ hasText: expected.delivered }).waitFor();
  const time = await widget.locator('.line.visitor time').first().textContent();
  assert.match(time, expected.time, `the time "${time}" is not in the ${expected.lang} form`);
  return visitor;
}

step("the page's <html lang> chooses the language, and the rule's text for its region", async () => {
  // The browser prefers German: the page's French wins over it.
  const visitor = await visit('page-lang.html', 'de-DE');
  await speaks(visitor, {
    lang: 'fr-CA',
    words: 'fr',
    launcher: 'Discuter avec nous',
    invitation: INVITATION['fr-CA'],
    invitationLabel: 'Invitation à discuter',
    accept: 'Discuter',
    decline: 'Non merci',
    waiting: "En attente d'un conseiller",
    composer: 'Écrivez votre message',
    end: 'Terminer',
    minimise: 'Réduire la discussion',
    message: "Bonjour, ma lampe est cassée, c'est nul",
    delivered: 'Reçu',
    time: /^\d{2}:\d{2}$/,
  });
  // The conversation is in French, and the message was scored by the French analyzer (VADER-FR gives
  // it -0.5574; the English lexicon knows none of its words).
  const login = await fetch(`${beckon}/api/console/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'ana', password: 'ana s3cret pass' }),
  });
  const cookie = login.headers.get('set-cookie').split(';')[0];
  const open = await (await fetch(`${beckon}/api/work-items/open`, { headers: { cookie } })).json();
  const french = open.find((conversation) => conversation.language === 'fr');
  assert.ok(french, JSON.stringify(open.map((conversation) => conversation.language)));
  assert.equal(french.sentiment, 'negative');
  await fetch(`${beckon}/api/console/logout`, { method: 'POST', headers: { cookie } });
  await axe(visitor.frame, 'the panel in French', { pageRules: false });
  await shot(visitor.page, 'language-fr-panel');
  await visitor.context.close();
});

step("with no <html lang>, the browser's languages choose", async () => {
  const visitor = await visit('no-lang.html', 'de-DE');
  await speaks(visitor, {
    lang: 'de-DE',
    words: 'de',
    launcher: 'Chatten Sie mit uns',
    invitation: INVITATION.de,
    invitationLabel: 'Chat-Einladung',
    accept: 'Jetzt chatten',
    decline: 'Nein, danke',
    waiting: 'Warten auf einen Mitarbeiter',
    composer: 'Ihre Nachricht',
    end: 'Chat beenden',
    minimise: 'Chat minimieren',
    message: 'Hallo, eine Frage zur Lampe',
    delivered: 'Zugestellt',
    time: /^\d{2}:\d{2}$/,
  });
  await axe(visitor.frame, 'the panel in German', { pageRules: false });
  await shot(visitor.page, 'language-de-panel');
  await visitor.context.close();
});

step('a language the widget does not speak falls to the next source, then English', async () => {
  // The page is Italian, the browser too: English, and the rule's English text rather than its Italian.
  const visitor = await visit('italian.html', 'it-IT');
  await speaks(visitor, {
    lang: 'en',
    words: 'en',
    launcher: 'Chat with us',
    invitation: INVITATION.default,
    invitationLabel: 'Chat invitation',
    accept: 'Chat now',
    decline: 'No thanks',
    waiting: 'Waiting for an agent',
    composer: 'Type your message',
    end: 'End chat',
    minimise: 'Minimise the chat',
    message: 'Hello',
    delivered: 'Delivered',
    time: /^\d{2}:\d{2}/,
  });
  await visitor.context.close();
});

step("the site's forced language wins over the page's and the browser's", async () => {
  const visitor = await visit('forced.html', 'es-ES');
  await speaks(visitor, {
    lang: 'ro',
    words: 'ro',
    launcher: 'Vorbiți cu noi',
    invitation: INVITATION.ro,
    invitationLabel: 'Invitație la chat',
    accept: 'Începeți chatul',
    decline: 'Nu, mulțumesc',
    waiting: 'Se așteaptă un agent',
    composer: 'Scrieți mesajul',
    end: 'Încheiați chatul',
    minimise: 'Minimizați chatul',
    message: 'Bună ziua',
    delivered: 'Livrat',
    time: /^\d{2}:\d{2}$/,
  });
  await shot(visitor.page, 'language-ro-green-1');
  // Thirty messages: the panel follows them, in the site's green, the times in Romanian's form.
  for (let n = 2; n <= 30; n += 1) {
    await visitor.widget.locator('[data-beckon=composer]').fill(`Mesajul ${n}: o întrebare despre lampă`);
    await visitor.widget.locator('[data-beckon=composer]').press('Enter');
  }
  await visitor.widget.locator('[data-beckon=message]').filter({ hasText: 'Mesajul 30:' }).waitFor();
  await visitor.widget.locator('[data-beckon=delivery]').filter({ hasText: 'Livrat' }).waitFor();
  assert.ok(await visitor.widget.locator('[data-beckon=message]').filter({ hasText: 'Mesajul 30:' }).isVisible());
  await axe(visitor.frame, 'the panel in Romanian with 30 messages', { pageRules: false });
  await shot(visitor.page, 'language-ro-green-30');
  // Folded with an unread count of 0, the button's label is Romanian too.
  await visitor.widget.locator('[data-beckon=minimise]').click();
  assert.equal(await visitor.widget.locator('[data-beckon=unfold]').getAttribute('aria-label'), 'Deschideți chatul');
  await visitor.context.close();
});

step('the words file is cached for good under its hash, and an unknown language is a clear 404', async () => {
  const widgetPage = await fetch(`${beckon}/widget/demo?parent=${encodeURIComponent(demo)}&lang=gl`);
  assert.equal(widgetPage.status, 200);
  assert.match(widgetPage.headers.get('vary'), /\bAccept-Language\b/);
  const html = await widgetPage.text();
  const file = html.match(/data-text="([^"]+)"/)[1];
  assert.match(file, /^\/widget\/text\/gl-[0-9a-f]{10}\.json$/);
  const words = await fetch(`${beckon}${file}`);
  assert.equal(words.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  const { lang, messages } = await words.json();
  assert.equal(lang, 'gl');
  assert.equal(messages['start-new-chat'], 'Comezar un chat novo');
  const stale = await fetch(`${beckon}/widget/text/gl-0000000000.json`);
  assert.equal(stale.headers.get('cache-control'), 'no-cache', "an old hash gets today's words, revalidated");
  const unknown = await fetch(`${beckon}/widget/text/it-0000000000.json`);
  assert.equal(unknown.status, 404);
  assert.match((await unknown.json()).message, /does not speak `it`/);
});

step('no visitor page logged an error or a failed request', () => {
  for (const seen of problems) {
    const { violations, consoleErrors, pageErrors } = seen;
    assert.deepEqual({ violations, consoleErrors, pageErrors }, { violations: [], consoleErrors: [], pageErrors: [] }, describeProblems(seen));
  }
});
