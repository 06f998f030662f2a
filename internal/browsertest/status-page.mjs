// Opens Switchyard's status page (internal/statuspage) the way a person does, with JavaScript
// turned off (the page must not need it), reads what it shows for one environment, follows the
// last drill's report link, and keeps screenshots. starter/statuspage_browser_test.go checks what
// this prints against the lab and the Temporal API.
//
// Usage:
//   node status-page.mjs --url http://127.0.0.1:8234/ --env lab --out DIR
//
// It writes DIR/status.png (the whole page) and DIR/report.png (the drill's report), or
// DIR/failure.png, and prints one JSON line with what the page showed. It never downloads a
// browser: it launches the Chromium at --chromium (default /usr/bin/chromium, Debian's package).
import { parseArgs } from 'node:util';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const { values: opt } = parseArgs({
  options: {
    url: { type: 'string' },
    env: { type: 'string', default: 'lab' },
    out: { type: 'string' },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
    'timeout-ms': { type: 'string', default: '60000' },
  },
});
for (const k of ['url', 'out']) {
  if (!opt[k]) {
    console.error(`missing --${k}`);
    process.exit(2);
  }
}
const deadline = Date.now() + Number(opt['timeout-ms']);
const left = () => Math.max(1000, deadline - Date.now());
mkdirSync(opt.out, { recursive: true });

// --no-sandbox: CI runs as root in a container, where Chromium's sandbox cannot start.
const browser = await chromium.launch({ executablePath: opt.chromium, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
// No JavaScript: the page is server-rendered HTML and SVG.
const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
try {
  const resp = await page.goto(opt.url, { timeout: left() });
  const env = page.locator(`#env-${opt.env}`);
  await env.waitFor({ timeout: left() });
  const text = async (sel) => (await env.locator(sel).innerText({ timeout: left() })).replace(/\s+/g, ' ').trim();
  const shares = [];
  for (const row of await env.locator(`#traffic-${opt.env} tr.share`).all()) {
    shares.push({ region: await row.getAttribute('data-region'), text: (await row.innerText()).replace(/\s+/g, ' ').trim() });
  }
  const checks = await env.locator(`#readiness-${opt.env} tr.check`).count();
  const seen = {
    status: resp.status(),
    refresh: await page.locator('meta[http-equiv="refresh"]').getAttribute('content'),
    title: await page.title(),
    traffic: await text(`#traffic-${opt.env}`),
    shares,
    lag: await text(`#lag-${opt.env}`),
    lagPolylines: await env.locator(`#lag-${opt.env} svg polyline`).count(),
    resources: await text(`#resources-${opt.env}`),
    readiness: await text(`#readiness-${opt.env}`),
    readinessChecks: checks,
    lock: await text(`#lock-${opt.env}`),
    lockLink: await env.locator(`#lock-${opt.env} a`).first().getAttribute('href').catch(() => null),
    drill: await text(`#drill-${opt.env}`),
  };
  await page.screenshot({ path: join(opt.out, 'status.png'), fullPage: true });

  // The drill's report, as a person following the link sees it.
  const report = env.locator(`#drill-${opt.env} a`, { hasText: 'report' });
  if (await report.count()) {
    await report.first().click({ timeout: left() });
    await page.waitForLoadState('load', { timeout: left() });
    seen.reportTitle = await page.title();
    seen.reportURL = page.url();
    await page.screenshot({ path: join(opt.out, 'report.png'), fullPage: true });
  }
  console.log(JSON.stringify(seen));
} catch (err) {
  await page.screenshot({ path: join(opt.out, 'failure.png'), fullPage: true }).catch(() => {});
  console.error(String(err && err.stack || err));
  process.exitCode = 1;
} finally {
  await browser.close();
}
