import fs from 'node:fs';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listEventFiles, readRun, readScalars, readSweep, writeFrontierReport } from '../../observe/index.ts';
import { skipWithout, temporaryDirectory, writeFrontierRun } from '../observe/fixtures.ts';
import { PPO_STEPS, recipeCommand, runTinyRecipe, writeTunedSweep, type RealRun } from './real-run.ts';

const STEP_NUMBERS = Array.from({ length: PPO_STEPS }, (_, index) => index + 1);

/**
 * One real, tiny recipe run through the `recipe` command (SFT -> reward model -> PPO, two data-parallel policy
 * ranks, metrics served), seen the ways a user sees a run: its /metrics scraped from outside while it runs, its
 * log on stderr, its TensorBoard files, `recipe status` and `recipe report`; then the reports opened in a real
 * browser (Debian's chromium through playwright-core): every chart must have drawn all its data points, the page
 * must log no console error and fetch nothing. Screenshots go to the test's temporary directory.
 */
const CHROMIUM = '/usr/bin/chromium';

let workDir: string;
let run: RealRun;

beforeAll(async () => {
  workDir = temporaryDirectory('e2e');
  run = await runTinyRecipe(workDir);
  if (run.exitCode !== 0) throw new Error(`recipe run failed (exit ${run.exitCode}):\n${run.stderr.slice(-20).join('\n')}`);
});

afterAll(() => {
  if (workDir && process.env.KEEP_E2E !== '1') fs.rmSync(workDir, { recursive: true, force: true });
});

