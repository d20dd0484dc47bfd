// Shared Chromium setup for Beckon's browser tests: launch flags and CSP-violation/console-error collection.
import { EventEmitter } from 'node:events';
import { chromium } from 'playwright-core';

const CHROMIUM_PATH = process.env.BECKON_CHROMIUM || '/usr/bin/chromium';

// Flags that keep a headless Chromium quiet and off the network: the tests may only
// talk to loopback servers they start themselves.
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-quic',
  '--disable-sync',
];

export function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

// Runs in every frame (host page and iframes, any origin) before the frame's own
// scripts, so violations caused by the very first script are caught too. The binding
// is looked up when the event fires because bindings and init scripts are installed
// independently.
function reportViolationsInit() {
  document.addEventListener('securitypolicyviolation', (event) => {
    const report = globalThis.__beckonReportViolation;
    if (typeof report === 'function') {
      report({
        documentURI: event.documentURI,
        violatedDirective: event.violatedDirective,
        effectiveDirective: event.effectiveDirective,
        blockedURI: event.blockedURI,
        sourceFile: event.sourceFile,
        lineNumber: event.lineNumber,
        sample: event.sample,
      });
    }
  });
}

/**
 * Starts collecting, for every page and frame of `context`: CSP violations (from the
 * `securitypolicyviolation` DOM event), console errors (which include Chromium's own
 * "Refused to …" CSP messages and failed loads) and uncaught page errors.
 * Call before the first navigation. `problems.events` emits `violation` as they
 * arrive, for a test that waits for one. `problems.tolerated` holds patterns of console errors a step
 * causes on purpose, for as long as it does.
 */
export async function watchContext(context) {
  const problems = { violations: [], consoleErrors: [], pageErrors: [] };
  Object.defineProperty(problems, 'events', { value: new EventEmitter() }); // kept out of JSON dumps
  // Console errors a step causes on purpose (a server it stopped), as patterns; the step empties it.
  Object.defineProperty(problems, 'tolerated', { value: [] });
  await context.exposeBinding('__beckonReportViolation', (source, violation) => {
    const entry = { frameUrl: source.frame.url(), ...violation };
    problems.violations.push(entry);
    problems.events.emit('violation', entry);
  });
  await context.addInitScript(reportViolationsInit);
  context.on('console', (message) => {
    if (message.type() === 'error' && !problems.tolerated.some((pattern) => pattern.test(message.text()))) {
      problems.consoleErrors.push(`${message.text()} (${message.location().url})`);
    }
  });
  context.on('weberror', (webError) => {
    problems.pageErrors.push(String(webError.error()));
  });
  return problems;
}

/** A readable one-string summary for assertion messages. */
export function describeProblems(problems) {
  return JSON.stringify(problems, null, 2);
}
