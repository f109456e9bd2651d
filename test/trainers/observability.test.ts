import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { redirectLogLines } from '../../runtime/logging.ts';
import { readRun } from '../../observe/index.ts';
import { SFTTrainer } from '../../trainers/sft-trainer.ts';

/**
 * The trainer side of seeing a run (the whole picture, through the `recipe` command, is test/e2e/report.test.ts):
 * context a caller gives a run reaches every log line, the run's own lines and its workers'.
 */
describe('run logging', () => {
  it('puts the caller’s log context (a sweep trial) on every line of the run, its workers’ lines included', async () => {
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'posttrain-trial-'));
    const lines: Record<string, unknown>[] = [];
    const restore = redirectLogLines((line) => lines.push(JSON.parse(line) as Record<string, unknown>));
    try {
      const trainer = new SFTTrainer(
        {
          name: 'trial-7',
          task: { name: 'sentiment' },
          model: { dModel: 32, nHeads: 2, nLayers: 1 },
          trainer: { steps: 3, batchSize: 8, evalPrompts: 0 },
          logging: { runsDirectory: workDir, level: 'info' },
        },
        { logContext: { trial: 7 } },
      );
      await trainer.train();
      expect(readRun(path.join(workDir, 'trial-7')).session?.pid).toBe(process.pid);
    } finally {
      restore();
      fs.rmSync(workDir, { recursive: true, force: true });
    }
    const ofRun = lines.filter((line) => line.run === 'trial-7');
    expect(ofRun.length).toBeGreaterThan(3);
    for (const line of ofRun) expect(line.trial).toBe(7);
    expect(ofRun.some((line) => typeof line.actor === 'string')).toBe(true);
    expect(ofRun.filter((line) => line.msg === 'step').map((line) => line.step)).toEqual([1, 2, 3]);
  });
});