/** The samples of one metric in Prometheus text: labels (in any order) and value. */
function samples(text: string, name: string): { labels: Record<string, string>; value: number }[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .map((line) => {
      const [, labelText = '', value = ''] = /^[^{ ]+(?:\{(.*)\})? (\S+)$/.exec(line) ?? [];
      const labels = Object.fromEntries([...labelText.matchAll(/(\w+)="([^"]*)"/g)].map((match) => [match[1], match[2]]));
      return { labels, value: Number(value) };
    });
}

describe('a real recipe run, seen from outside', () => {
  it('serves runtime, training and collective metrics on /metrics while PPO runs', () => {
    expect(run.scrape, 'no scrape during PPO with step >= 2').toBeDefined();
    const text = run.scrape!;
    const one = (name: string, labels: Record<string, string> = {}) =>
      samples(text, name).find((sample) => Object.entries(labels).every(([key, value]) => sample.labels[key] === value));
    // Runtime: object store, actors, placement groups, actor-call latency.
    expect(one('posttrain_object_store_bytes', { state: 'used' })?.value).toBeGreaterThanOrEqual(0);
    expect(one('posttrain_object_store_bytes', { state: 'spilled' })).toBeDefined();
    expect(one('posttrain_actors', { state: 'alive' })?.value).toBeGreaterThanOrEqual(2);
    expect(one('posttrain_placement_groups_pending')?.value).toBe(0);
    expect(one('posttrain_actor_call_seconds_count', { method: 'invoke' })?.value).toBeGreaterThan(0);
    // Training: step, rewards, KL and throughput of the latest step, labelled with the run and stage.
    const ppo = { run: 'e2e-ppo', stage: 'ppo' };
    expect(one('posttrain_training_step', ppo)?.value).toBeGreaterThanOrEqual(2);
    for (const name of ['posttrain_gold_reward', 'posttrain_model_reward', 'posttrain_kl', 'posttrain_generated_tokens_per_second']) {
      expect(Number.isFinite(one(name, ppo)?.value), name).toBe(true);
    }
    expect(one('posttrain_generated_tokens_per_second', ppo)?.value).toBeGreaterThan(0);
    // Collectives: each policy rank's gradient allreduces, timed in its worker and served by the driver.
    const allreduces = samples(text, 'posttrain_collective_seconds_count').filter((sample) => sample.labels.op === 'allreduce');
    expect(allreduces.map((sample) => sample.labels.rank).sort()).toEqual(['0', '1']);
    for (const sample of allreduces) {
      expect(sample.labels).toMatchObject({ backend: 'shm', world_size: '2', roles: expect.stringContaining('policy') });
      expect(sample.value).toBeGreaterThan(0);
    }
  });

  it('logs JSON lines (stderr is not a terminal) with no key twice, run and stage on each, the step inside steps', () => {
    const lines = run.stderr.map((raw) => {
      const line = JSON.parse(raw) as Record<string, unknown>;
      // JSON.parse keeps the last of two equal keys, so a line with a duplicated key re-serializes shorter.
      expect(JSON.stringify(line).length, raw).toBe(raw.length);
      return line;
    });
    const ppo = lines.filter((line) => line.stage === 'ppo');
    expect(ppo.length).toBeGreaterThan(5);
    for (const line of ppo) expect(line.run).toBe('e2e-ppo');
    const steps = ppo.filter((line) => line.msg === 'step');
    expect(steps.map((line) => line.step)).toEqual(STEP_NUMBERS);
    for (const line of steps) expect(typeof line.kl).toBe('number');
    // Lines before the step loop carry no step.
    expect(ppo.find((line) => line.msg === 'roles launched')?.step).toBeUndefined();
    // A worker's own line arrives through the driver with its actor, role and node, each once.
    const engine = ppo.find((line) => String(line.msg).startsWith('tensor engine'));
    expect(engine).toMatchObject({ actor: expect.any(String), role: expect.stringContaining('policy'), node: 'node-0', workerComponent: 'engine' });
  });

  it('leaves TensorBoard event files that read back to the logged scalars', () => {
    const ppoDir = path.join(run.dir, 'ppo');
    expect(listEventFiles(ppoDir)).toHaveLength(1);
    const scalars = readScalars(ppoDir);
    const metrics = readRun(ppoDir).metrics;
    const kl = scalars.get('kl') ?? [];
    expect(kl.map((point) => point.step)).toEqual(STEP_NUMBERS);
    // Event files hold float32: equal to the metrics lines to float32 precision.
    kl.forEach((point, index) => expect(point.value).toBeCloseTo(Math.fround(metrics[index]!.kl as number), 6));
    expect(scalars.get('phaseSeconds/train')?.length).toBe(PPO_STEPS);
    expect(readScalars(path.join(run.dir, 'sft')).get('loss')?.length).toBe(6);
  });

  it('`recipe status` shows each stage of the recipe, finished, with its steps', async () => {
    const status = await recipeCommand(['status', run.dir]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^recipe e2e \(.*\)\n {2}state {8}finished \(sft -> reward -> ppo\)/);
    expect(status.stdout).toMatch(new RegExp(`stage ppo \\(.*\\)\\n {2}state {8}finished in \\d+s\\n {2}step {9}${PPO_STEPS} of ${PPO_STEPS}`));
    expect(status.stdout).toMatch(/generated tokens\/s/);
    const overview = await recipeCommand(['status', '--runs-dir', path.dirname(run.dir)]);
    expect(overview.code).toBe(0);
    expect(overview.stdout).toMatch(new RegExp(`^e2e +ppo +finished +${PPO_STEPS}/${PPO_STEPS} `, 'm'));
  });

  it('`recipe status` and `recipe report` exit 2 with a clear message for a missing run or a file that is no sweep', async () => {
    const missing = await recipeCommand(['status', path.join(workDir, 'no-such-run')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`nothing at ${path.join(workDir, 'no-such-run')}`);
    expect(missing.stderr).not.toMatch(/\n\s+at /);
    const garbage = path.join(workDir, 'garbage.db');
    fs.writeFileSync(garbage, 'not a database');
    const report = await recipeCommand(['report', garbage]);
    expect(report.code).toBe(2);
    expect(report.stderr).toContain(`${garbage} is not a SQLite database`);
  });
});

describe.skipIf(skipWithout(fs.existsSync(CHROMIUM) ? undefined : `${CHROMIUM} not found: install Debian's chromium`))('reports in headless Chromium', () => {
  let context: BrowserContext;

  beforeAll(async () => {
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

  it('recipe report of the real run: every stage charted, every chart drew all its points, no console errors', async () => {
    const out = path.join(workDir, 'recipe-report.html');
    const command = await recipeCommand(['report', run.dir, '--out', out]);
    expect(command.code).toBe(0);
    expect(command.stdout.trim()).toBe(out);
    const { page, errors, requests } = await open(out);

    const counts = await chartCounts(page);
    const charts = counts.map((count) => count.chart);
    for (const expected of ['sft-loss', 'sft-phase-seconds', 'reward-accuracy', 'ppo-gold-reward', 'ppo-model-reward', 'ppo-kl', 'ppo-policy-loss', 'ppo-clip-fraction', 'ppo-entropy', 'ppo-generated-tokens-per-second', 'ppo-phase-seconds']) {
      expect(charts).toContain(expected);
    }
    for (const count of counts) {
      expect(count.points, count.chart).toBeGreaterThan(0);
      expect(count.rendered, count.chart).toBe(count.points);
    }
    // One KL point per PPO step, five phases (sync, generate, score, advantages, train) per step.
    expect(counts.find((count) => count.chart === 'ppo-kl')?.rendered).toBe(PPO_STEPS);
    expect(counts.find((count) => count.chart === 'ppo-phase-seconds')?.rendered).toBeGreaterThanOrEqual(5 * PPO_STEPS);
    expect(await page.locator('section h2', { hasText: `Stage ppo (${PPO_STEPS} steps)` }).count()).toBe(1);

    const svg = page.locator('#chart-ppo-kl svg');
    await svg.scrollIntoViewIfNeeded();
    const box = await svg.boundingBox();
    expect(box).not.toBeNull();
    await page.mouse.move((box?.x ?? 0) + (box?.width ?? 0) * 0.5, (box?.y ?? 0) + (box?.height ?? 0) * 0.5);
    await expect.poll(() => page.locator('#chart-ppo-kl .readout').textContent()).toMatch(/^x = \d+kl: -?\d/);

    await page.mouse.move(0, 0);
    await page.evaluate('window.scrollTo(0, 0)');
    await page.screenshot({ path: path.join(workDir, 'recipe.png'), fullPage: true });
    expect(fs.statSync(path.join(workDir, 'recipe.png')).size).toBeGreaterThan(10_000);
    expect(errors).toEqual([]);
    expect(requests).toEqual([]);
    await page.close();
  });

  it('sweep report of a study made with tune/: intermediate curves with pruned trials marked, history, parameters', async () => {
    const dbPath = path.join(workDir, 'sweeps.db');
    const states = await writeTunedSweep(dbPath);
    expect(states.PRUNED).toBeGreaterThan(0);
    expect(states.COMPLETE).toBeGreaterThan(0);
    const out = path.join(workDir, 'sweep.html');
    const command = await recipeCommand(['report', `sqlite:///${dbPath}`, '--out', out]);
    expect(command.code).toBe(0);
    const { page, errors, requests } = await open(out);

    const counts = await chartCounts(page);
    expect(counts.map((count) => count.chart)).toEqual(['intermediate-values', 'objective-history', 'parameters']);
    for (const count of counts) {
      expect(count.points, count.chart).toBeGreaterThan(0);
      expect(count.rendered, count.chart).toBe(count.points);
    }
    const sweep = readSweep(dbPath);
    const intermediatePoints = sweep.trials.reduce((sum, trial) => sum + trial.intermediate.length, 0);
    expect(counts[0]?.points).toBeGreaterThanOrEqual(intermediatePoints);
    const prunedRows = await page.locator('td .state.PRUNED').count();
    expect(prunedRows).toBe(states.PRUNED);
    expect(await page.locator('#chart-intermediate-values path.end-marker').count()).toBe(prunedRows);
    expect(await page.locator('tr.best').count()).toBe(1);

    const status = await recipeCommand(['status', dbPath]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^study e2e-sweep .*direction maximize\ntrials 12: \d+ complete, \d+ pruned\nbest value /);

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
