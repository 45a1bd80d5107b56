// The web UI end to end over `trellis up` (see tests/it/browser.rs): log in,
// watch the example applications reach Synced/Healthy, create an
// application from pasted YAML, sync it, commit a change and read its diff,
// sync again, roll back, delete — first by mouse, then the same verbs by
// keyboard only — with axe-core on every main page and fixtures that try to
// inject script.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { axe, log, newPage, run, shot, step, until } from '../../../testkit/browser/lib.mjs';

const url = process.env.TRELLIS_URL;
const password = process.env.TRELLIS_PASSWORD;
const kubeconfig = process.env.TRELLIS_KUBECONFIG;
const infra = process.env.TRELLIS_INFRA_REPO;
const EXAMPLE_APPS = 14;
const APP = 'e2e-web';
const NS = 'trellis';

function kubectl(...args) {
  return execFileSync('kubectl', ['--kubeconfig', kubeconfig, '--request-timeout=5s', ...args], {
    encoding: 'utf8',
  });
}

function git(...args) {
  return execFileSync('git', ['-C', infra, ...args], { encoding: 'utf8' }).trim();
}

/** Live replicas of the e2e application's Deployment, or null. */
function liveReplicas() {
  try {
    return Number(kubectl('get', 'deployment', 'web', '-n', APP, '-o', 'jsonpath={.spec.replicas}'));
  } catch {
    return null;
  }
}

/** Replaces `replicas: N` in the staging web Deployment and commits. */
function commitReplicas(n) {
  const file = path.join(infra, 'services/web/staging/deployment.yaml');
  const text = fs.readFileSync(file, 'utf8').replace(/replicas: \d+/, `replicas: ${n}`);
  fs.writeFileSync(file, text);
  git('-c', 'user.name=E2E', '-c', 'user.email=e2e@example.com', 'commit', '-qam', `web: ${n} replicas`);
  return git('rev-parse', 'HEAD');
}

/** The application as the API reports it (the page's own session). */
async function apiApp(page, name = APP) {
  const r = await page.request.get(`${url}/api/v1/applications/${NS}/${name}`);
  return r.ok() ? r.json() : null;
}

/**
 * Presses Tab (or `key`, e.g. Shift+Tab) until the focused element satisfies
 * `matches` (at most 80 times).
 */
async function tabTo(page, what, matches, key = 'Tab') {
  for (let i = 0; i < 80; i++) {
    await page.keyboard.press(key);
    const hit = await page.evaluate(matches);
    if (hit) return;
  }
  throw new Error(`Tab never reached ${what}`);
}

const focusedText = (text) =>
  new Function(`const e = document.activeElement; return !!e && e.textContent.trim() === ${JSON.stringify(text)};`);

const appYaml = (name) => `apiVersion: trellis.dev/v1alpha1
kind: Application
metadata:
  name: ${name}
  namespace: ${NS}
spec:
  project: default
  source:
    repoURL: https://git.example.com/platform/infrastructure.git
    targetRevision: main
    path: services/web/staging
  destination:
    server: https://kubernetes.default.svc
    namespace: ${name}
  syncPolicy:
    syncOptions:
      - CreateNamespace=true
`;

/** Waits until the open application page shows these statuses. */
async function appShows(page, sync, health) {
  await until(`the page to show ${sync}/${health}`, async () => {
    const s = await page.locator('[data-testid=app-sync-status]').first().textContent();
    const h = await page.locator('[data-testid=app-health-status]').first().textContent();
    return s.includes(sync) && h.includes(health);
  }, 60000);
}

/** A markup-laden Application: names, annotations and links that must stay text. */
function applyFixtures() {
  const fixture = {
    apiVersion: 'trellis.dev/v1alpha1',
    kind: 'Application',
    metadata: {
      name: 'markup-fixture',
      namespace: NS,
      labels: { team: 'x-script-x' },
      annotations: {
        description: '<img src=x onerror="window.__pwned=1">',
        'link.argocd.argoproj.io/external-link': 'javascript:window.__pwned=2',
      },
    },
    spec: {
      project: 'default',
      info: [
        { name: '<script>window.__pwned=3</script>', value: 'javascript:window.__pwned=4' },
      ],
      source: {
        repoURL: 'javascript:window.__pwned=5//<b>bold</b>',
        targetRevision: '<svg onload="window.__pwned=6">',
        path: '"><img src=x onerror="window.__pwned=7">',
      },
      destination: { server: 'https://kubernetes.default.svc', namespace: 'markup' },
    },
  };
  const file = path.join(process.env.TRELLIS_ARTIFACTS, 'markup-fixture.json');
  fs.writeFileSync(file, JSON.stringify(fixture));
  kubectl('apply', '-f', file);
}

