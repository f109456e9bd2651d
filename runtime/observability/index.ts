/**
 * What the runtime itself needs to be seen: the Prometheus `/metrics` server, metrics read from role hosts'
 * registries, and progress bars that share the terminal with the logger. Knows nothing of runs, methods or studies
 * (those are in ../../observe/).
 */
export { isLoopback, startMetricsServer, type MetricsServer, type MetricsServerOptions } from './metrics-server.ts';
export { createProgress, sharedProgress, type Progress, type ProgressBar, type ProgressFields, type ProgressOptions } from './progress.ts';
export { addRemoteMetrics, type MetricsSnapshot, type RemoteMetricDescriptor, type RemoteMetricsSource } from './remote-metrics.ts';
