import fs from 'node:fs';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFrontierReport, writeRunReport, writeSweepReport } from '../../runtime/observability/index.ts';
import {
  optunaMissing,
  skipWithout,
  temporaryDirectory,
  writeFrontierRun,
  writeOptunaStudy,
  writePpoRun,
} from '../runtime/observability/fixtures.ts';

/**
 * The reports opened in a real browser (Debian's chromium, driven by playwright-core): every chart must have drawn
 * all its data points on screen, the page must log no console error, fetch nothing over the network, and answer a
 * hover. Screenshots go to the test's temporary directory; `UPDATE_SCREENSHOTS=1` also refreshes the README's.
 */
const CHROMIUM = '/usr/bin/chromium';
const skip = skipWithout(fs.existsSync(CHROMIUM) ? optunaMissing() : `${CHROMIUM} not found: install Debian's chromium`);
const README_SCREENSHOT = path.resolve(import.meta.dirname, '../../docs/report-screenshot.png');

describe.skipIf(skip)('reports in headless Chromium', () => {
  let context: BrowserContext;
  let workDir: string;

  beforeAll(async () => {
    workDir = temporaryDirectory('e2e-report');
    context = await chromium.launchPersistentContext(path.join(workDir, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ],
      viewport: { width: 1280, height: 900 },
    });
  });

  afterAll(async () => {
    await context?.close();
  });

  /** Open a report, collecting console errors, page errors and any request that leaves the file. */
  async function open(file: string): Promise<{ page: Page; errors: string[]; requests: string[] }> {
    const page = await context.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('request', (request) => {
      if (!request.url().startsWith('file:')) requests.push(request.url());
    });
    await page.goto(`file://${file}`);
    await page.waitForSelector('body[data-report-ready="true"]', { timeout: 30_000 });
    return { page, errors, requests };
  }

  /** Every chart's expected and on-screen point counts. */
  async function chartCounts(page: Page): Promise<{ chart: string; points: number; rendered: number }[]> {
    return page.$$eval('figure.chart', (figures) =>
      figures.map((figure) => ({
        chart: figure.getAttribute('data-chart') ?? '',
        points: Number(figure.getAttribute('data-points')),
        rendered: Number(figure.getAttribute('data-rendered')),
      })),
    );
  }

  it('run report: every chart drew all its points, no console errors, hover reads values', async () => {
    const runDir = writePpoRun(path.join(workDir, 'ppo-1'), { steps: 120 });
    const result = writeRunReport(runDir, { out: path.join(workDir, 'run.html') });
    const { page, errors, requests } = await open(result.path);

    const counts = await chartCounts(page);
    expect(counts.map((count) => count.chart)).toEqual(result.charts);
    for (const count of counts) {
      expect(count.points, count.chart).toBeGreaterThan(0);
      expect(count.rendered, count.chart).toBe(count.points);
    }
    // Gold reward: 120 raw + 120 smoothed points; phases: 4 phases x 120 bars.
    expect(counts.find((count) => count.chart === 'gold-reward')?.rendered).toBe(240);
    expect(counts.find((count) => count.chart === 'phase-seconds')?.rendered).toBe(480);

    const svg = page.locator('#chart-kl svg');
    const box = await svg.boundingBox();
    expect(box).not.toBeNull();
    await page.mouse.move((box?.x ?? 0) + (box?.width ?? 0) * 0.5, (box?.y ?? 0) + (box?.height ?? 0) * 0.5);
    await expect.poll(() => page.locator('#chart-kl .readout').textContent()).toMatch(/^x = \d+kl: \d/);

    await page.mouse.move(0, 0);
    await page.screenshot({ path: path.join(workDir, 'run.png'), fullPage: true });
    expect(fs.statSync(path.join(workDir, 'run.png')).size).toBeGreaterThan(10_000);
    if (process.env.UPDATE_SCREENSHOTS === '1') {
      fs.mkdirSync(path.dirname(README_SCREENSHOT), { recursive: true });
      await page.screenshot({ path: README_SCREENSHOT, clip: { x: 0, y: 0, width: 1280, height: 900 } });
    }
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    await page.close();
  });

  it('sweep report: intermediate curves with pruned trials marked, history and parallel coordinates all drawn', async () => {
    const dbPath = path.join(workDir, 'sweeps.db');
    writeOptunaStudy(dbPath);
    const result = writeSweepReport(dbPath, { out: path.join(workDir, 'sweep.html') });
    const { page, errors, requests } = await open(result.path);

    const counts = await chartCounts(page);
    expect(counts.map((count) => count.chart)).toEqual(['intermediate-values', 'objective-history', 'parameters']);
    for (const count of counts) {
      expect(count.points, count.chart).toBeGreaterThan(0);
      expect(count.rendered, count.chart).toBe(count.points);
    }
    const prunedRows = await page.locator('td .state.PRUNED').count();
    expect(prunedRows).toBeGreaterThan(0);
    expect(await page.locator('#chart-intermediate-values path.end-marker').count()).toBe(prunedRows);
    expect(await page.locator('tr.best').count()).toBe(1);

    await page.screenshot({ path: path.join(workDir, 'sweep.png'), fullPage: true });
    expect(fs.statSync(path.join(workDir, 'sweep.png')).size).toBeGreaterThan(10_000);
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    await page.close();
  });

  it('frontier report: one marker per run on the reward-KL chart', async () => {
    const runs = [0.02, 0.05, 0.2].map((coefficient, index) =>
      writeFrontierRun(path.join(workDir, `ppo-${coefficient}`), {
        method: 'ppo', label: `kl=${coefficient}`, meanKl: 0.9 - index * 0.35, finalGoldReward: 0.7 - index * 0.1, baselineGoldReward: 0.3,
      }),
    );
    const result = writeFrontierReport(runs, { out: path.join(workDir, 'frontier.html') });
    const { page, errors } = await open(result.path);
    const counts = await chartCounts(page);
    expect(counts).toEqual([{ chart: 'frontier', points: 3, rendered: 3 }]);
    expect(await page.locator('#chart-frontier circle').count()).toBe(3);
    expect(errors).toEqual([]);
    await page.close();
  });
});
