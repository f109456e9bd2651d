import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { summarizeRun, writeFrontierReport, writeRunReport } from '../../observe/index.ts';
import { temporaryDirectory, writeFrontierRun, writePpoRun } from './fixtures.ts';

const START = 1_700_000_000;

describe('run report', () => {
  it('charts every logged curve with all its points and the phase breakdown as stacked bars', () => {
    const dir = writePpoRun(path.join(temporaryDirectory('report'), 'ppo-1'), { steps: 60 });
    const result = writeRunReport(dir);
    expect(result.path).toBe(path.join(dir, 'report.html'));
    expect(result.charts).toEqual([
      'gold-reward', 'model-reward', 'kl', 'policy-loss', 'value-loss', 'clip-fraction', 'entropy',
      'generated-tokens-per-second', 'phase-seconds',
    ]);
    const html = fs.readFileSync(result.path, 'utf8');
    // 60 steps >= the smoothing threshold: a raw and a smoothed line, 60 points each.
    expect(html).toMatch(/data-chart="gold-reward" data-kind="xy" data-points="120"/);
    expect(html).toMatch(/data-chart="phase-seconds" data-kind="stacked-bar" data-points="240"/);
    expect(html).toContain('baseline 0.3');
    expect(html).toContain('<div class="label">last checkpoint</div><div class="value">step 50</div>');
  });

  it('is one self-contained file: no external script, style, image or font', () => {
    const dir = writePpoRun(path.join(temporaryDirectory('report-inline'), 'ppo-1'), { steps: 5 });
    const html = fs.readFileSync(writeRunReport(dir).path, 'utf8');
    expect(html).not.toMatch(/<script[^>]+src=|<link\b|<img\b|@import|url\((?!#)/);
    expect(html).toContain("default-src 'none'");
  });

  it('charts the fields another stage logs, grouped by stage', () => {
    const dir = temporaryDirectory('report-stages');
    const lines = [
      ...[1, 2, 3].map((step) => ({ step, stage: 'sft', sftLoss: 3 - step / 2 })),
      ...[1, 2, 3, 4].map((step) => ({ step, stage: 'dpo', dpoLoss: 0.69 - step / 20, rewardAccuracy: 0.5 + step / 10 })),
    ];
    fs.writeFileSync(path.join(dir, 'metrics.jsonl'), lines.map((line) => JSON.stringify(line)).join('\n') + '\n');
    const result = writeRunReport(dir);
    expect(result.charts).toEqual(['sft-sft-loss', 'dpo-dpo-loss', 'dpo-reward-accuracy']);
    const html = fs.readFileSync(result.path, 'utf8');
    expect(html).toContain('Stage sft (3 steps)');
    expect(html).toMatch(/data-chart="dpo-reward-accuracy" data-kind="xy" data-points="4"/);
  });
  it('shows each evaluation\'s sample completions as escaped text, newest open, beside the curves', () => {
    const dir = temporaryDirectory('report-samples');
    const sample = (completion: string, goldReward: number) => ({ prompt: 'review: the film', completion, goldReward });
    const lines = [
      { step: 1, goldReward: 0.1, evalSamples: [sample('was <b>dull</b>', -0.5)] },
      { step: 2, goldReward: 0.2 },
    ];
    fs.writeFileSync(path.join(dir, 'metrics.jsonl'), lines.map((line) => JSON.stringify(line)).join('\n') + '\n');
    fs.writeFileSync(path.join(dir, 'summary.json'), JSON.stringify({ finalEvalSamples: [sample('was great', 0.9)] }));
    const result = writeRunReport(dir);
    const html = fs.readFileSync(result.path, 'utf8');
    expect(result.charts).toEqual(['gold-reward']);
    expect(html).toContain('<h2>What the policy says</h2>');
    expect(html).toContain('was &lt;b&gt;dull&lt;/b&gt;');
    expect(html).not.toContain('<b>dull</b>');
    expect(html.indexOf('final evaluation: 1 samples, mean gold reward 0.9')).toBeLessThan(html.indexOf('step 1: 1 samples'));
    expect(html).toMatch(/<details open class="samples"><summary>final evaluation/);
  });

  it('draws a run that has not logged yet without charts, saying so', () => {
    const dir = temporaryDirectory('report-empty');
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ method: 'ppo' }));
    const result = writeRunReport(dir);
    expect(result.charts).toEqual([]);
    expect(fs.readFileSync(result.path, 'utf8')).toContain('No metrics logged yet.');
    expect(summarizeRun(dir)).toContain('state        started, no metrics yet');
  });
});

