import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The README's runtime example must keep working exactly as printed there.
describe('README runtime quick start', () => {
  it('runs two ranks on a STRICT_SPREAD group over two logical nodes and frees everything', () => {
    const script = fileURLToPath(new URL('../../runtime/examples/quickstart.ts', import.meta.url));
    const output = execFileSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', env: { ...process.env, POSTTRAIN_LOG_LEVEL: 'warn' } });
    expect(output).toMatch(/policy policy-a1 rank 0 on node-\d with CUDA_VISIBLE_DEVICES=0/);
    expect(output).toContain('sums: [ 10, 10 ]');
    expect(output).toContain('scaled: [ [ 2, 4, 6, 8 ], [ 10, 20, 30, 40 ] ]');
    expect(output).toContain('free after remove: [ { CPU: 2, GPU: 4 }, { CPU: 2, GPU: 4 } ]');
  });
});
