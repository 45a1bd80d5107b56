// Shared support for Trellis's browser scripts: Chromium through
// playwright-core, accessibility checks through axe-core, screenshots, and
// waiting on conditions with a deadline (never fixed sleeps).
//
// The packages come from $TRELLIS_NODE_MODULES (installed by the Rust side,
// trellis_testkit::browser), Chromium from $TRELLIS_CHROMIUM, and screenshots
// go to $TRELLIS_ARTIFACTS.

import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const modules = process.env.TRELLIS_NODE_MODULES;
if (!modules) {
  throw new Error('TRELLIS_NODE_MODULES is not set: run this script through trellis_testkit::browser::node');
}
const require = createRequire(path.join(modules, 'index.js'));
const { chromium } = require('playwright-core');
const axeSource = fs.readFileSync(path.join(modules, 'axe-core', 'axe.min.js'), 'utf8');

export const artifacts = process.env.TRELLIS_ARTIFACTS || '.';

/** Progress on stderr, so it shows in the test's output as it happens. */
export function log(message) {
  process.stderr.write(`[browser] ${message}\n`);
}

/** Headless Chromium with the flags a closed network needs. */
export async function launch() {
  return chromium.launch({
    executablePath: process.env.TRELLIS_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}

/**
 * A page at 1280x800 in a fresh context that records every console error,
 * uncaught exception, failed request, 5xx answer, dialog (alert/confirm/prompt: a sign
 * that injected script ran) and CSP violation in `problems`.
 */
export async function newPage(browser, options = {}) {
  const context = await browser.newContext({
    viewport: { width: 1280, height: 800 },
    ...options,
  });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => {
    // Chromium reports every 4xx answer on the console; the scenarios
    // provoke those on purpose (a wrong password, malformed YAML, an
    // unknown application), and server errors are caught below.
    if (m.type() === 'error' && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) {
      problems.push(`console: ${m.text()}`);
    }
  });
  page.on('response', (r) => {
    if (r.status() >= 500) problems.push(`server error: ${r.status()} ${r.request().method()} ${r.url()}`);
  });
  page.on('pageerror', (e) => problems.push(`exception: ${e}`));
  page.on('dialog', async (d) => {
    problems.push(`dialog opened by script: ${d.type()} ${d.message()}`);
    await d.dismiss().catch(() => {});
  });
  page.on('requestfailed', (r) => {
    const failure = r.failure();
    // An SSE stream or fetch cut by navigation is not a problem of the page.
    if (failure && /ERR_ABORTED/.test(failure.errorText)) return;
    problems.push(`request failed: ${r.url()} ${failure ? failure.errorText : ''}`);
  });
  page.setDefaultTimeout(20000);
  return { context, page, problems };
}

/** Polls `check` until it returns a truthy value or `ms` pass. */
export async function until(what, check, ms = 30000, every = 100) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await check();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${last})`);
    }
    await new Promise((r) => setTimeout(r, every));
  }
}

/** Saves a full-viewport PNG named `name.png` in the artifacts folder. */
export async function shot(page, name) {
  const file = path.join(artifacts, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

/**
 * Runs axe-core on the page and returns the violations of impact serious or
 * critical, each as `id: help (targets)`. axe is evaluated through the
 * DevTools protocol, which the page's Content-Security-Policy does not
 * govern, so the page's own policy stays as strict as in production.
 */
export async function axe(page) {
  const hasAxe = await page.evaluate(() => typeof window.axe !== 'undefined');
  if (!hasAxe) await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.slice(0, 5).map((n) => n.target.join(' ')),
    }));
  });
  return result
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} [${v.targets.join(', ')}]`);
}

/**
 * Runs `main(report)` and prints `report` as JSON on stdout. On failure it
 * prints the error on stderr, saves a screenshot of `report.page` when one
 * is open, and exits 1.
 */
export async function run(main) {
  const report = { steps: [], screenshots: [], axe: {}, problems: [] };
  let browser;
  try {
    browser = await launch();
    report.browser = browser.version();
    await main(browser, report);
  } catch (e) {
    process.stderr.write(`[browser] FAILED: ${e && e.stack ? e.stack : e}\n`);
    if (report.page) {
      try {
        const file = await shot(report.page, 'failure');
        process.stderr.write(`[browser] screenshot of the failure: ${file}\n`);
      } catch {
        // The page may be gone; the error above is what matters.
      }
    }
    delete report.page;
    process.stdout.write(JSON.stringify({ ...report, error: String(e) }) + '\n');
    if (browser) await browser.close().catch(() => {});
    process.exit(1);
  }
  delete report.page;
  await browser.close();
  process.stdout.write(JSON.stringify(report) + '\n');
}

/** Runs one named step of a scenario, logging its duration. */
export async function step(report, name, body) {
  const started = Date.now();
  log(`${name} ...`);
  await body();
  const ms = Date.now() - started;
  report.steps.push({ name, ms });
  log(`${name}: ok (${ms} ms)`);
}
