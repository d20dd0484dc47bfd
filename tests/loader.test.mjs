// Tests of the script-tag loader (www/beckon.js) in real Chromium, against a strict-CSP host page and a fixture widget.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import { brotliCompressSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { launchBrowser, watchContext, describeProblems } from './lib/browser.mjs';

const LOADER_PATH = fileURLToPath(new URL('../www/beckon.js', import.meta.url));
const FIXTURES = new URL('./fixtures/', import.meta.url);
const DEMO = new URL('../www/demo/', import.meta.url);
const DEMO_TYPES = { '.html': 'text/html; charset=utf-8', '.css': 'text/css', '.js': 'text/javascript', '.svg': 'image/svg+xml' };
const WAIT_MS = 10_000;

let browser;
let host; // origin of the customer's site
let beckon; // origin of the Beckon server
let evil; // some unrelated origin whose frame speaks Beckon's protocol
let demo; // www/demo served the way the Beckon demo listener serves it
const servers = [];

function fixture(name) {
  return readFileSync(new URL(name, FIXTURES), 'utf8');
}

/** Responses the test holds back until it releases them: `held.next()` before the request is made. */
const held = {
  waiting: [],
  next() {
    let requested;
    let release;
    const entry = { requested: new Promise((resolve) => (requested = resolve)), released: new Promise((resolve) => (release = resolve)) };
    entry.arrived = requested;
    entry.release = release;
    held.waiting.push(entry);
    return entry;
  },
};

function startServer(handle) {
  const server = http.createServer(async (request, response) => {
    const url = new URL(request.url, 'http://placeholder');
    if (url.pathname === '/held.svg') {
      const entry = held.waiting.shift();
      if (!entry) return response.writeHead(404).end();
      entry.arrived();
      await entry.released;
      response.writeHead(200, { 'content-type': 'image/svg+xml', 'cache-control': 'no-store' }).end('<svg xmlns="http://www.w3.org/2000/svg"/>');
      return;
    }
    const reply = handle(url);
    if (!reply) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    response.writeHead(200, { 'cache-control': 'no-store', ...reply.headers }).end(reply.body);
  });
  servers.push(server);
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${server.address().port}`));
  });
}

const html = (body, headers = {}) => ({ headers: { 'content-type': 'text/html; charset=utf-8', ...headers }, body });
const js = (body) => ({ headers: { 'content-type': 'text/javascript; charset=utf-8' }, body });

// The CSP the brief promises the loader works under; `extraFrames` only for the page
// that embeds a rogue frame.
function hostCsp(extraFrames = '') {
  return `default-src 'self'; script-src 'self' ${beckon}; frame-src ${beckon} ${extraFrames}; style-src 'self'`;
}

function loaderTag(site, query = '') {
  return `<script src="${beckon}/beckon.js${query}" data-site="${site}" async></script>`;
}

function hostPage(url) {
  const page = (head, body = '', csp = hostCsp()) =>
    html(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Loader test</title>${head}</head><body><p>Host page</p>${body}</body></html>`, {
      'content-security-policy': csp,
    });
  switch (url.pathname) {
    case '/basic.html':
    case '/spa/start.html':
      return page(loaderTag('shop'));
    case '/focus.html':
      return page(loaderTag('shop'), '<button id="help">Help</button><input id="search" aria-label="Search">');
    case '/sync-head.html':
      return page(`<script src="${beckon}/beckon.js" data-site="shop"></script>`);
    case '/lazy.html':
      return page(loaderTag('lazy'));
    case '/stub.html':
      return page(`<script src="/stub.js"></script>${loaderTag('shop')}`);
    case '/twice.html':
      return page(`${loaderTag('shop')}${loaderTag('shop', '?again')}`);
    case '/rogue.html':
      return page(
        loaderTag('shop'),
        `<iframe title="rogue-evil" src="${evil}/fixture/rogue.html"></iframe><iframe title="rogue-beckon" src="${beckon}/fixture/rogue.html"></iframe>`,
        hostCsp(evil),
      );
    case '/held-image.html':
      return page(`${loaderTag('shop')}`, '<img alt="" src="/held.svg" width="10" height="10">');
    case '/favicon.ico':
      return { headers: { 'content-type': 'image/svg+xml' }, body: '<svg xmlns="http://www.w3.org/2000/svg"/>' };
    case '/stub.js':
      return js(fixture('stub.js'));
    default:
      return null;
  }
}

