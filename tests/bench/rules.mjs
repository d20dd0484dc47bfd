// Benchmark, not a test: one evaluation of 1,000 rules against one visit, in WebAssembly (the rules crate
// as the widget ships it, in Chromium and in Node) and with json-rules-engine on an equivalent rule set, in
// one run so the ratio compares like with like. Run with `cargo xtask bench` (which builds the probe first).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Engine } from 'json-rules-engine';
import { launchBrowser } from '../lib/browser.mjs';

const PROBE = fileURLToPath(new URL('../.probe', import.meta.url));
const RULES = 1000;

function summary(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q) => sorted[Math.floor((sorted.length - 1) * q)];
  return { median: at(0.5), p99: at(0.99) };
}

// Times `run(batch)` calls (each evaluating the rule set `batch` times) and returns µs per evaluation.
// Batches make timer resolution irrelevant (Chromium coarsens performance.now to 100 µs).
function timeBatches(run, batch, batches) {
  run(batch); // warm up
  const samples = [];
  for (let i = 0; i < batches; i += 1) {
    const started = performance.now();
    const fired = run(batch);
    const elapsed = performance.now() - started;
    if (fired !== 0) throw new Error(`the workload must not fire a rule (fired ${fired})`);
    samples.push((elapsed * 1000) / batch);
  }
  return summary(samples);
}

async function wasmInChromium() {
  const browser = await launchBrowser();
  try {
    const page = await (await browser.newContext()).newPage();
    await page.route('http://probe.test/**', (route) => {
      const name = new URL(route.request().url()).pathname.slice(1);
      if (name === '') return route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>bench</title>' });
      return route.fulfill({ contentType: name.endsWith('.wasm') ? 'application/wasm' : 'text/javascript', body: readFileSync(join(PROBE, name)) });
    });
    await page.goto('http://probe.test/');
    const samples = await page.evaluate(async (rules) => {
      const probe = await import('/probe.js');
      await probe.default({ module_or_path: '/probe_bg.wasm' });
      const bench = new probe.Bench(rules);
      if (bench.rules() !== rules) throw new Error(`only ${bench.rules()} rules parsed`);
      const time = (run) => {
        run(200); // warm up
        const perEvaluation = [];
        for (let i = 0; i < 50; i += 1) {
          const started = performance.now();
          if (run(200) !== 0) throw new Error('the workload must not fire a rule');
          perEvaluation.push(((performance.now() - started) * 1000) / 200);
        }
        return perEvaluation;
      };
      return { waiting: time((n) => bench.run(n)), dwelling: time((n) => bench.run_dwelling(n)) };
    }, RULES);
    return { waiting: summary(samples.waiting), dwelling: summary(samples.dwelling) };
  } finally {
    await browser.close();
  }
}

async function wasmInNode() {
  const probe = await import(join(PROBE, 'probe.js'));
  probe.initSync({ module: readFileSync(join(PROBE, 'probe_bg.wasm')) });
  const bench = new probe.Bench(RULES);
  return { waiting: timeBatches((n) => bench.run(n), 200, 50), dwelling: timeBatches((n) => bench.run_dwelling(n), 200, 50) };
}

async function jsonRulesEngine() {
  const engine = new Engine([], { allowUndefinedFacts: true });
  engine.addOperator('startsWith', (fact, value) => typeof fact === 'string' && fact.startsWith(value));
  for (let index = 0; index < RULES; index += 1) {
    engine.addRule({
      name: `rule-${index}`,
      priority: 1 + (index % 7),
      conditions: {
        all: [
          {
            any: [
              { fact: 'path', operator: 'startsWith', value: `/products/${index}` },
              { fact: 'pageViews', params: { prefix: `/compare/${index}` }, operator: 'greaterThanInclusive', value: 2 },
            ],
          },
          { fact: 'timeOnPage', operator: 'greaterThanInclusive', value: 30 },
          { not: { fact: 'events', operator: 'contains', value: 'purchased' } },
          { fact: 'cartValue', operator: 'greaterThanInclusive', value: index },
        ],
      },
      event: { type: `rule-${index}` },
    });
  }
  const pages = ['/', '/pricing', '/products/lamp'];
  const facts = () => ({
    path: '/products/lamp',
    pageViews: (params) => pages.filter((page) => page.startsWith(params.prefix)).length,
    timeOnPage: 20,
    events: ['added_to_cart'],
  });
  await engine.run(facts()); // warm up
  const samples = [];
  for (let i = 0; i < 30; i += 1) {
    const started = performance.now();
    const { events } = await engine.run(facts());
    samples.push((performance.now() - started) * 1000);
    if (events.length !== 0) throw new Error('the workload must not fire a rule');
  }
  return summary(samples);
}

const format = ({ median, p99 }) => `median ${median.toFixed(2)} µs, p99 ${p99.toFixed(2)} µs`;
const chromium = await wasmInChromium();
const node = await wasmInNode();
const jre = await jsonRulesEngine();
console.log(`rules, ${RULES} per evaluation (none fires, so all are evaluated):`);
console.log('  (waiting: 20 s into the page, every rule still waits for its 30 s; dwelling: 40 s in, every page pattern is matched)');
console.log(`  wasm in Chromium, waiting   ${format(chromium.waiting)}   (target ≤ 50 µs; per evaluation, from batches of 200)`);
console.log(`  wasm in Chromium, dwelling  ${format(chromium.dwelling)}`);
console.log(`  wasm in Node, waiting       ${format(node.waiting)}`);
console.log(`  wasm in Node, dwelling      ${format(node.dwelling)}`);
console.log(`  json-rules-engine (Node)    ${format(jre)}`);
console.log(`  json-rules-engine / wasm in Chromium: ${(jre.median / chromium.waiting.median).toFixed(0)}× (waiting), ${(jre.median / chromium.dwelling.median).toFixed(0)}× (dwelling), medians`);
