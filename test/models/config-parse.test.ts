import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError } from '../../runtime/errors.ts';
import { applyOverrides, parseConfig } from '../../models/config-parse.ts';
import { thrownBy } from '../expect-error.ts';

const schema = z.strictObject({
  algo: z.strictObject({ clipRange: z.number().positive().default(0.2), estimator: z.enum(['k1', 'k2']).default('k1') }).prefault({}),
  steps: z.int().min(1).default(10),
});

const issuesOf = (action: () => unknown) => thrownBy(action, ConfigError).issues;

describe('parseConfig', () => {
  it('fills defaults for an empty input', () => {
    expect(parseConfig(schema, {})).toEqual({ algo: { clipRange: 0.2, estimator: 'k1' }, steps: 10 });
  });

  it('reports every problem at once, each with its dotted path', () => {
    const issues = issuesOf(() => parseConfig(schema, { algo: { clipRange: -1, estimator: 'k9' }, steps: 'many' }, 'ppo'));
    expect(issues.map((issue) => issue.path).sort()).toEqual(['ppo.algo.clipRange', 'ppo.algo.estimator', 'ppo.steps']);
    expect(issues.find((issue) => issue.path === 'ppo.algo.estimator')!.message).toContain('"k1"|"k2"');
  });

  it('names an unknown key and lists the allowed ones', () => {
    const [issue] = issuesOf(() => parseConfig(schema, { algo: { clip: 0.1 } }));
    expect(issue!.path).toBe('algo');
    expect(issue!.message).toBe('unknown key "clip"; allowed keys: clipRange, estimator');
  });
});

describe('applyOverrides', () => {
  it('parses JSON values and falls back to strings, creating missing objects', () => {
    const result = applyOverrides({ algo: { clipRange: 0.2 } }, ['algo.clipRange=0.1', 'algo.estimator=k2', 'steps=5', 'x.y=[1,2]']);
    expect(result).toEqual({ algo: { clipRange: 0.1, estimator: 'k2' }, steps: 5, x: { y: [1, 2] } });
  });

  it('does not modify its input', () => {
    const input = { algo: { clipRange: 0.2 } };
    applyOverrides(input, ['algo.clipRange=0.3']);
    expect(input.algo.clipRange).toBe(0.2);
  });

  it('rejects malformed overrides and paths through non-objects', () => {
    const issues = issuesOf(() => applyOverrides({ steps: 3 }, ['novalue', '=3', 'steps.inner=1']));
    expect(issues).toHaveLength(3);
    expect(issues[2]!.message).toContain('"steps" is 3, not an object');
  });
});