// Like the server's demo listener: `{{BECKON_URL}}` becomes the Beckon origin, strict CSP.
function demoServer(url) {
  const name = url.pathname === '/' ? 'index.html' : url.pathname.slice(1);
  const extension = name.slice(name.lastIndexOf('.'));
  if (name.includes('/') || !DEMO_TYPES[extension]) return null;
  let body;
  try {
    body = readFileSync(new URL(name, DEMO), 'utf8');
  } catch {
    return null;
  }
  return {
    headers: { 'content-type': DEMO_TYPES[extension], 'content-security-policy': `${hostCsp()}; img-src 'self'` },
    body: body.replaceAll('{{BECKON_URL}}', beckon),
  };
}

function beckonServer(url) {
  if (url.pathname === '/beckon.js') return js(readFileSync(LOADER_PATH, 'utf8'));
  if (url.pathname.startsWith('/widget/')) {
    const parent = url.searchParams.get('parent');
    return html('<!doctype html><html><head><meta charset="utf-8"><title>Fixture widget</title><script src="/fixture/widget.js"></script></head><body></body></html>', {
      'content-security-policy': `default-src 'self'; frame-ancestors ${parent}`,
    });
  }
  return rogueServer(url) || (url.pathname === '/fixture/widget.js' ? js(fixture('widget.js')) : null);
}

function rogueServer(url) {
  if (url.pathname === '/fixture/rogue.html') {
    return html('<!doctype html><html><head><meta charset="utf-8"><title>Rogue</title><script src="/fixture/rogue.js"></script></head><body></body></html>', {
      'content-security-policy': "default-src 'self'",
    });
  }
  if (url.pathname === '/fixture/rogue.js') return js(fixture('rogue.js'));
  return null;
}

before(async () => {
  host = await startServer((url) => hostPage(url));
  beckon = await startServer((url) => beckonServer(url));
  evil = await startServer((url) => rogueServer(url));
  demo = await startServer((url) => demoServer(url));
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  for (const server of servers) server.close();
});

/**
 * Opens a host page in a fresh context and returns the page, the watched problems,
 * and the widget frame once its fixture script is running.
 */
async function open(t, path, { locale = 'en-US', referer, origin = host } = {}) {
  const context = await browser.newContext({ locale });
  t.after(() => context.close());
  const problems = await watchContext(context);
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  await page.goto(origin + path, referer ? { referer } : {});
  const element = await page.waitForSelector('iframe[title="Beckon chat"]', { state: 'attached' });
  const frame = await element.contentFrame();
  await frame.waitForFunction(() => window.fixture !== undefined);
  return { context, page, frame, problems };
}

/** Waits until the widget has received at least `count` messages, then returns them all. */
async function receivedAtLeast(frame, count) {
  await frame.waitForFunction((n) => window.received.length >= n, count, { timeout: WAIT_MS });
  return frame.evaluate(() => window.received);
}

async function waitForContext(frame, id) {
  const handle = await frame.waitForFunction((wanted) => window.received.find((m) => m.type === 'context' && m.id === wanted), id, {
    timeout: WAIT_MS,
  });
  return handle.jsonValue();
}

function iframeBox(page) {
  return page.evaluate(() => {
    const iframe = document.querySelector('iframe[title="Beckon chat"]');
    const rect = iframe.getBoundingClientRect();
    return { width: rect.width, height: rect.height, visibility: getComputedStyle(iframe).visibility };
  });
}

function assertNoProblems(problems) {
  assert.deepEqual(problems.violations, [], describeProblems(problems));
  assert.deepEqual(problems.consoleErrors, [], describeProblems(problems));
  assert.deepEqual(problems.pageErrors, [], describeProblems(problems));
}

