// Beckon's loader: the widget's iframe and its messages (docs/contracts.md).
(() => {
  'use strict';
  // Nothing may throw into the host page.
  const guard = (fn) => (...args) => {
    try {
      return fn(...args);
    } catch (e) {}
  };
  const on = (target, type, fn) => target.addEventListener(type, guard(fn));
  const stub = window.Beckon;
  const iframe = document.createElement('iframe');
  const pending = []; // until `ready`
  let origin;
  let ready;
  const providers = {}; // `context` (variables) and `token` (a JWT of the signed-in customer)
  let referrer = document.referrer;
  let lastHref = location.href;
  let started = Date.now();
  let before; // the host's focus before the widget

  // CSSOM passes a strict host `style-src`; !important beats host CSS.
  const css = (name, value) => iframe.style.setProperty(name, value, 'important');
  const size = (width, height, shown) => {
    css('width', width + 'px');
    css('height', height + 'px');
    css('visibility', shown ? 'visible' : 'hidden');
  };
  const isSize = (n) => typeof n === 'number' && n >= 0 && isFinite(n);
  const visible = () => document.visibilityState === 'visible';

  const send = (message) => {
    message.beckon = 1;
    iframe.contentWindow.postMessage(message, origin);
  };
  const post = (message) => (ready ? send(message) : pending.push(message));
  const sendPage = () =>
    send({ type: 'page', url: location.href, path: location.pathname, referrer, title: document.title, visible: visible(), language: navigator.language || '', started });
  // `ready` sends the current page view, never a buffered one. A hash change fires two events.
  const navigated = (always) => {
    if (!always && location.href === lastHref) return;
    referrer = lastHref;
    lastHref = location.href;
    started = Date.now();
    if (ready) sendPage();
  };

  // Only flat string/number/boolean values go on to agents.
  const sanitize = (value) => {
    const vars = {};
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [key, v] of Object.entries(value)) {
        if (typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && isFinite(v))) vars[key] = v;
      }
    }
    return vars;
  };
  const describe = (error) => {
    try {
      return String(error instanceof Error ? error.message : error);
    } catch (e) {
      return 'context provider failed';
    }
  };
  // Throwing or rejecting still answers: the widget never waits forever. A token only for a chat.
  const ask = (fn, none) => new Promise((resolve) => resolve(fn ? fn() : none));
  const answerContext = (id, wantsToken) =>
    Promise.all([
      ask(providers.context, {})
        .then(sanitize)
        .then((vars) => ({ vars }), (error) => ({ vars: {}, error: describe(error) })),
      ask(wantsToken && providers.token).catch(() => 0),
    ]).then(
      guard(([answer, token]) => {
        if (typeof token == 'string') answer.token = token;
        post(Object.assign({ type: 'context', id }, answer));
      }),
    );

  const onMessage = (event) => {
    const data = event.data;
    if (event.origin !== origin || event.source !== iframe.contentWindow || !data || data.beckon !== 1) return;
    const { type, mode, width, height } = data;
    if (type === 'ready') {
      ready = true;
      const left = data.side === 'left';
      css(left ? 'right' : 'left', 'auto');
      css(left ? 'left' : 'right', '16px');
      sendPage();
      pending.splice(0).forEach(send);
    } else if (type === 'layout' && mode === 'hidden') {
      // Focus goes back to the page.
      if (document.activeElement === iframe && before) before.focus({ preventScroll: 1 });
      size(0, 0, false);
    } else if (type === 'layout' && /^(invitation|chat|launcher)$/.test(mode) && isSize(width) && isSize(height)) {
      size(width, height, true);
    } else if (type === 'context-request' && typeof data.id === 'number') {
      answerContext(data.id, data.token === true);
    }
  };

  const setter = (name) =>
    guard((fn) => {
      if (typeof fn === 'function') providers[name] = fn;
    });
  const api = {
    loaded: true,
    setContextProvider: setter('context'),
    setAuthenticationTokenProvider: setter('token'),
    track: guard((name) => {
      if (typeof name === 'string' && name) post({ type: 'track', name });
    }),
  };
  const run = guard((call) => api[call[0]](...call.slice(1)));
  // Once the stub's queue is replayed, later `Beckon.q.push` calls run at once.
  api.q = { push: (...calls) => calls.forEach(run) };

  guard(() => {
    // A second copy of the script tag must not create a second widget.
    if (stub && stub.loaded === true) return;
    const script = document.currentScript || document.querySelector('script[data-site][src*="beckon.js"]');
    const site = script && script.getAttribute('data-site');
    if (!site) return;
    origin = new URL(script.src, location.href).origin;
    window.Beckon = api;
    if (stub && Array.isArray(stub.q)) stub.q.forEach(run);

    iframe.title = 'Beckon chat';
    const q = encodeURIComponent;
    iframe.src = `${origin}/widget/${q(site)}?parent=${q(location.origin)}&lang=${q(document.documentElement.lang)}`;
    const rules =
      'position:fixed;bottom:16px;right:16px;top:auto;left:auto;border:0;margin:0;padding:0;display:block;z-index:2147483647;' +
      'max-width:calc(100vw - 32px);max-height:calc(100vh - 32px);color-scheme:normal;background:transparent';
    for (const rule of rules.split(';')) css(...rule.split(':'));
    size(0, 0, false);

    on(window, 'message', onMessage);
    on(document, 'focusin', (event) => event.target !== iframe && (before = event.target));
    on(document, 'visibilitychange', () => ready && send({ type: 'visibility', visible: visible() }));
    on(document, 'mouseout', (event) => !event.relatedTarget && event.clientY <= 0 && post({ type: 'exit-intent' }));
    for (const name of ['pushState', 'replaceState']) {
      const original = history[name];
      history[name] = function (...args) {
        const result = original.apply(this, args);
        guard(navigated)(name === 'pushState');
        return result;
      };
    }
    on(window, 'popstate', () => navigated(false));
    on(window, 'hashchange', () => navigated(false));

    // The page's own content first: the iframe waits for `load`.
    const mount = () => iframe.parentNode || document.body.appendChild(iframe);
    if (document.readyState === 'complete') mount();
    else on(window, 'load', mount);
  })();
})();
