/**
 * Seeing a run: the files a run writes (metrics.jsonl, summary.json, TensorBoard events), the Prometheus endpoint,
 * progress bars, plain-text status and self-contained HTML reports. Knows numbers, files and HTML; nothing of tensors.
 */
export type {
  CheckpointRecord,
  MetricsRecord,
  OptunaDirection,
  OptunaDistribution,
  OptunaStudyDirectionRow,
  OptunaStudyRow,
  OptunaTrialIntermediateValueRow,
  OptunaTrialParamRow,
  OptunaTrialRow,
  OptunaTrialState,
  OptunaTrialUserAttributeRow,
  OptunaTrialValueRow,
  OptunaValueType,
  PhaseSeconds,
  RunData,
  RunSummary,
  SweepData,
  SweepTrial,
} from './formats.ts';
export { CONFIG_FILE, METRICS_FILE, MetricsWriter, SUMMARY_FILE, scalarsOf, type MetricsWriterOptions } from './metrics-writer.ts';
export { readMetrics, readRun } from './run-reader.ts';
export { bestTrial, listStudies, readSweep } from './sweep-reader.ts';
export { FILE_VERSION, TensorBoardWriter, type TensorBoardWriterOptions } from './tensorboard/event-writer.ts';
export { listEventFiles, readEventFile, readScalars, type ScalarPoint, type TensorBoardEvent } from './tensorboard/event-reader.ts';
export { frameRecord, readRecords } from './tensorboard/tfrecord.ts';
export { crc32c, maskedCrc32c } from './tensorboard/crc32c.ts';
export { isLoopback, startMetricsServer, type MetricsServer, type MetricsServerOptions } from './metrics-server.ts';
export { createTrainingMetrics, type TrainingMetrics } from './training-metrics.ts';
export { createProgress, type Progress, type ProgressBar, type ProgressFields, type ProgressOptions } from './progress.ts';
export { writeRunReport, runReportBody, type ReportOptions, type ReportResult } from './report/run-report.ts';
export { writeSweepReport, sweepReportBody } from './report/sweep-report.ts';
export { writeFrontierReport, frontierSection } from './report/frontier-report.ts';
export { formatSweepStatus, lastCheckpoint, summarizeRun, summarizeSweep } from './status.ts';
