/**
 * Whether the etcd tests can run here; the members themselves are started by `deploy/dev-cluster/etcd.ts`, which
 * the benches use too.
 */
import { execFileSync } from 'node:child_process';

/**
 * Whether the `etcd` binary is installed: tests fail when `CI=true` (CI installs it) and are skipped with a loud
 * warning otherwise, like the network-namespace tests.
 *
 * @example
 * describe.skipIf(!etcdAvailable())('on etcd', () => { ... });
 */
export function etcdAvailable(): boolean {
  try {
    execFileSync('etcd', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    const reason = '`etcd` is not installed (apt-get install etcd-server)';
    if (process.env.CI === 'true') throw new Error(`etcd tests need a real etcd: ${reason}`);
    process.stderr.write(`\n*** SKIPPING etcd tests: ${reason} ***\n\n`);
    return false;
  }
}