// What a visitor's browser receives is the brotli form; the plain text stays small enough to read.
test('the loader stays under 2.5 KB on the wire and 7 KB as written', () => {
  const text = readFileSync(LOADER_PATH);
  const wire = brotliCompressSync(text).length;
  assert.ok(wire < 2.5 * 1024, `www/beckon.js is ${wire} bytes with brotli`);
  assert.ok(text.length < 7 * 1024, `www/beckon.js is ${text.length} bytes`);
});

test('creates one hidden iframe pointing at the site widget with the parent origin', async (t) => {
  const { page, frame, problems } = await open(t, '/basic.html');
  const iframes = await page.evaluate(() =>
    [...document.querySelectorAll('iframe')].map((iframe) => ({ src: iframe.src, title: iframe.title, allow: iframe.getAttribute('allow') })),
  );
  assert.deepEqual(iframes, [{ src: `${beckon}/widget/shop?parent=${encodeURIComponent(host)}&lang=en`, title: 'Beckon chat', allow: null }]);
  assert.equal(await frame.evaluate(() => window.fixture.parentOrigin), host);

  // Hidden even after the widget is ready and has its page view: only `layout` shows it.
  await receivedAtLeast(frame, 1);
  assert.deepEqual(await iframeBox(page), { width: 0, height: 0, visibility: 'hidden' });
  assertNoProblems(problems);
});

test('layout messages resize, show and hide the iframe, fixed at the bottom right or left', async (t) => {
  const { page, frame, problems } = await open(t, '/basic.html');
  const viewport = page.viewportSize();

  await frame.evaluate(() => window.fixture.layout('invitation', 320, 120));
  await page.waitForFunction(() => document.querySelector('iframe[title="Beckon chat"]').getBoundingClientRect().width === 320);
  const placed = await page.evaluate(() => {
    const iframe = document.querySelector('iframe[title="Beckon chat"]');
    const rect = iframe.getBoundingClientRect();
    const style = getComputedStyle(iframe);
    return {
      rect: { top: rect.top, left: rect.left, width: rect.width, height: rect.height },
      position: style.position,
      visibility: style.visibility,
      zIndex: style.zIndex,
      borderWidth: style.borderTopWidth,
      background: style.backgroundColor,
      colorScheme: style.colorScheme,
    };
  });
  assert.deepEqual(placed, {
    rect: { top: viewport.height - 16 - 120, left: viewport.width - 16 - 320, width: 320, height: 120 },
    position: 'fixed',
    visibility: 'visible',
    zIndex: '2147483647',
    borderWidth: '0px',
    background: 'rgba(0, 0, 0, 0)',
    colorScheme: 'normal',
  });

  await frame.evaluate(() => window.fixture.layout('chat', 360, 520));
  await page.waitForFunction(() => document.querySelector('iframe[title="Beckon chat"]').getBoundingClientRect().height === 520);
  assert.deepEqual(await iframeBox(page), { width: 360, height: 520, visibility: 'visible' });

  // A site that chose the left corner: the widget says so when it is ready.
  await frame.evaluate(() => window.fixture.post({ type: 'ready', side: 'left' }));
  await frame.evaluate(() => window.fixture.layout('launcher', 180, 60));
  await page.waitForFunction(() => document.querySelector('iframe[title="Beckon chat"]').getBoundingClientRect().width === 180);
  const left = await page.evaluate(() => document.querySelector('iframe[title="Beckon chat"]').getBoundingClientRect());
  assert.deepEqual({ left: left.left, top: left.top }, { left: 16, top: viewport.height - 16 - 60 });
  await frame.evaluate(() => window.fixture.post({ type: 'ready' }));
  await frame.evaluate(() => window.fixture.layout('chat', 360, 520));
  await page.waitForFunction(() => document.querySelector('iframe[title="Beckon chat"]').getBoundingClientRect().width === 360);
  const right = await page.evaluate(() => document.querySelector('iframe[title="Beckon chat"]').getBoundingClientRect());
  assert.deepEqual({ left: right.left, width: right.width }, { left: viewport.width - 16 - 360, width: 360 }, 'without `side`, the right corner');

  // A size larger than the viewport is capped to leave the 16 px margins.
  await frame.evaluate(() => window.fixture.layout('chat', 5000, 5000));
  await page.waitForFunction(() => document.querySelector('iframe[title="Beckon chat"]').getBoundingClientRect().height > 520);
  assert.deepEqual(await iframeBox(page), { width: viewport.width - 32, height: viewport.height - 32, visibility: 'visible' });

  // Malformed layouts are ignored; the following valid one proves they were processed.
  await frame.evaluate(() => {
    window.fixture.layout('chat', 'wide', 100);
    window.fixture.layout('fullscreen', 100, 100);
    window.fixture.layout('chat', -5, 100);
    window.fixture.layout('hidden', 999, 999);
  });
  await page.waitForFunction(() => document.querySelector('iframe[title="Beckon chat"]').getBoundingClientRect().width === 0);
  assert.deepEqual(await iframeBox(page), { width: 0, height: 0, visibility: 'hidden' });
  assertNoProblems(problems);
});

