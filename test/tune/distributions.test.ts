import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../runtime/errors.ts';
import {
  categoricalDistribution,
  contains,
  distributionFromJson,
  distributionToJson,
  floatDistribution,
  intDistribution,
  isSingle,
  toExternal,
  toInternal,
} from '../../tune/distributions.ts';

describe('distributions', () => {
  it("serialise exactly as Optuna's distribution_to_json", () => {
    expect(distributionToJson(floatDistribution(1e-5, 1, { log: true }))).toBe(
      '{"name": "FloatDistribution", "attributes": {"step": null, "low": 1e-05, "high": 1.0, "log": true}}',
    );
    expect(distributionToJson(floatDistribution(0, 1, { step: 0.1 }))).toBe(
      '{"name": "FloatDistribution", "attributes": {"step": 0.1, "low": 0.0, "high": 1.0, "log": false}}',
    );
    expect(distributionToJson(intDistribution(1, 10, { step: 3 }))).toBe('{"name": "IntDistribution", "attributes": {"log": false, "step": 3, "low": 1, "high": 10}}');
    expect(distributionToJson(categoricalDistribution(['a', 1, null, 2.5, true]))).toBe(
      '{"name": "CategoricalDistribution", "attributes": {"choices": ["a", 1, null, 2.5, true]}}',
    );
  });

  it('round-trip through JSON, including the pre-3.0 names Optuna still reads', () => {
    for (const distribution of [floatDistribution(0.1, 0.3, { step: 0.05 }), intDistribution(8, 512, { log: true }), categoricalDistribution([null, 'x'])]) {
      expect(distributionFromJson(distributionToJson(distribution))).toEqual(distribution);
    }
    expect(distributionFromJson('{"name": "LogUniformDistribution", "attributes": {"low": 1e-05, "high": 0.1}}')).toEqual(floatDistribution(1e-5, 0.1, { log: true }));
    expect(distributionFromJson('{"name": "DiscreteUniformDistribution", "attributes": {"low": 0.0, "high": 1.0, "q": 0.25}}')).toEqual(floatDistribution(0, 1, { step: 0.25 }));
    expect(distributionFromJson('{"name": "IntUniformDistribution", "attributes": {"low": 0, "high": 9, "step": 3}}')).toEqual(intDistribution(0, 9, { step: 3 }));
  });

  it('lower high onto the step grid with decimal arithmetic, as Optuna does', () => {
    expect(floatDistribution(0, 1, { step: 0.1 }).high).toBe(1);
    expect(floatDistribution(0, 1, { step: 0.3 }).high).toBe(0.9);
    expect(floatDistribution(0.1, 0.35, { step: 0.1 }).high).toBe(0.3);
    expect(intDistribution(1, 10, { step: 4 }).high).toBe(9);
    expect(isSingle(floatDistribution(0, 0.05, { step: 0.1 }))).toBe(true);
  });

  it('map categorical choices to their index and back; ints truncate like int()', () => {
    const choices = categoricalDistribution(['adam', null, 3]);
    expect(toInternal(choices, null)).toBe(1);
    expect(toExternal(choices, 2)).toBe(3);
    expect(toExternal(intDistribution(0, 9), 7.0)).toBe(7);
    expect(contains(intDistribution(1, 10, { step: 3 }), 5)).toBe(false);
    expect(contains(floatDistribution(0, 1, { step: 0.1 }), 0.30000000000000004)).toBe(true);
  });

  it('reject bad bounds with an error naming the field', () => {
    expect(() => floatDistribution(1, 0, {}, "suggestFloat('lr')")).toThrow(/suggestFloat\('lr'\)\.low: low must be <= high/);
    expect(() => floatDistribution(0, 1, { log: true })).toThrow(ConfigError);
    expect(() => floatDistribution(0.1, 1, { log: true, step: 0.1 })).toThrow(/step cannot be combined with log/);
    expect(() => intDistribution(0, 10, { log: true })).toThrow(/low must be >= 1/);
    expect(() => categoricalDistribution([])).toThrow(/at least one/);
  });
});
