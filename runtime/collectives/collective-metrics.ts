import { Counter, Histogram, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { Communicator } from './communicator.ts';

/**
 * Collective timings of this process, in a registry of its own: the ranks live in worker processes, so the driver
 * reads these through its workers (`collectiveMetricsSnapshot`) and serves them on its `/metrics` (see
 * `addRemoteMetrics`). Wall time of an operation includes waiting for the slowest rank, as NCCL's timings do: a rank
 * whose allreduces take long is usually waiting for a straggler.
 */
const registry = new Registry();

/** Names, help and types of the collective metrics, for a process that shows them on another's behalf. */
export const COLLECTIVE_METRICS = [
  { name: 'posttrain_collective_seconds', help: 'Wall time of collective operations on this rank, from call to result (includes waiting for the slowest rank).', type: 'histogram' },
  { name: 'posttrain_collective_bytes_total', help: 'Bytes passed to collective operations on this rank (the input buffer).', type: 'counter' },
  { name: 'posttrain_collective_failures_total', help: 'Collective operations that failed (timeout, lost peer, mismatch, destroyed).', type: 'counter' },
] as const;

const seconds = new Histogram({
  name: COLLECTIVE_METRICS[0].name,
  help: COLLECTIVE_METRICS[0].help,
  labelNames: ['op', 'backend', 'world_size'],
  buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 300],
  registers: [registry],
});
const bytes = new Counter({ name: COLLECTIVE_METRICS[1].name, help: COLLECTIVE_METRICS[1].help, labelNames: ['op', 'backend', 'world_size'], registers: [registry] });
const failures = new Counter({ name: COLLECTIVE_METRICS[2].name, help: COLLECTIVE_METRICS[2].help, labelNames: ['op', 'backend', 'world_size'], registers: [registry] });

const TIMED = ['allreduce', 'broadcast', 'allgather', 'reduceScatter', 'barrier'] as const;

/**
 * Times every operation of `communicator` into this process's collective metrics; returns the same object.
 *
 * @example
 * const communicator = instrumentCommunicator(await createShmCommunicator(id, options));
 */
export function instrumentCommunicator<T extends Communicator>(communicator: T): T {
  const labels = { backend: communicator.backend, world_size: String(communicator.worldSize) };
  for (const op of TIMED) {
    const original = (communicator[op] as (...args: unknown[]) => Promise<unknown>).bind(communicator);
    const timed = async (...args: unknown[]): Promise<unknown> => {
      const opLabels = { ...labels, op };
      const input = args[0];
      if (input instanceof Float32Array) bytes.inc(opLabels, input.byteLength);
      const started = performance.now();
      try {
        const result = await original(...args);
        seconds.observe(opLabels, (performance.now() - started) / 1000);
        return result;
      } catch (error) {
        failures.inc(opLabels);
        throw error;
      }
    };
    Object.defineProperty(communicator, op, { value: timed, configurable: true, writable: true });
  }
  return communicator;
}

/**
 * This process's collective metrics as prom-client JSON (what `registry.getMetricsAsJSON()` gives), for the driver.
 *
 * @example
 * const metrics = await collectiveMetricsSnapshot(); // [{ name: 'posttrain_collective_seconds', values: [...] }, ...]
 */
export function collectiveMetricsSnapshot(): Promise<MetricObjectWithValues<MetricValue<string>>[]> {
  return registry.getMetricsAsJSON();
}