test('a widget that hides with the focus in it gives the focus back to where it was on the page', async (t) => {
  const { page, frame, problems } = await open(t, '/focus.html');
  const focused = () => page.evaluate(() => (document.activeElement.tagName === 'IFRAME' ? 'iframe' : document.activeElement.id));
  await frame.evaluate(() => window.fixture.layout('chat', 360, 520));
  await page.waitForFunction(() => document.querySelector('iframe[title="Beckon chat"]').getBoundingClientRect().width === 360);
  // The visitor was on the page's Help button, then went into the widget (a panel takes the focus).
  await page.locator('#help').focus();
  await frame.evaluate(() => {
    const button = document.createElement('button');
    button.textContent = 'Close';
    document.body.append(button);
    button.focus();
  });
  assert.equal(await focused(), 'iframe');
  await frame.evaluate(() => window.fixture.layout('hidden', 0, 0));
  await page.waitForFunction(() => document.activeElement.id === 'help');

  // Hiding while the visitor is elsewhere on the page (an invitation expiring as they type) moves nothing.
  await frame.evaluate(() => window.fixture.layout('invitation', 320, 120));
  await page.locator('#search').focus();
  await frame.evaluate(() => window.fixture.layout('hidden', 0, 0));
  await page.waitForFunction(() => document.querySelector('iframe[title="Beckon chat"]').getBoundingClientRect().width === 0);
  assert.equal(await focused(), 'search');
  assertNoProblems(problems);
});

test('sends a page view after ready with the page details', async (t) => {
  const referer = `${host}/from.html`;
  const { frame, problems } = await open(t, '/basic.html', { locale: 'de-DE', referer });
  const [{ started, ...page }] = await receivedAtLeast(frame, 1);
  const loaderRan = await frame.evaluate(() => window.fixture.parentOrigin && Date.now());
  assert.ok(Number.isFinite(started) && started <= loaderRan && started > loaderRan - WAIT_MS, `started: ${started}`);
  assert.deepEqual(page, {
    beckon: 1,
    type: 'page',
    url: `${host}/basic.html`,
    path: '/basic.html',
    referrer: referer,
    title: 'Loader test',
    visible: true,
    language: 'de-DE',
  });
  assertNoProblems(problems);
});

test("the iframe waits for the host page's load event", async (t) => {
  const context = await browser.newContext();
  t.after(() => context.close());
  const problems = await watchContext(context);
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  const image = held.next();
  await page.goto(`${host}/held-image.html`, { waitUntil: 'commit' });
  // The loader has run (it installed its API), but the page is still loading its image: no iframe yet.
  await page.waitForFunction(() => window.Beckon && window.Beckon.loaded === true);
  await image.requested;
  assert.equal(await page.evaluate(() => document.readyState), 'interactive');
  assert.equal(await page.locator('iframe[title="Beckon chat"]').count(), 0);
  image.release();
  const element = await page.waitForSelector('iframe[title="Beckon chat"]', { state: 'attached' });
  assert.equal(await page.evaluate(() => document.readyState), 'complete');
  const frame = await element.contentFrame();
  await frame.waitForFunction(() => window.fixture !== undefined);
  await receivedAtLeast(frame, 1);
  assertNoProblems(problems);
});

