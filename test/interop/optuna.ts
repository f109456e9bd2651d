import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';
import { parsePythonJson } from '../../tune/storage/python-json.ts';

/**
 * Debian's interpreter: python3-optuna installs into its dist-packages, not into a pyenv or venv.
 * `POSTTRAIN_OPTUNA_PYTHON` points the tests at another interpreter that has Optuna.
 */
export const PYTHON = process.env.POSTTRAIN_OPTUNA_PYTHON ?? '/usr/bin/python3';
const BRIDGE = join(dirname(fileURLToPath(import.meta.url)), 'optuna_bridge.py');

function probe(): { version: string } | { missing: string } {
  const result = spawnSync(PYTHON, [BRIDGE, 'availability'], { encoding: 'utf8' });
  if (result.status === 0) return { version: (JSON.parse(result.stdout) as { optuna: string }).optuna };
  return { missing: (result.error?.message ?? result.stderr).trim().split('\n').pop() ?? 'unknown error' };
}

const availability = probe();
export const optunaVersion = 'version' in availability ? availability.version : undefined;

/** Runs the Optuna bridge and returns its JSON (NaN/inf arrive as strings). Throws with Optuna's stderr on failure. */
export function optuna(...args: string[]): any {
  const result = spawnSync(PYTHON, [BRIDGE, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`optuna_bridge.py ${args.join(' ')} failed:\n${result.stderr}`);
  return parsePythonJson(result.stdout);
}

/**
 * A describe block that needs the real Optuna. Without python3-optuna it FAILS under CI=true (CI installs the
 * Debian package, so a missing one is a broken CI) and is skipped loudly elsewhere.
 */
export function describeWithOptuna(name: string, body: () => void): void {
  if (optunaVersion !== undefined) {
    describe(`${name} (Optuna ${optunaVersion})`, body);
    return;
  }
  const reason = `python3-optuna is not importable by ${PYTHON}: ${'missing' in availability ? availability.missing : ''}. Install it: apt-get install -y python3-optuna`;
  if (process.env.CI === 'true') {
    describe(name, () => {
      it('needs the real Optuna', () => {
        throw new Error(reason);
      });
    });
    return;
  }
  console.warn(`\n!!!!! SKIPPING Optuna interop tests "${name}": ${reason}\n`);
  describe.skip(name, body);
}
