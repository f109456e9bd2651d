/**
 * Whether the Slurm tests can run here; the test Slurm itself is started by `deploy/dev-cluster/slurm.ts`, which
 * the benches use too.
 */
import { slurmSupport } from '../../deploy/dev-cluster/slurm.ts';

/**
 * Whether Slurm tests can run here: in CI (`CI=true`, which installs slurm-wlm and munge and runs as root) a
 * missing piece is a failure, thrown at once; elsewhere the tests are skipped with a loud warning, never silently.
 *
 * @example
 * describe.skipIf(!slurmAvailable())('on Slurm', () => { ... });
 */
export function slurmAvailable(): boolean {
  const support = slurmSupport();
  if (support.ok) return true;
  if (process.env.CI === 'true') throw new Error(`Slurm tests need a test Slurm cluster: ${support.reason}`);
  process.stderr.write(`\n*** SKIPPING Slurm tests: ${support.reason} (they run in CI as root) ***\n\n`);
  return false;
}