test('a blocking script in <head> waits for <body> before mounting the iframe', async (t) => {
  const { page, frame, problems } = await open(t, '/sync-head.html');
  const [message] = await receivedAtLeast(frame, 1);
  assert.equal(message.path, '/sync-head.html');
  assert.equal(await page.evaluate(() => document.querySelector('iframe[title="Beckon chat"]').parentElement.tagName), 'BODY');
  assertNoProblems(problems);
});

test('buffers events until the widget is ready, then sends the current page first', async (t) => {
  const { page, frame, problems } = await open(t, '/lazy.html');
  await page.evaluate(() => {
    window.Beckon.track('one');
    history.pushState({}, '', '/lazy/step-2');
    window.Beckon.track('two');
  });
  await frame.evaluate(() => window.fixture.ready());
  const received = await receivedAtLeast(frame, 3);
  assert.deepEqual(
    received.map((m) => [m.type, m.path ?? m.name]),
    [
      ['page', '/lazy/step-2'],
      ['track', 'one'],
      ['track', 'two'],
    ],
  );
  // The navigation before ready still counts as coming from the first page.
  assert.equal(received[0].referrer, `${host}/lazy.html`);

  // After ready, events go straight through.
  await page.evaluate(() => window.Beckon.track('three'));
  const after = await receivedAtLeast(frame, 4);
  assert.deepEqual(after[3], { beckon: 1, type: 'track', name: 'three' });
  assert.equal(after.length, 4);
  assertNoProblems(problems);
});

test('SPA navigations send new page views, once per URL change', async (t) => {
  const { page, frame, problems } = await open(t, '/spa/start.html');
  await receivedAtLeast(frame, 1);

  await page.evaluate(() => history.pushState({ step: 1 }, '', '/spa/pricing?plan=pro'));
  let received = await receivedAtLeast(frame, 2);
  assert.deepEqual(
    { type: received[1].type, url: received[1].url, path: received[1].path, referrer: received[1].referrer },
    { type: 'page', url: `${host}/spa/pricing?plan=pro`, path: '/spa/pricing', referrer: `${host}/spa/start.html` },
  );

  // replaceState with the same URL is not a navigation; with a new URL it is.
  await page.evaluate(() => {
    history.replaceState({ step: 1, again: true }, '');
    history.replaceState({ step: 2 }, '', '/spa/checkout');
  });
  received = await receivedAtLeast(frame, 3);
  assert.equal(received[2].path, '/spa/checkout');

  // A hash change fires both popstate and hashchange: one page view.
  await page.evaluate(() => {
    location.hash = '#faq';
  });
  received = await receivedAtLeast(frame, 4);
  assert.equal(received[3].url, `${host}/spa/checkout#faq`);

  await page.evaluate(() => history.back());
  received = await receivedAtLeast(frame, 5);
  assert.equal(received[4].url, `${host}/spa/checkout`);
  assert.deepEqual(
    received.map((m) => m.type),
    ['page', 'page', 'page', 'page', 'page'],
  );
  assertNoProblems(problems);
});

test('visibility changes are forwarded and reflected in later page views', async (t) => {
  const { page, frame, problems } = await open(t, '/basic.html');
  await receivedAtLeast(frame, 1);
  // Headless Chromium never hides a page (no minimising, no background tabs), so
  // override the state the loader reads and fire the real event it listens to.
  await page.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
    document.dispatchEvent(new Event('visibilitychange'));
    history.pushState({}, '', '/basic.html?while-hidden');
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'visible' });
    document.dispatchEvent(new Event('visibilitychange'));
  });
  const received = await receivedAtLeast(frame, 4);
  assert.deepEqual(received.slice(1), [
    { beckon: 1, type: 'visibility', visible: false },
    { ...received[2], type: 'page', visible: false },
    { beckon: 1, type: 'visibility', visible: true },
  ]);
  assertNoProblems(problems);
});

