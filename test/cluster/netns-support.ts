import { netnsSupport } from '../../deploy/dev-cluster/netns.ts';

/**
 * Whether cluster tests can run here. Without `ip` or root they cannot: in CI (`CI=true`, which installs iproute2
 * and runs as root) that is a failure, thrown at once; elsewhere the tests are skipped with a loud warning, never
 * silently.
 *
 * @example
 * describe.skipIf(!netnsAvailable())('across namespaces', () => { ... });
 */
export function netnsAvailable(): boolean {
  const support = netnsSupport();
  if (support.ok) return true;
  if (process.env.CI === 'true') throw new Error(`cluster tests need network namespaces: ${support.reason}`);
  process.stderr.write(`\n*** SKIPPING cluster tests: ${support.reason} (they run in CI as root) ***\n\n`);
  return false;
}
