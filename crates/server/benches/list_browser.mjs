// The web UI's application list in Chromium (driven by benches/list.rs):
// logs in once, then loads the list page RUNS times and measures, inside the
// page, the time from the start of navigation until every application's row
// is on screen (all TRELLIS_BENCH_APPS rows in the DOM and a frame painted).
// Prints {"runs_ms": [...], "median_ms": N} on stdout.

import { log, newPage, run, shot } from '../../testkit/browser/lib.mjs';

const url = process.env.TRELLIS_URL;
const password = process.env.TRELLIS_PASSWORD;
const apps = Number(process.env.TRELLIS_BENCH_APPS);
const runs = Number(process.env.TRELLIS_BENCH_RUNS || 5);

await run(async (browser, report) => {
  const { page, problems } = await newPage(browser);
  report.page = page;
  const login = await page.request.post(`${url}/api/v1/session`, {
    data: { username: 'admin', password },
  });
  if (!login.ok()) throw new Error(`login: ${login.status()} ${await login.text()}`);
  const times = [];
  // One warm-up load (cold caches of a fresh browser profile), then RUNS.
  for (let i = 0; i <= runs; i++) {
    await page.goto(url, { waitUntil: 'commit' });
    const ms = await page.evaluate(
      (expected) =>
        new Promise((resolve, reject) => {
          const deadline = performance.now() + 60000;
          const check = () => {
            if (document.querySelectorAll('[data-testid=app-row]').length >= expected) {
              // The rows exist; the next frame is when they are painted.
              const rows = performance.now();
              const list = performance
                .getEntriesByType('resource')
                .find((e) => /\/api\/v1\/applications$/.test(e.name));
              requestAnimationFrame(() =>
                resolve({ painted: performance.now(), rows, fetched: list ? list.responseEnd : null }),
              );
            } else if (performance.now() > deadline) {
              reject(new Error(`only ${document.querySelectorAll('[data-testid=app-row]').length} rows after 60 s`));
            } else {
              requestAnimationFrame(check);
            }
          };
          check();
        }),
      apps,
    );
    if (i > 0) times.push(Math.round(ms.painted * 10) / 10);
    log(
      `load ${i}: ${ms.painted.toFixed(1)} ms (list fetched at ${ms.fetched?.toFixed(1)} ms, ` +
        `rows in the DOM at ${ms.rows.toFixed(1)} ms)${i === 0 ? ' (warm-up)' : ''}`,
    );
  }
  report.screenshots.push(await shot(page, 'list-1000'));
  const sorted = [...times].sort((a, b) => a - b);
  report.runs_ms = times;
  report.median_ms = sorted[Math.floor(sorted.length / 2)];
  report.problems = problems;
});