test('track sends named events and ignores non-string names', async (t) => {
  const { page, frame, problems } = await open(t, '/basic.html');
  await receivedAtLeast(frame, 1);
  const returned = await page.evaluate(() => {
    const results = [window.Beckon.track(42), window.Beckon.track(''), window.Beckon.track()];
    window.Beckon.track('added_to_cart');
    return results;
  });
  assert.deepEqual(returned, [undefined, undefined, undefined]);
  const received = await receivedAtLeast(frame, 2);
  assert.deepEqual(received.slice(1), [{ beckon: 1, type: 'track', name: 'added_to_cart' }]);
  assertNoProblems(problems);
});

test('the pointer leaving through the top edge sends exit-intent', async (t) => {
  const { page, frame, problems } = await open(t, '/basic.html');
  await receivedAtLeast(frame, 1);
  // Leaving through the side is not an exit intent; the top edge is.
  await page.mouse.move(200, 200);
  await page.mouse.move(-5, 200);
  await page.mouse.move(200, 200);
  await page.mouse.move(200, -5);
  const received = await receivedAtLeast(frame, 2);
  assert.deepEqual(received.slice(1), [{ beckon: 1, type: 'exit-intent' }]);
  assertNoProblems(problems);
});

test('calls queued through the stub before the loader ran are replayed', async (t) => {
  const { page, frame, problems } = await open(t, '/stub.html');
  const received = await receivedAtLeast(frame, 2);
  assert.deepEqual(
    received.map((m) => [m.type, m.path ?? m.name]),
    [
      ['page', '/stub.html'],
      ['track', 'early'],
    ],
  );
  await frame.evaluate(() => window.fixture.requestContext(1));
  assert.deepEqual(await waitForContext(frame, 1), { beckon: 1, type: 'context', id: 1, vars: { source: 'stub' } });

  // The same pattern keeps working after the loader replaced the stub.
  await page.evaluate(() => {
    window.Beckon = window.Beckon || { q: [] };
    window.Beckon.q.push(['track', 'late']);
  });
  const later = await receivedAtLeast(frame, 4);
  assert.deepEqual(later[3], { beckon: 1, type: 'track', name: 'late' });
  assertNoProblems(problems);
});

test('context requests are answered from the provider: none, sync, async, throwing, rejecting', async (t) => {
  const { page, frame, problems } = await open(t, '/basic.html');
  await receivedAtLeast(frame, 1);

  await frame.evaluate(() => window.fixture.requestContext(1));
  assert.deepEqual(await waitForContext(frame, 1), { beckon: 1, type: 'context', id: 1, vars: {} });

  // Only flat strings, finite numbers and booleans survive.
  await page.evaluate(() =>
    window.Beckon.setContextProvider(() => ({
      plan: 'pro',
      cart_value: 42,
      returning: false,
      not_a_number: NaN,
      infinite: Infinity,
      nested: { a: 1 },
      list: [1, 2],
      nothing: null,
      missing: undefined,
      callback() {},
      symbol: Symbol('s'),
      big: 10n,
      when: new Date(0),
    })),
  );
  await frame.evaluate(() => window.fixture.requestContext(2));
  assert.deepEqual(await waitForContext(frame, 2), { beckon: 1, type: 'context', id: 2, vars: { plan: 'pro', cart_value: 42, returning: false } });

  // A Promise is awaited: no answer until it settles.
  await page.evaluate(() =>
    window.Beckon.setContextProvider(
      () =>
        new Promise((resolve) => {
          window.releaseContext = resolve;
        }),
    ),
  );
  await frame.evaluate(() => window.fixture.requestContext(3));
  await page.waitForFunction(() => typeof window.releaseContext === 'function');
  assert.equal(await frame.evaluate(() => window.received.some((m) => m.id === 3)), false);
  await page.evaluate(() => window.releaseContext({ plan: 'async', tags: ['dropped'] }));
  assert.deepEqual(await waitForContext(frame, 3), { beckon: 1, type: 'context', id: 3, vars: { plan: 'async' } });

  await page.evaluate(() =>
    window.Beckon.setContextProvider(() => {
      throw new Error('boom');
    }),
  );
  await frame.evaluate(() => window.fixture.requestContext(4));
  assert.deepEqual(await waitForContext(frame, 4), { beckon: 1, type: 'context', id: 4, vars: {}, error: 'boom' });

  await page.evaluate(() => window.Beckon.setContextProvider(() => Promise.reject(new Error('nope'))));
  await frame.evaluate(() => window.fixture.requestContext(5));
  assert.deepEqual(await waitForContext(frame, 5), { beckon: 1, type: 'context', id: 5, vars: {}, error: 'nope' });

  // A getter that throws while the answer is read is the provider's error too.
  await page.evaluate(() =>
    window.Beckon.setContextProvider(() => ({
      plan: 'pro',
      get broken() {
        throw new Error('getter');
      },
    })),
  );
  await frame.evaluate(() => window.fixture.requestContext(7));
  assert.deepEqual(await waitForContext(frame, 7), { beckon: 1, type: 'context', id: 7, vars: {}, error: 'getter' });

  // A non-object answer is no variables, not an error.
  await page.evaluate(() => window.Beckon.setContextProvider(() => 'just a string'));
  await frame.evaluate(() => window.fixture.requestContext(6));
  assert.deepEqual(await waitForContext(frame, 6), { beckon: 1, type: 'context', id: 6, vars: {} });
  assertNoProblems(problems);
});