describe('run status', () => {
  it('says a finished run\'s step, rate, rewards and last checkpoint', () => {
    const dir = writePpoRun(path.join(temporaryDirectory('status'), 'ppo-1'), { steps: 60, startTime: START });
    const text = summarizeRun(dir, { now: START + 1000 });
    expect(text).toContain('run ppo-1');
    expect(text).toContain('state        finished in 2m30s');
    expect(text).toContain('step         60');
    expect(text).toContain('rate         0.4 steps/s');
    expect(text).toContain('gold reward  ');
    expect(text).toContain(`checkpoint   step 50 at file://${dir}/checkpoints/step-000050/`);
  });

  it('gives the summary\'s stage-wide generation rate and labels the last step\'s apart (they differ)', () => {
    const dir = temporaryDirectory('status-tokens');
    // Step 1 is slow (warm-up): 1000 tokens in 1 s; step 2 fast: 1000 tokens in 0.25 s. Stage: 2000 / 1.25 = 1600.
    const lines = [
      { step: 1, generatedTokensPerSecond: 1000, phaseSeconds: { generate: 1 } },
      { step: 2, generatedTokensPerSecond: 4000, phaseSeconds: { generate: 0.25 } },
    ];
    fs.writeFileSync(path.join(dir, 'metrics.jsonl'), lines.map((line) => JSON.stringify(line)).join('\n') + '\n');
    const running = "generation   1600 generated tokens/s over the stage's generate time; last step 4000";
    expect(summarizeRun(dir)).toContain(running);
    fs.writeFileSync(path.join(dir, 'summary.json'), JSON.stringify({ steps: 2, generatedTokensPerSecond: 1600 }));
    expect(summarizeRun(dir)).toContain(running);
  });

  it('says a running run is running, and flags one whose metrics stopped', () => {
    const dir = writePpoRun(path.join(temporaryDirectory('status-running'), 'ppo-2'), { steps: 10, finished: false, startTime: START });
    expect(summarizeRun(dir, { now: START + 30 })).toContain('state        running, last update 5s ago\n');
    expect(summarizeRun(dir, { now: START + 3600 })).toMatch(/running, last update 59m35s ago \(stalled or stopped\?\)/);
    expect(summarizeRun(dir, { now: START + 30 })).toContain('checkpoint   none recorded');
  });
});

describe('frontier report', () => {
  it('plots one point per run, grouped by method, and lists runs without the numbers as skipped', () => {
    const root = temporaryDirectory('frontier');
    const runs = [
      writeFrontierRun(path.join(root, 'ppo-a'), { method: 'ppo', label: 'kl=0.02', meanKl: 0.9, finalGoldReward: 0.7, baselineGoldReward: 0.3 }),
      writeFrontierRun(path.join(root, 'ppo-b'), { method: 'ppo', label: 'kl=0.2', meanKl: 0.1, finalGoldReward: 0.45, baselineGoldReward: 0.3 }),
      writeFrontierRun(path.join(root, 'dpo-a'), { method: 'dpo', label: 'beta=0.1', meanKl: 0.4, finalGoldReward: 0.62, baselineGoldReward: 0.3 }),
      writeFrontierRun(path.join(root, 'broken'), { method: 'dpo' }),
    ];
    const result = writeFrontierReport(runs, { out: path.join(root, 'frontier.html') });
    const html = fs.readFileSync(result.path, 'utf8');
    expect(result.charts).toEqual(['frontier']);
    expect(html).toMatch(/data-chart="frontier" data-kind="xy" data-points="3"/);
    expect(html).toContain('SFT baseline 0.3');
    expect(html).toContain('Skipped (no finalKl or meanKl, or no finalGoldReward in summary.json): broken');
    expect(() => writeFrontierReport([runs[3] as string])).toThrow(expect.objectContaining({ code: 'FRONTIER_NO_DATA' }));
  });

  it('puts a run at its final KL on the held-out prompts when it has one (both axes measured alike), else its mean KL', () => {
    const root = temporaryDirectory('frontier-final-kl');
    const runs = [
      writeFrontierRun(path.join(root, 'ppo'), { method: 'ppo', label: 'kl=0.05', meanKl: 4.4, finalKl: 8.5, finalGoldReward: -0.28 }),
      writeFrontierRun(path.join(root, 'old'), { method: 'ppo', label: 'kl=0.1', meanKl: 2, finalGoldReward: -0.4 }),
    ];
    const html = fs.readFileSync(writeFrontierReport(runs, { out: path.join(root, 'frontier.html') }).path, 'utf8');
    expect(html).toContain('ppo kl=0.05: KL 8.5, gold reward -0.28');
    expect(html).toContain('ppo kl=0.1: KL 2, gold reward -0.4');
  });
});
