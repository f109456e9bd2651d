import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  MetricsWriter,
  readPipeline,
  runDirectoryKind,
  SESSION_FILE,
  summarizePipeline,
  summarizeRunsDirectory,
  writePipelineReport,
  writeSessionFile,
} from '../../observe/index.ts';
import { temporaryDirectory, writePpoRun } from './fixtures.ts';

const START = 1_700_000_000;

/** A recipe directory: a finished SFT stage and a PPO stage that is running (or whose process has died). */
function writeRecipe(root: string, options: { ppoProcess: 'alive' | 'dead' }): string {
  const dir = path.join(root, 'demo');
  let clock = START;
  const sft = MetricsWriter.open(path.join(dir, 'sft'), { now: () => (clock += 1) });
  sft.writeConfig({ trainer: { steps: 3 } });
  for (let step = 1; step <= 3; step++) sft.append({ step, loss: 3 - step / 2, phaseSeconds: { train: 0.2 } });
  sft.writeSummary({ method: 'sft', steps: 3, wallSeconds: 3, finalGoldReward: 0.2 });
  sft.close();
  writePpoRun(path.join(dir, 'ppo'), { steps: 12, finished: false, startTime: START + 10 });
  fs.writeFileSync(path.join(dir, 'ppo', 'config.json'), JSON.stringify({ trainer: { steps: 40 } }));
  writeSessionFile(path.join(dir, 'ppo'), { method: 'ppo', name: 'demo-ppo' });
  if (options.ppoProcess === 'dead') {
    const session = JSON.parse(fs.readFileSync(path.join(dir, 'ppo', SESSION_FILE), 'utf8')) as { pid: number };
    session.pid = spawnSync(process.execPath, ['-e', '0']).pid!;
    fs.writeFileSync(path.join(dir, 'ppo', SESSION_FILE), JSON.stringify(session));
  }
  return dir;
}

describe('a recipe directory', () => {
  it('reads as its stages in the order they ran', () => {
    const dir = writeRecipe(temporaryDirectory('pipeline-read'), { ppoProcess: 'alive' });
    expect(runDirectoryKind(dir)).toBe('pipeline');
    expect(runDirectoryKind(path.join(dir, 'ppo'))).toBe('run');
    expect(runDirectoryKind(path.join(dir, 'nothing'))).toBeUndefined();
    expect(readPipeline(dir).stages.map((stage) => stage.name)).toEqual(['sft', 'ppo']);
  });

  it('status: each stage, the running one at step 12 of 40 with its rate; a dead process is reported as stopped', () => {
    const root = temporaryDirectory('pipeline-status');
    const running = summarizePipeline(writeRecipe(root, { ppoProcess: 'alive' }), { now: START + 50 });
    expect(running).toMatch(/^recipe demo .*\n {2}state {8}stage ppo \(2 of 2 started\) running, last update \d+s ago/);
    expect(running).toMatch(/stage sft .*\n {2}state {8}finished in 3s/);
    expect(running).toMatch(/stage ppo .*\n {2}state {8}running.*\n {2}step {9}12 of 40\n {2}rate {9}0\.4 steps\/s/);
    const overview = summarizeRunsDirectory(root, { now: START + 50 });
    expect(overview).toMatch(/^demo +ppo +running, last update \d+s ago +12\/40 +0\.4 +-$/m);

    const stoppedRoot = temporaryDirectory('pipeline-stopped');
    const stopped = summarizePipeline(writeRecipe(stoppedRoot, { ppoProcess: 'dead' }), { now: START + 50 });
    expect(stopped).toMatch(/stage ppo .*\n {2}state {8}stopped: process \d+ exited without writing a summary/);
  });

  it('report: one page, every stage’s charts under its own prefix, the stages table first', () => {
    const dir = writeRecipe(temporaryDirectory('pipeline-report'), { ppoProcess: 'alive' });
    const result = writePipelineReport(dir, { out: path.join(os.tmpdir(), `pipeline-${process.pid}.html`) });
    expect(result.charts.filter((chart) => chart.startsWith('sft-'))).toEqual(['sft-loss', 'sft-phase-seconds']);
    expect(result.charts).toContain('ppo-gold-reward');
    expect(result.charts).toContain('ppo-phase-seconds');
    const html = fs.readFileSync(result.path, 'utf8');
    expect(html.indexOf('<h2>Stages</h2>')).toBeLessThan(html.indexOf('Stage sft (3 steps)'));
    expect(html.indexOf('Stage sft (3 steps)')).toBeLessThan(html.indexOf('Stage ppo (12 steps)'));
    expect(html).toMatch(/data-chart="ppo-kl" data-kind="xy" data-points="12"/);
    fs.rmSync(result.path);
  });
});
