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
  PipelineData,
  RunData,
  RunSummary,
  SessionInfo,
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
export { createProgress, sharedProgress, type Progress, type ProgressBar, type ProgressFields, type ProgressOptions } from './progress.ts';
export { writeRunReport, runReportBody, type ReportOptions, type ReportResult } from './report/run-report.ts';
export { writeSweepReport, sweepReportBody } from './report/sweep-report.ts';
export { writeFrontierReport, frontierSection } from './report/frontier-report.ts';
export { formatRunStatus, formatSweepStatus, lastCheckpoint, plannedSteps, runState, stepsPerSecond, summarizeRun, summarizeSweep } from './status.ts';
export { SESSION_FILE, sessionAlive, writeSessionFile } from './session-file.ts';
export { readPipeline, runDirectoryKind } from './pipeline-reader.ts';
export { formatPipelineStatus, summarizePipeline, summarizeRunsDirectory } from './status-overview.ts';
export { writePipelineReport, pipelineReportBody } from './report/pipeline-report.ts';
export { addRemoteMetrics, type MetricsSnapshot, type RemoteMetricDescriptor, type RemoteMetricsSource } from './remote-metrics.ts';
