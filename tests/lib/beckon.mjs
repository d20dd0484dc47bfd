// Starting and stopping a real `beckon serve` for the browser tests, shared by every suite.
import { execFile, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const DEMO_ROOT = fileURLToPath(new URL('../../www/demo', import.meta.url));
const KNOWLEDGE_ROOT = fileURLToPath(new URL('../../server/config/knowledge', import.meta.url));

/**
 * The configuration the browser suites and the widget benchmark run Beckon with: the server and its
 * demo shop on free loopback ports, SQLite in the working folder, the site `demo` (any origin, as the
 * demo shop's port is not known in advance) with its rules in `rules/`, and the queues `sales` and
 * `support`. `extra` is appended: more queues, workstreams, agents.
 */
/** A loopback port nothing listens on right now: for a server that must come back where open pages
 * expect it, or an origin a configuration names before the server starts. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

export function demoConfig(extra = '') {
  return `# Written by a test or benchmark; paths are relative to this file.
listen = "127.0.0.1:0"
database = "beckon.sqlite3"

[demo]
listen = "127.0.0.1:0"
site = "demo"
root = ${JSON.stringify(DEMO_ROOT)}

[[sites]]
id = "demo"
name = "Demo shop"
allowed_origins = []
rules_dir = "rules"
knowledge_dir = ${JSON.stringify(KNOWLEDGE_ROOT)}

[[queues]]
id = "sales"
name = "Sales"

[[queues]]
id = "support"
name = "Support"
${extra}`;
}

/**
 * Spawns `beckon serve --config <configPath>` in `cwd` and resolves once it has printed both listening
 * lines, with `{ server, origins: { beckon, demo }, output: { stdout, stderr } }`. `output` keeps
 * filling while the server runs, for a suite that prints it after a failure.
 */
export function startBeckon(bin, configPath, cwd, timeoutMs) {
  const server = spawn(bin, ['serve', '--config', configPath], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  server.stderr.on('data', (chunk) => {
    output.stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    const origins = {};
    const deadline = setTimeout(() => reject(new Error(`beckon serve printed no listening lines within ${timeoutMs} ms`)), timeoutMs);
    const fail = (error) => {
      clearTimeout(deadline);
      reject(error);
    };
    server.on('error', (error) => fail(new Error(`cannot run ${bin}: ${error.message}`)));
    server.on('exit', (code, signal) => fail(new Error(`beckon serve exited early (code ${code}, signal ${signal})\nstderr:\n${output.stderr}`)));
    createInterface({ input: server.stdout }).on('line', (line) => {
      output.stdout += `${line}\n`;
      const match = /^beckon: (listening on|demo site on) (http:\/\/\S+?)\/?$/.exec(line);
      if (!match) return;
      origins[match[1] === 'listening on' ? 'beckon' : 'demo'] = match[2];
      if (origins.beckon && origins.demo) {
        clearTimeout(deadline);
        resolve({ server, origins, output });
      }
    });
  });
}

/** Stops a server from `startBeckon` (SIGTERM, then SIGKILL after 5 s) and waits for it to exit. */
export async function stopBeckon(server) {
  if (!server || server.exitCode !== null || server.signalCode !== null) return;
  server.removeAllListeners('exit');
  const exited = once(server, 'exit');
  server.kill('SIGTERM');
  // A server that ignores SIGTERM must not keep the test run alive.
  const forceKill = setTimeout(() => server.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(forceKill);
}

/** Runs a one-shot `beckon` subcommand in `cwd`; resolves with its `{ stdout, stderr }`, or rejects with
 * both unless it exits 0. `env` adds to the environment (e.g. `BECKON_PASSWORD`). */
export function runBeckon(bin, args, { cwd, env = {}, timeoutMs }) {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { cwd, env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`beckon ${args.join(' ')} failed: ${error.message}\nstdout:\n${stdout}\nstderr:\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

/** A suite's end: closes the browser and stops the server; after a failure prints the server's stderr
 * and keeps the work folder for inspection, else removes it. */
export async function finishSuite({ browser, server, failed, output, workDir }) {
  await browser?.close();
  await stopBeckon(server);
  if (failed) {
    process.stderr.write(`\n--- beckon serve stderr ---\n${output.stderr}\n--- kept ${workDir} ---\n`);
  } else if (workDir) {
    rmSync(workDir, { recursive: true, force: true });
  }
}
