// Sends a signal to a running workflow the way the README tells a person to: open the run's page
// in the Temporal Web UI, choose More Actions > Send a Signal, pick the signal's name, type its
// JSON input, submit, then watch the page until the run shows a final status. starter/browser_test.go
// runs it on a run paused on a failed step and checks through the Temporal API afterwards that
// the control applied and the run went on, so this script only has to drive the page.
//
// Usage:
//   node signal-from-ui.mjs --ui http://127.0.0.1:8233 --out DIR --workflow-id ID \
//     --signal control --input '{"action": "retry", ...}'
//
// It writes DIR/signal.png (the filled-in form just before submitting), DIR/signaled.png (the
// run's page showing its final status) or, when something goes wrong, DIR/signal-failure.png, and
// prints one JSON line {"status": ..., "url": ...}. It launches the Chromium at --chromium.
import { parseArgs } from 'node:util';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const { values: opt } = parseArgs({
  options: {
    ui: { type: 'string' },
    out: { type: 'string' },
    'workflow-id': { type: 'string' },
    signal: { type: 'string' },
    input: { type: 'string' },
    namespace: { type: 'string', default: 'default' },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
    'timeout-ms': { type: 'string', default: '45000' },
  },
});
for (const k of ['ui', 'out', 'workflow-id', 'signal', 'input']) {
  if (!opt[k]) {
    console.error(`missing --${k}`);
    process.exit(2);
  }
}
const ui = opt.ui.replace(/\/+$/, '');
const deadline = Date.now() + Number(opt['timeout-ms']);
const left = () => Math.max(1000, deadline - Date.now());
mkdirSync(opt.out, { recursive: true });

const browser = await chromium.launch({
  executablePath: opt.chromium,
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
try {
  const runURL = `${ui}/namespaces/${encodeURIComponent(opt.namespace)}/workflows/${encodeURIComponent(opt['workflow-id'])}`;
  await page.goto(runURL, { timeout: left() });
  const badge = page.getByTestId('execution-status').first();
  await badge.filter({ hasText: /running/i }).waitFor({ timeout: left() });

  // The run's actions: More Actions > Send a Signal opens a dialog whose signal name is a list
  // of the signals the run listens on.
  await page.getByRole('button', { name: 'More Actions' }).click({ timeout: left() });
  await page.getByRole('menuitem', { name: 'Send a Signal' }).click({ timeout: left() });
  const dialog = page.getByRole('dialog');
  await dialog.getByTestId('signal-select-button').click({ timeout: left() });
  await page.getByRole('option', { name: opt.signal, exact: true }).click({ timeout: left() });
  // The input, as on Start Workflow, is a CodeMirror editor labelled "Data".
  const data = dialog.getByRole('textbox', { name: 'Data' });
  await data.click({ timeout: left() });
  await data.fill(opt.input, { timeout: left() });
  await data.blur();
  await page.screenshot({ path: join(opt.out, 'signal.png'), fullPage: true });
  await dialog.getByTestId('confirm-modal-button').click({ timeout: left() });
  await dialog.waitFor({ state: 'hidden', timeout: left() });

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
  await page.screenshot({ path: join(opt.out, 'signaled.png'), fullPage: true });
  console.log(JSON.stringify({ status, url: page.url() }));
} catch (err) {
  await page.screenshot({ path: join(opt.out, 'signal-failure.png'), fullPage: true }).catch(() => {});
  console.error(`browser signal failed at ${page.url()}: ${err.stack || err}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
