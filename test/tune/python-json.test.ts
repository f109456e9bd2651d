import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parsePythonJson, PythonFloat, pythonFloatRepr, toPythonJson } from '../../tune/storage/python-json.ts';

describe('Python-compatible JSON', () => {
  it('writes floats the way repr() does', () => {
    const cases: [number, string][] = [
      [1, '1.0'],
      [0, '0.0'],
      [-0, '-0.0'],
      [1e-5, '1e-05'],
      [0.0001, '0.0001'],
      [123.456, '123.456'],
      [1e16, '1e+16'],
      [1e15, '1000000000000000.0'],
      [2.5e-7, '2.5e-07'],
      [-1.5e300, '-1.5e+300'],
      [0.1 + 0.2, '0.30000000000000004'],
      [NaN, 'NaN'],
      [Infinity, 'Infinity'],
    ];
    for (const [value, expected] of cases) expect(pythonFloatRepr(value)).toBe(expected);
  });

  it('writes documents byte-identical to json.dumps', () => {
    const value = { k: [1, 2.5, 'é\n"', null, true], nested: { x: new PythonFloat(3) }, big: 1e300, emoji: '✓😀' };
    expect(toPythonJson(value)).toBe('{"k": [1, 2.5, "\\u00e9\\n\\"", null, true], "nested": {"x": 3.0}, "big": 1e+300, "emoji": "\\u2713\\ud83d\\ude00"}');
    const python = spawnSync('/usr/bin/python3', ['-c', 'import json; print(json.dumps({"k": [1, 2.5, "é\\n\\"", None, True], "nested": {"x": 3.0}, "big": 1e300, "emoji": "✓😀"}))'], { encoding: 'utf8' });
    if (python.status === 0) expect(toPythonJson(value)).toBe(python.stdout.trim());
  });

  it('reads the NaN and Infinity tokens Python writes', () => {
    expect(parsePythonJson('{"a": [NaN, Infinity, -Infinity, 1e-05], "b": "NaN"}')).toEqual({ a: [NaN, Infinity, -Infinity, 1e-5], b: 'NaN' });
  });
});
