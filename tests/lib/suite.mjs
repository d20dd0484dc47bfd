// What the browser suites share: steps that stop after the first failure (each builds on the last),
// axe-core on a page, and screenshots when BECKON_SCREENSHOTS names a folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const SCREENSHOTS = process.env.BECKON_SCREENSHOTS;

/** A suite of steps: once one fails, the later ones are skipped, saying so. `failed()` tells the
 * suite's `after` whether to keep its work folder. */
export function steps() {
  let failed = false;
  const step = (name, body) =>
    test(name, async (t) => {
      if (failed) return t.skip('an earlier step failed');
      try {
        await body(t);
      } catch (error) {
        failed = true;
        throw error;
      }
    });
  return { step, failed: () => failed };
}

/** Runs axe-core in the page and fails on any violation, naming each. */
export async function axe(page, what, { pageRules = true } = {}) {
  await page.evaluate(AXE);
  // The widget's frame is part of the host page, not a page: the host has the page's main landmark and
  // first heading, so the two rules about a whole page do not apply inside the frame.
  const rules = pageRules ? {} : { 'landmark-one-main': { enabled: false }, 'page-has-heading-one': { enabled: false } };
  const violations = await page.evaluate(
    async (rules) => (await window.axe.run(document, { resultTypes: ['violations'], rules })).violations,
    rules,
  );
  const described = violations.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(' | ')}`);
  assert.deepEqual(described, [], `axe on ${what}`);
}

/** Saves a screenshot of the page when BECKON_SCREENSHOTS is set. */
export async function shot(page, name) {
  if (SCREENSHOTS) await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
}
