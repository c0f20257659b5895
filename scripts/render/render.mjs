// Renders each report given on the command line in Debian's headless Chromium and fails if the
// page logs a console error, throws, or has an image that did not load. Writes a full-page
// screenshot next to each report (screenshot.png). Also checks the print layout fits A4.
//   node render.mjs perfledger-demo/report-2026-11/index.html ...
import { chromium } from 'playwright-core';
import path from 'node:path';

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync'],
});
let failed = 0;
for (const file of process.argv.slice(2)) {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url().slice(0, 120)}`));
  await page.goto('file://' + path.resolve(file), { waitUntil: 'load' });
  const images = await page.$$eval('img', (imgs) => imgs.map((i) => ({ src: i.src.slice(0, 60), ok: i.complete && i.naturalWidth > 0, w: i.naturalWidth })));
  for (const i of images) if (!i.ok) problems.push(`image did not load: ${i.src}`);
  // wide tables scroll in their own box: the page itself never scrolls sideways
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 0) problems.push(`page is ${overflow}px wider than the window`);
  const shot = path.join(path.dirname(file), 'screenshot.png');
  await page.screenshot({ path: shot, fullPage: true });
  // printed ("Save as PDF"): the print stylesheet must fit an A4 page's text width (about
  // 680 CSS px between 14 mm margins), or the right edge is cut off on paper
  await page.emulateMedia({ media: 'print' });
  await page.setViewportSize({ width: 680, height: 900 });
  const printOverflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (printOverflow > 0) problems.push(`printed page is ${printOverflow}px wider than A4's text width`);
  const title = await page.title();
  console.log(`${problems.length ? 'FAIL' : 'ok  '} ${file}: "${title}", ${images.length} images, screenshot ${shot}`);
  for (const p of problems) console.log(`     ${p}`);
  if (problems.length || images.length === 0) failed++;
  await page.close();
}
await browser.close();
console.log(`${process.argv.length - 2 - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
