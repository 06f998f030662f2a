// Starts a runbook the way the README tells a person to: open the Temporal Web UI, choose
// Start Workflow, type the four fields, submit, then watch the workflow's page until it says
// Completed. starter/browser_test.go runs it against a `starter dev` of its own and checks the
// outcome through the Temporal API afterwards, so this script only has to drive the page.
//
// Usage:
//   node start-from-ui.mjs --ui http://127.0.0.1:8233 --out DIR --workflow-id demo-1 \
//     --task-queue switchyard --workflow-type RunbookWorkflow --input '{"runbook": "demo", ...}'
//
// It writes DIR/started.png (the form just before submitting), DIR/completed.png (the run's
// page showing COMPLETED) or, when something goes wrong, DIR/failure.png, and prints one JSON line
// {"status": ..., "url": ...} on success. It never downloads a browser: it launches the Chromium
// at --chromium (default /usr/bin/chromium, Debian's package).
import { parseArgs } from 'node:util';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const { values: opt } = parseArgs({
  options: {
    ui: { type: 'string' },
    out: { type: 'string' },
    'workflow-id': { type: 'string' },
    'task-queue': { type: 'string' },
    'workflow-type': { type: 'string' },
    input: { type: 'string' },
    namespace: { type: 'string', default: 'default' },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
    // The whole run's deadline; every wait below is bounded by what is left of it.
    'timeout-ms': { type: 'string', default: '45000' },
  },
});
for (const k of ['ui', 'out', 'workflow-id', 'task-queue', 'workflow-type', 'input']) {
  if (!opt[k]) {
    console.error(`missing --${k}`);
    process.exit(2);
  }
}
const ui = opt.ui.replace(/\/+$/, '');
const deadline = Date.now() + Number(opt['timeout-ms']);
const left = () => Math.max(1000, deadline - Date.now());
mkdirSync(opt.out, { recursive: true });

// --no-sandbox: CI runs as root in a container, where Chromium's sandbox cannot start.
const browser = await chromium.launch({
  executablePath: opt.chromium,
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
try {
  // Start where a person starts: the namespace's workflow list, and its Start Workflow link.
  await page.goto(`${ui}/namespaces/${encodeURIComponent(opt.namespace)}/workflows`, { timeout: left() });
  await page.getByRole('link', { name: 'Start Workflow' }).first().click({ timeout: left() });
  await page.waitForURL(/\/workflows\/start-workflow/, { timeout: left() });

  await page.getByLabel('Workflow ID').fill(opt['workflow-id'], { timeout: left() });
  await page.getByLabel('Task Queue').fill(opt['task-queue'], { timeout: left() });
  await page.getByLabel('Workflow Type').fill(opt['workflow-type'], { timeout: left() });
  // The input is a CodeMirror editor labelled "Data" (a contenteditable, not a textarea).
  const data = page.getByRole('textbox', { name: 'Data' });
  await data.click({ timeout: left() });
  await data.fill(opt.input, { timeout: left() });
  // Leave the editor before pressing the button: on blur the UI re-formats the JSON, which grows
  // the editor and moves the button away from under a click that arrives at the same time.
  await data.blur();
  await page.screenshot({ path: join(opt.out, 'started.png'), fullPage: true });
  await page.getByTestId('start-workflow-button').click({ timeout: left() });

  // The UI stays on the form and confirms with a toast linking to the new run; follow it as a
  // person would. Its page refreshes itself; reload anyway if it has not shown a final status
  // after a few seconds, so a stalled refresh cannot fail the test.
  await page.getByRole('link', { name: 'Workflow started successfully' }).click({ timeout: left() });
  const runPath = `/namespaces/${encodeURIComponent(opt.namespace)}/workflows/${encodeURIComponent(opt['workflow-id'])}/`;
  await page.waitForURL((u) => u.pathname.startsWith(runPath), { timeout: left() });
  const badge = page.getByTestId('execution-status').first();
  const final = /\b(completed|failed|terminated|canceled|timed.?out|continued.?as.?new)\b/i;
  let status = '';
  for (;;) {
    try {
      await badge.filter({ hasText: final }).waitFor({ timeout: Math.min(5000, left()) });
      status = (await badge.innerText()).trim();
      break;
    } catch (err) {
      if (Date.now() >= deadline) throw new Error(`the run's page never showed a final status: ${err.message}`);
      await page.reload({ timeout: left() });
    }
  }
  await page.screenshot({ path: join(opt.out, 'completed.png'), fullPage: true });
  if (!/^completed$/i.test(status)) throw new Error(`the run's page shows ${JSON.stringify(status)}, not COMPLETED`);
  console.log(JSON.stringify({ status, url: page.url() }));
} catch (err) {
  await page.screenshot({ path: join(opt.out, 'failure.png'), fullPage: true }).catch(() => {});
  console.error(`browser test failed at ${page.url()}: ${err.stack || err}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
