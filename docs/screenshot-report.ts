/**
 * Screenshots a report for the README (the image in docs/ is of a real `recipes/ppo.ts` run):
 *
 *   node bin/recipe.js run recipes/ppo.ts --runs-dir /tmp/readme --set stages.sft.trainer.steps=150 \
 *     --set stages.reward.trainer.steps=80 --set stages.ppo.trainer.steps=20
 *   node bin/recipe.js report /tmp/readme/ppo/ppo --out /tmp/readme/ppo.html
 *   node --import tsx docs/screenshot-report.ts /tmp/readme/ppo.html docs/report-screenshot.png
 *
 * Uses Debian's chromium through playwright-core, as the browser test does.
 */
import path from 'node:path';
import { chromium } from 'playwright-core';

const [report, out] = process.argv.slice(2);
if (!report || !out) {
  process.stderr.write('usage: node --import tsx docs/screenshot-report.ts REPORT.html OUT.png\n');
  process.exit(2);
}
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(`file://${path.resolve(report)}`);
  await page.waitForSelector('body[data-report-ready="true"]');
  await page.screenshot({ path: out, clip: { x: 0, y: 0, width: 1280, height: 900 } });
  process.stdout.write(`${out}\n`);
} finally {
  await browser.close();
}