async function noInjection(page, where) {
  const pwned = await page.evaluate(() => window.__pwned);
  if (pwned !== undefined) throw new Error(`script from a fixture ran on ${where}: ${pwned}`);
  const live = await page.evaluate(() =>
    [...document.querySelectorAll('a[href], [src], [srcdoc], [action], [formaction]')]
      .map((e) => e.getAttribute('href') || e.getAttribute('src') || e.getAttribute('action') || '')
      .filter((v) => /^\s*javascript:/i.test(v) || /^\s*data:text\/html/i.test(v)),
  );
  if (live.length) throw new Error(`live javascript: links on ${where}: ${live}`);
}

async function login(page, by) {
  await page.goto(url);
  if (by === 'keyboard') {
    // The password field has focus on arrival.
    await until('the password field to have focus', () =>
      page.evaluate(() => document.activeElement?.id === 'password'));
    await page.keyboard.type(password);
    await page.keyboard.press('Enter');
  } else {
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Log in' }).click();
  }
  await page.locator('[data-testid=app-row]').first().waitFor();
}

async function openApp(page, name) {
  await page.locator(`[data-testid=app-row][data-app="${NS}/${name}"] a`).first().click();
  await page.locator('[data-testid=resource-tree]').waitFor();
}

await run(async (browser, report) => {
  const { page, problems } = await newPage(browser);
  report.page = page;
  const shots = report.screenshots;

  await step(report, 'login page', async () => {
    await page.goto(url);
    await page.getByLabel('Password').waitFor();
    report.axe.login = await axe(page);
    shots.push(await shot(page, 'login'));
    await page.getByLabel('Password').fill('wrong password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').filter({ hasText: /./ }).first().waitFor();
    await login(page, 'mouse');
  });

  await step(report, `all ${EXAMPLE_APPS} example applications Synced and Healthy`, async () => {
    await until('every example application to be Synced and Healthy', async () => {
      const rows = await page.locator('[data-testid=app-row]').evaluateAll((rows) =>
        rows.map((r) => [
          r.querySelector('[data-testid=sync-status]')?.textContent ?? '',
          r.querySelector('[data-testid=health-status]')?.textContent ?? '',
        ]),
      );
      const good = rows.filter(([s, h]) => s.includes('Synced') && !s.includes('OutOfSync') && h.includes('Healthy'));
      return rows.length === EXAMPLE_APPS && good.length === EXAMPLE_APPS;
    }, 120000, 250);
    report.axe.list = await axe(page);
    shots.push(await shot(page, 'list'));
  });

  await step(report, 'create from malformed YAML: a clear error, nothing saved', async () => {
    await page.getByRole('button', { name: 'New application' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    report.axe.create = await axe(page);
    shots.push(await shot(page, 'create'));
    await dialog.getByRole('tab', { name: /YAML/ }).click();
    await dialog.locator('#new-yaml').fill('metadata:\n  name: broken\n spec: [unclosed\n');
    await dialog.getByRole('button', { name: 'Create' }).click();
    // The API's message names the line (3) of the mistake.
    await dialog.getByRole('alert').filter({ hasText: /line 3|:3:\d/i }).waitFor();
    const broken = await page.request.get(`${url}/api/v1/applications/${NS}/broken`);
    if (broken.status() !== 404) throw new Error(`a malformed create saved something: ${broken.status()}`);
    await dialog.locator('#new-yaml').fill(appYaml(APP));
    await dialog.getByRole('button', { name: 'Create' }).click();
    // The new application's page opens.
    await page.waitForURL(`**/#/apps/${NS}/${APP}`);
  });

  await step(report, 'open the application from the list: tree, OutOfSync', async () => {
    await page.getByRole('link', { name: 'Applications' }).first().click();
    await page.locator(`[data-testid=app-row][data-app="${NS}/${APP}"]`).waitFor();
    await openApp(page, APP);
    await appShows(page, 'OutOfSync', 'Missing');
    report.axe.application = await axe(page);
    shots.push(await shot(page, 'application'));
  });

  await step(report, 'sync by mouse and see it converge', async () => {
    await page.getByRole('button', { name: 'Sync', exact: true }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Synchronize' }).click();
    await appShows(page, 'Synced', 'Healthy');
    await page.locator('[data-testid=tree-node][data-kind=Pod]').first().waitFor();
    if (liveReplicas() !== 1) throw new Error(`live replicas ${liveReplicas()}, want 1`);
  });

  await step(report, 'a commit shows as a diff', async () => {
    report.commit = commitReplicas(2);
    await page.getByRole('button', { name: 'Refresh' }).click();
    await appShows(page, 'OutOfSync', 'Healthy');
    await page.locator('[data-testid=tree-node][data-kind=Deployment]').first().click();
    const diff = page.locator('[data-testid=diff]');
    await diff.waitFor();
    await until('the diff to show the replica change', async () => {
      const text = await diff.textContent();
      return /replicas: 1/.test(text) && /replicas: 2/.test(text);
    });
    report.axe.resource = await axe(page);
    shots.push(await shot(page, 'diff-unified'));
    await page.getByRole('dialog').getByRole('button', { name: 'Side by side' }).click();
    await page.locator('[data-testid=diff][data-mode=split]').waitFor();
    shots.push(await shot(page, 'diff-split'));
    await page.keyboard.press('Escape');
  });

  await step(report, 'sync the commit', async () => {
    await page.getByRole('button', { name: 'Sync', exact: true }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Synchronize' }).click();
    await appShows(page, 'Synced', 'Healthy');
    await until('2 live replicas', () => liveReplicas() === 2);
  });

  await step(report, 'roll back to the first sync', async () => {
    await page.getByRole('tab', { name: /History/ }).click();
    await until('two history rows', async () => (await page.locator('[data-testid=history-row]').count()) >= 2);
    // The oldest entry is the first sync, with 1 replica.
    const rows = page.locator('[data-testid=history-row]');
    const oldest = (await rows.count()) - 1;
    const texts = await rows.allTextContents();
    const first = texts.findIndex((t) => !t.includes(report.commit.slice(0, 7)));
    await rows.nth(first >= 0 ? first : oldest).getByRole('button', { name: 'Roll back' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Roll back' }).click();
    await until('1 live replica after the rollback', () => liveReplicas() === 1, 60000);
    shots.push(await shot(page, 'history'));
  });

  await step(report, 'a stale edit is refused and says so; nothing half-saved', async () => {
    await page.getByRole('button', { name: 'Edit', exact: true }).click();
    const dialog = page.getByRole('dialog');
    const editor = dialog.locator('#edit-yaml');
    await until('the editable YAML', async () => /resourceVersion/.test(await editor.inputValue()));
    // Someone else changes the application meanwhile.
    kubectl('annotate', 'applications.trellis.dev', APP, '-n', NS, 'owner=someone-else');
    const edited = (await editor.inputValue()).replace('targetRevision: main', 'targetRevision: stale-edit');
    await editor.fill(edited);
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.getByRole('alert').filter({ hasText: /changed|conflict|modified/i }).waitFor();
    await dialog.getByRole('button', { name: 'Reload latest' }).waitFor();
    shots.push(await shot(page, 'edit-conflict'));
    const stored = await apiApp(page);
    const source = stored.application?.spec?.source ?? stored.spec?.source;
    if (source?.targetRevision !== 'main') throw new Error(`a stale edit was saved: ${JSON.stringify(source)}`);
    await page.keyboard.press('Escape');
  });

  await step(report, 'markup in fixtures stays text', async () => {
    applyFixtures();
    await page.goto(url);
    await page.locator(`[data-testid=app-row][data-app="${NS}/markup-fixture"]`).waitFor();
    await noInjection(page, 'the list');
    await openApp(page, 'markup-fixture');
    // Every piece of markup is on the page as text.
    for (const text of [
      'description=<img src=x onerror="window.__pwned=1">',
      'link.argocd.argoproj.io/external-link=javascript:window.__pwned=2',
      '<script>window.__pwned=3</script>:',
      'javascript:window.__pwned=4',
      'javascript:window.__pwned=5//<b>bold</b>',
      '<svg onload="window.__pwned=6">',
    ]) {
      await until(`${JSON.stringify(text)} shown as text`, () =>
        page.evaluate((t) => document.body.innerText.includes(t), text));
    }
    await noInjection(page, 'the application page');
    shots.push(await shot(page, 'markup-fixture'));
  });

  await step(report, 'an unknown application says so', async () => {
    await page.goto(`${url}/#/apps/${NS}/does-not-exist`);
    await page.getByText(/not found/i).first().waitFor();
  });

  await step(report, 'by keyboard: log in, open, read the diff, sync, roll back', async () => {
    const kb = await newPage(browser);
    report.page = kb.page;
    const p = kb.page;
    await login(p, 'keyboard');
    // Search, then Tab to the application's link and open it.
    await p.getByRole('searchbox').or(p.getByLabel(/search/i)).first().focus();
    await p.keyboard.type(APP);
    await tabTo(p, `the ${APP} link`, () => {
      const e = document.activeElement;
      return !!e && e.tagName === 'A' && e.textContent.trim() === 'e2e-web';
    });
    await p.keyboard.press('Enter');
    await p.locator('[data-testid=resource-tree]').waitFor();
    await appShows(p, 'OutOfSync', 'Healthy');
    // The rolled-back application differs from git: the tree's Deployment
    // node opens with Enter and shows the diff of the commit.
    await tabTo(p, 'the Deployment node', () => {
      const e = document.activeElement;
      return !!e && e.closest('[data-testid=tree-node]')?.getAttribute('data-kind') === 'Deployment';
    });
    await p.keyboard.press('Enter');
    const diff = p.locator('[data-testid=diff]');
    await diff.waitFor();
    await until('the diff of the commit', async () => {
      const text = await diff.textContent();
      return /replicas: 1/.test(text) && /replicas: 2/.test(text);
    });
    await p.keyboard.press('Escape');
    await until('the resource dialog to close', async () => (await p.getByRole('dialog').count()) === 0);
    // Sync dialog (back up the page): open, Escape closes it and focus
    // comes back, open again.
    await tabTo(p, 'the Sync button', focusedText('Sync'), 'Shift+Tab');
    await p.keyboard.press('Enter');
    await p.getByRole('dialog').waitFor();
    await p.keyboard.press('Escape');
    await until('the dialog to close', async () => (await p.getByRole('dialog').count()) === 0);
    const back = await p.evaluate(() => document.activeElement?.textContent.trim());
    if (back !== 'Sync') throw new Error(`focus after Escape is on ${JSON.stringify(back)}, not Sync`);
    await p.keyboard.press('Enter');
    await p.getByRole('dialog').waitFor();
    await tabTo(p, 'Synchronize', focusedText('Synchronize'));
    await p.keyboard.press('Enter');
    await appShows(p, 'Synced', 'Healthy');
    await until('2 live replicas', () => liveReplicas() === 2);
    // Tabs move with the arrow keys; History holds Roll back.
    await tabTo(p, 'a tab', () => document.activeElement?.getAttribute('role') === 'tab');
    for (let i = 0; i < 6; i++) {
      const name = await p.evaluate(() => document.activeElement.textContent);
      if (/History/.test(name)) break;
      await p.keyboard.press('ArrowRight');
    }
    await p.keyboard.press('Enter');
    await p.locator('[data-testid=history-row]').first().waitFor();
    await tabTo(p, 'a Roll back button', focusedText('Roll back'));
    await p.keyboard.press('Enter');
    await p.getByRole('dialog').waitFor();
    await tabTo(p, 'the confirming Roll back', () => {
      const e = document.activeElement;
      return !!e && !!e.closest('dialog') && e.textContent.trim() === 'Roll back';
    });
    await p.keyboard.press('Enter');
    // The first Roll back offered is the newest older entry: the rollback, at 1 replica.
    await until('the rollback to bring back 1 live replica', () => liveReplicas() === 1, 60000);
    problems.push(...kb.problems);
    await kb.context.close();
    report.page = page;
  });

  await step(report, 'delete with cascade', async () => {
    await page.goto(`${url}/#/apps/${NS}/${APP}`);
    await page.locator('[data-testid=resource-tree]').waitFor();
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Delete them too (cascade)').check();
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await until('the application to be gone', async () => (await apiApp(page)) === null, 60000);
    await until('its Deployment to be deleted', () => liveReplicas() === null, 60000);
  });

  report.problems = problems;
  log(`problems: ${JSON.stringify(problems)}`);
});