test('the identity token is asked for only when the widget asks for it, and a failing provider still answers', async (t) => {
  const { page, frame, problems } = await open(t, '/basic.html');
  await receivedAtLeast(frame, 1);
  await page.evaluate(() => {
    window.tokenCalls = 0;
    window.Beckon.setAuthenticationTokenProvider(() => {
      window.tokenCalls += 1;
      return Promise.resolve('header.claims.signature');
    });
  });
  // The rules' context requests never call it.
  await frame.evaluate(() => window.fixture.requestContext(1));
  assert.deepEqual(await waitForContext(frame, 1), { beckon: 1, type: 'context', id: 1, vars: {} });
  assert.equal(await page.evaluate(() => window.tokenCalls), 0);
  // A chat's request does, and the token goes with the variables.
  await frame.evaluate(() => window.fixture.requestContext(2, true));
  assert.deepEqual(await waitForContext(frame, 2), { beckon: 1, type: 'context', id: 2, vars: {}, token: 'header.claims.signature' });
  assert.equal(await page.evaluate(() => window.tokenCalls), 1);
  // A provider that throws, rejects or gives something else leaves the token out; the answer still comes.
  for (const [id, provider] of [
    [3, () => { throw new Error('no session'); }],
    [4, () => Promise.reject(new Error('expired'))],
    [5, () => ({ token: 'not a string' })],
  ]) {
    await page.evaluate((source) => window.Beckon.setAuthenticationTokenProvider(eval(source)), provider.toString());
    await frame.evaluate((id) => window.fixture.requestContext(id, true), id);
    assert.deepEqual(await waitForContext(frame, id), { beckon: 1, type: 'context', id, vars: {} });
  }
  assertNoProblems(problems);
});

