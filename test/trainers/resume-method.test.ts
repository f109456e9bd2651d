/**
 * `recipe resume <run>` builds the run's trainer from the method its config.json names (session.json's for runs
 * written before config.json named it), not by trying every method's schema on the config.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resumeRun } from '../../trainers/resume-run.ts';
import { scratchDirectory } from './helpers.ts';

const scratch = scratchDirectory('resume-method');
afterAll(() => scratch.remove());

function runDirectory(name: string, files: Record<string, unknown>): string {
  const directory = join(scratch.path, name);
  mkdirSync(directory, { recursive: true });
  for (const [file, content] of Object.entries(files)) writeFileSync(join(directory, file), JSON.stringify(content));
  return directory;
}

describe('resume reads the method from the run directory', () => {
  it('refuses a method no trainer runs, naming the file and the methods', async () => {
    const directory = runDirectory('bogus', { 'config.json': { method: 'rlhf', name: 'x' } });
    await expect(resumeRun(directory)).rejects.toThrow(`${join(directory, 'config.json')} names no method a trainer runs (method: "rlhf", neither there nor in session.json); expected one of sft, reward, dpo, ppo, grpo`);
  });

  it('falls back to session.json for a run written before config.json named its method', async () => {
    const directory = runDirectory('old', { 'config.json': { name: 'x' }, 'session.json': { method: 'grpo ' } });
    await expect(resumeRun(directory)).rejects.toThrow('(method: "grpo ", neither there nor in session.json)');
    const none = runDirectory('none', { 'config.json': { name: 'x' } });
    await expect(resumeRun(none)).rejects.toThrow('(method: absent, neither there nor in session.json)');
  });

  it('builds the named trainer, whose own schema then checks the config', async () => {
    const directory = runDirectory('dpo', { 'config.json': { method: 'dpo', name: 'x', task: { name: 'arithmetic' } } });
    await expect(resumeRun(directory)).rejects.toThrow(/DPO needs/);
  });
});
