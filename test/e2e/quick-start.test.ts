import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { temporaryDirectory } from '../observe/fixtures.ts';
import { RECIPE_COMMAND } from './real-run.ts';

/**
 * The README's Quick start, command by command, in the order it shows them, on one working directory, as a new
 * user runs them (a fresh clone once met a V8 fatal error at its second command, `recipe report`). The commands are
 * read from the README itself, so a command added there is run here. Each `recipe run` gets overrides that make
 * every stage a few steps of a tiny model; every other command runs exactly as written. Measured 4.6-5.8 minutes
 * on two cores under heavy load (load average 18-22; two full tiny pipelines run); not timed on a quiet machine.
 */
const REPOSITORY = path.resolve(import.meta.dirname, '../..');

/** Appended to every `recipe run`: a 32-wide one-layer model and a few steps per stage. */
const TINY_BUDGET = [
  'model.dModel=32', 'model.nHeads=2', 'model.nLayers=1',
  'stages.sft.trainer.steps=3', 'stages.sft.trainer.batchSize=8', 'stages.sft.trainer.evalEvery=2',
  'stages.sft.trainer.evalExamples=16', 'stages.sft.trainer.evalPrompts=2', 'stages.sft.trainer.evalSamplesPerPrompt=1',
  'stages.reward.trainer.steps=2', 'stages.reward.trainer.batchSize=8', 'stages.reward.trainer.evalEvery=2',
  'stages.reward.trainer.evalPairs=16',
  'stages.ppo.rollout.batchSize=8', 'stages.ppo.algo.epochs=1', 'stages.ppo.algo.minibatches=2',
  'stages.ppo.trainer.steps=3', 'stages.ppo.trainer.evalEvery=2', 'stages.ppo.trainer.evalPrompts=2',
  'stages.ppo.trainer.evalSamplesPerPrompt=1',
].flatMap((override) => ['--set', override]);

interface QuickStartCommand {
  /** The arguments after `npx recipe`, as the README shows them. */
  args: string[];
  /** The output the README shows for it, when it shows one (the error example). */
  shownOutput?: string;
}

/** Every `npx recipe ...` line in the README's "Quick start" section (up to the next heading), in order. */
function quickStartCommands(): QuickStartCommand[] {
  const readme = fs.readFileSync(path.join(REPOSITORY, 'README.md'), 'utf8');
  const section = /^## Quick start\n([\s\S]*?)\n#{2,3} /m.exec(readme)?.[1];
  if (!section) throw new Error('README.md has no "## Quick start" section');
  const commands: QuickStartCommand[] = [];
  for (const block of section.matchAll(/```(?:sh)?\n([\s\S]*?)```/g)) {
    const lines = block[1]!.split('\n');
    lines.forEach((line, index) => {
      const command = /^(?:\$ )?npx recipe (.*?)\s*(?:#.*)?$/.exec(line)?.[1];
      if (!command) return;
      const shown = line.startsWith('$ ') ? lines.slice(index + 1).join('\n').trim() : undefined;
      commands.push({ args: command.split(/\s+/), ...(shown ? { shownOutput: shown } : {}) });
    });
  }
  return commands;
}

function recipe(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [RECIPE_COMMAND, ...args], {
      cwd,
      env: { ...process.env, VITEST: '', CI: 'true', POSTTRAIN_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

let workDir: string;
const commands = quickStartCommands();
const results: { args: string[]; code: number | null; stdout: string; stderr: string }[] = [];

beforeAll(async () => {
  // A user's checkout: `recipes/` where the README says, `runs/` created by the first command.
  workDir = temporaryDirectory('quick-start');
  fs.symlinkSync(path.join(REPOSITORY, 'recipes'), path.join(workDir, 'recipes'));
  for (const { args } of commands) {
    const full = args[0] === 'run' ? [...args, ...TINY_BUDGET] : args;
    results.push({ args, ...(await recipe(full, workDir)) });
  }
}, 900_000);

afterAll(() => {
  if (workDir && process.env.KEEP_E2E !== '1') fs.rmSync(workDir, { recursive: true, force: true });
});

describe("the README's quick start, in order, on a tiny budget", () => {
  it('reads the commands the README shows: run, report, dry run, resume, status and the error example', () => {
    const verbs = commands.map(({ args }) => `${args[0]}${args.includes('--dry-run') ? ' --dry-run' : ''}`);
    expect(verbs).toEqual(expect.arrayContaining(['run', 'report', 'run --dry-run', 'resume', 'status']));
    expect(verbs.indexOf('run')).toBeLessThan(verbs.indexOf('report'));
  });

  it('exits 0 from every command except the error example, which exits 2 with the message the README shows', () => {
    commands.forEach(({ shownOutput }, index) => {
      const result = results[index]!;
      const label = `recipe ${result.args.join(' ')}\n${result.stderr.slice(-2000)}`;
      if (shownOutput === undefined) {
        expect(result.code, label).toBe(0);
        return;
      }
      expect(result.code, label).toBe(2);
      // The README shortens the list of allowed keys with "...".
      for (const line of shownOutput.split('\n')) expect(result.stderr, label).toContain(line.trim().replace(/, \.\.\.$/, ''));
      expect(result.stderr, label).not.toMatch(/^\s+at /m);
    });
  });

  it('leaves one recipe directory with every stage, the report and the plan of the same stages', () => {
    const runDir = path.join(workDir, 'runs', 'ppo');
    for (const stage of ['sft', 'reward', 'ppo']) {
      expect(fs.existsSync(path.join(runDir, stage, 'summary.json')), stage).toBe(true);
    }
    const reportIndex = commands.findIndex(({ args }) => args[0] === 'report');
    const out = results[reportIndex]!.stdout.trim();
    const report = fs.readFileSync(path.resolve(workDir, out), 'utf8');
    expect(report).toMatch(/<svg/);
    // What the policy says at each evaluation: in metrics.jsonl, in summary.json and on the report.
    const ppoLines = fs.readFileSync(path.join(runDir, 'ppo', 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const evaluated = ppoLines.find((line) => Array.isArray(line.evalSamples));
    expect(evaluated?.evalSamples).toEqual(expect.arrayContaining([{ prompt: expect.any(String), completion: expect.any(String), goldReward: expect.any(Number) }]));
    const summary = JSON.parse(fs.readFileSync(path.join(runDir, 'ppo', 'summary.json'), 'utf8')) as { finalEvalSamples?: unknown[] };
    expect(summary.finalEvalSamples?.length).toBeGreaterThan(0);
    expect(report).toContain('What the policy says');
    const planIndex = commands.findIndex(({ args }) => args.includes('--dry-run'));
    const plan = JSON.parse(results[planIndex]!.stdout) as { directory: string; stages: { stage: string }[] };
    expect(plan.stages.map(({ stage }) => stage)).toEqual(['sft', 'reward', 'ppo']);
    expect(path.resolve(workDir, plan.directory)).toBe(runDir);
  });

  it('resumes a finished recipe by reusing its stages and shows each stage in status', () => {
    const statusIndex = commands.findIndex(({ args }) => args[0] === 'status');
    const status = results[statusIndex]!.stdout;
    for (const stage of ['sft', 'reward', 'ppo']) expect(status).toContain(stage);
    expect(status).toMatch(/finished/);
  });
});