test('messages from other windows and origins are ignored', async (t) => {
  const { page, frame, problems } = await open(t, '/rogue.html');
  await receivedAtLeast(frame, 1);
  const rogues = [];
  for (const title of ['rogue-evil', 'rogue-beckon']) {
    const rogue = await (await page.waitForSelector(`iframe[title="${title}"]`)).contentFrame();
    await rogue.waitForFunction(() => window.rogue !== undefined);
    rogues.push(rogue);
  }
  const impostor = [
    { beckon: 1, type: 'layout', mode: 'chat', width: 400, height: 500 },
    { beckon: 1, type: 'context-request', id: 99 },
    { beckon: 1, type: 'ready' },
  ];
  for (const rogue of rogues) {
    await rogue.evaluate((messages) => messages.forEach((m) => window.rogue.post(m)), impostor);
  }
  // The host page itself is not the widget either.
  await page.evaluate((messages) => messages.forEach((m) => window.postMessage(m, '*')), impostor);

  // Messages are dispatched in order, so once the widget's own request is answered
  // every impostor message has been seen and dropped.
  await frame.evaluate(() => window.fixture.requestContext(7));
  await waitForContext(frame, 7);
  const received = await frame.evaluate(() => window.received);
  assert.deepEqual(
    received.map((m) => [m.type, m.id]),
    [
      ['page', undefined],
      ['context', 7],
    ],
  );
  assert.deepEqual(await iframeBox(page), { width: 0, height: 0, visibility: 'hidden' });

  // Messages without the protocol marker from the real widget are ignored too.
  await frame.evaluate(() => {
    window.parent.postMessage({ type: 'layout', mode: 'chat', width: 300, height: 300 }, window.fixture.parentOrigin);
    window.fixture.requestContext(8);
  });
  await waitForContext(frame, 8);
  assert.deepEqual(await iframeBox(page), { width: 0, height: 0, visibility: 'hidden' });

  // The widget's own window, navigated to another origin, is still the iframe's
  // contentWindow: only the origin check stops it. A page listener added after the
  // loader's runs after it, so once it has seen the message the loader has too.
  await page.evaluate(() => {
    window.seenFromNavigatedWidget = [];
    window.addEventListener('message', (event) => window.seenFromNavigatedWidget.push(event.origin));
  });
  await frame.evaluate((target) => {
    location.href = target;
  }, `${evil}/fixture/rogue.html`);
  await frame.waitForURL(`${evil}/fixture/rogue.html`);
  await frame.waitForFunction(() => window.rogue !== undefined);
  await frame.evaluate(() => window.rogue.post({ beckon: 1, type: 'layout', mode: 'chat', width: 400, height: 500 }));
  await page.waitForFunction((origin) => window.seenFromNavigatedWidget.includes(origin), evil);
  assert.deepEqual(await iframeBox(page), { width: 0, height: 0, visibility: 'hidden' });
  assertNoProblems(problems);
});

test('including the script twice creates one iframe and one page view', async (t) => {
  const { page, frame, problems } = await open(t, '/twice.html');
  // page.goto waited for `load`, which waits for both async scripts to run.
  const scripts = await page.evaluate(() => performance.getEntriesByType('resource').filter((e) => e.name.includes('/beckon.js')).length);
  assert.equal(scripts, 2);
  assert.equal(await page.locator('iframe').count(), 1);
  await frame.evaluate(() => window.fixture.requestContext(1));
  await waitForContext(frame, 1);
  assert.deepEqual(
    (await frame.evaluate(() => window.received)).map((m) => m.type),
    ['page', 'context'],
  );
  assertNoProblems(problems);
});

test('the demo shop pages load cleanly under a strict CSP and feed the loader', async (t) => {
  for (const name of ['index.html', 'pricing.html', 'checkout.html']) {
    const { page, frame, problems } = await open(t, `/${name}`, { origin: demo });
    const [view] = await receivedAtLeast(frame, 1);
    assert.equal(view.path, `/${name}`);
    assert.match(view.title, /Beckon demo shop/);
    assert.equal(await page.locator('nav a[aria-current="page"]').getAttribute('href'), name);
    assertNoProblems(problems);
  }

  const { page, frame, problems } = await open(t, '/product.html', { origin: demo });
  await receivedAtLeast(frame, 1);
  await page.getByRole('button', { name: 'Add to cart' }).click();
  const received = await receivedAtLeast(frame, 2);
  assert.deepEqual(received[1], { beckon: 1, type: 'track', name: 'added_to_cart' });
  await frame.evaluate(() => window.fixture.requestContext(1));
  assert.deepEqual((await waitForContext(frame, 1)).vars, { plan: 'pro', cart_value: 42, customer_tier: 'gold' });
  assert.equal(await page.getByRole('status').textContent(), 'Added to your cart.');
  assertNoProblems(problems);
});

test('the CSP watcher catches violations, so the zero-violation checks mean something', async (t) => {
  const { page, problems } = await open(t, '/basic.html');
  const violation = once(problems.events, 'violation');
  await page.evaluate(() => {
    const element = document.createElement('div');
    element.setAttribute('style', 'color: red');
    document.body.appendChild(element);
  });
  const [entry] = await violation;
  assert.equal(entry.effectiveDirective, 'style-src-attr');
  assert.equal(entry.frameUrl, `${host}/basic.html`);
});
