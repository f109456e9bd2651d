import type { MetricObjectWithValues, MetricValue, Registry } from 'prom-client';
import { withTimeout } from '../with-timeout.ts';

/** prom-client JSON of one process's registry (`registry.getMetricsAsJSON()`). */
export type MetricsSnapshot = MetricObjectWithValues<MetricValue<string>>[];

/** A process whose metrics this registry shows: labels added to each of its series, and how to read them. */
export interface RemoteMetricsSource {
  /** e.g. `{ actor: 'policy-a1' }`, so the series of several processes stay apart. */
  labels: Record<string, string>;
  fetch(): Promise<MetricsSnapshot>;
}

/** Name, help and type of a metric that other processes record. */
export interface RemoteMetricDescriptor {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary';
}

/** A source that does not answer within this time is shown with the values it last gave. */
const FETCH_TIMEOUT_MS = 2_000;
/** One scrape reads each source once, however many metrics it serves. */
const SNAPSHOT_REUSE_MS = 500;

interface Hub {
  sources: Set<{ source: RemoteMetricsSource; last: MetricsSnapshot }>;
  snapshot: { at: number; values: Promise<Map<string, MetricValue<string>[]>> } | undefined;
}

const hubs = new WeakMap<Registry, Hub>();

/**
 * Shows metrics that other processes record (a role worker's collective timings) on `registry`, so one `/metrics`
 * endpoint on the driver covers them: each scrape reads every source, adds its labels to its series and serves
 * them under the descriptors' names. Returns a function that removes the sources again (their series disappear).
 *
 * @example
 * const detach = addRemoteMetrics(runtime.metrics, COLLECTIVE_METRICS, hosts.map((host) => ({
 *   labels: { actor: host.name },
 *   fetch: () => host.call('metricsSnapshot'),
 * })));
 */
export function addRemoteMetrics(registry: Registry, descriptors: readonly RemoteMetricDescriptor[], sources: RemoteMetricsSource[]): () => void {
  let hub = hubs.get(registry);
  if (!hub) hubs.set(registry, (hub = { sources: new Set(), snapshot: undefined }));
  const current = hub;
  for (const descriptor of descriptors) {
    if (registry.getSingleMetric(descriptor.name)) continue;
    registry.registerMetric({
      name: descriptor.name,
      help: descriptor.help,
      type: descriptor.type,
      aggregator: 'sum',
      get: async () => ({ name: descriptor.name, help: descriptor.help, type: descriptor.type, aggregator: 'sum', values: (await read(current)).get(descriptor.name) ?? [] }),
      reset: () => {},
    } as never);
  }
  const entries = sources.map((source) => ({ source, last: [] as MetricsSnapshot }));
  for (const entry of entries) hub.sources.add(entry);
  return () => {
    for (const entry of entries) current.sources.delete(entry);
    current.snapshot = undefined;
  };
}

function read(hub: Hub): Promise<Map<string, MetricValue<string>[]>> {
  const now = performance.now();
  if (hub.snapshot && now - hub.snapshot.at < SNAPSHOT_REUSE_MS) return hub.snapshot.values;
  const values = Promise.all(
    [...hub.sources].map(async (entry) => {
      try {
        entry.last = await withTimeout(entry.source.fetch(), FETCH_TIMEOUT_MS);
      } catch {
        // A busy or dead worker: keep what it said last time rather than fail the whole scrape.
      }
      return { labels: entry.source.labels, metrics: entry.last };
    }),
  ).then((results) => {
    const byName = new Map<string, MetricValue<string>[]>();
    for (const { labels, metrics } of results) {
      for (const metric of metrics) {
        const list = byName.get(metric.name) ?? [];
        for (const value of metric.values) list.push({ ...value, labels: { ...value.labels, ...labels } });
        byName.set(metric.name, list);
      }
    }
    return byName;
  });
  hub.snapshot = { at: now, values };
  return values;
}
