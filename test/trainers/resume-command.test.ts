/**
 * `recipe run` stopped by SIGTERM in the middle of its last stage, then `recipe resume runs/<name>`: the stage
 * checkpoints the step it was on and the process exits cleanly; resume re-plans the pipeline from its recipe.json,
 * reuses the finished SFT stage and continues DPO from that checkpoint, losing no step.
 */
import { spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { readMetrics, temporaryDirectory, tinySftDpoRecipe, waitFor } from '../faults/helpers.ts';

const RECIPE_COMMAND = fileURLToPath(new URL('../../bin/recipe.js', import.meta.url));

function recipe(args: string[]) {
  const child = spawn(process.execPath, [RECIPE_COMMAND, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, POSTTRAIN_LOG_LEVEL: 'error' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const finished = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
  return Object.assign(child, { finished });
}

it('a pipeline stopped by SIGTERM during DPO checkpoints and exits cleanly; recipe resume reuses SFT and finishes DPO without losing a step', async () => {
  const root = temporaryDirectory('resume-command');
  const file = join(root, 'recipe.mjs');
  writeFileSync(file, `export default ${JSON.stringify(tinySftDpoRecipe(root, { seed: 2, sftSteps: 3, dpoSteps: 40 }))};\n`);
  const dpo = join(root, 'runs', 'pipeline', 'dpo');
  const run = recipe(['run', file]);
  await waitFor(() => readMetrics(dpo).length >= 5, 'DPO step 5');
  run.kill('SIGTERM');
  const stopped = await run.finished;
  expect(stopped.code, stopped.stderr).toBe(0);
  const stoppedAt = readMetrics(dpo).at(-1)!.step;
  expect(stoppedAt).toBeLessThan(40);
  const stoppedSummary = JSON.parse(readFileSync(join(dpo, 'summary.json'), 'utf8'));
  expect(stoppedSummary).toMatchObject({ stoppedBy: 'SIGTERM', lastCheckpoint: { step: stoppedAt } });
  const sftSummary = join(root, 'runs', 'pipeline', 'sft', 'summary.json');
  const sftWritten = statSync(sftSummary).mtimeMs;

  const resumed = await recipe(['resume', join(root, 'runs', 'pipeline')]).finished;
  expect(resumed.code, resumed.stderr).toBe(0);
  const summary = JSON.parse(resumed.stdout);
  expect(summary.stages.sft).toMatchObject({ reused: true });
  expect(summary.stages.dpo).toMatchObject({ steps: 40, resumedFrom: { step: stoppedAt } });
  expect(summary.stoppedBy).toBeUndefined();
  expect(statSync(sftSummary).mtimeMs).toBe(sftWritten);
  expect(readMetrics(dpo).map((record) => record.step)).toEqual(Array.from({ length: 40 }, (_, index) => index + 1));
});
