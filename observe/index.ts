/**
 * What a person looks at: the files a run writes (metrics.jsonl, summary.json, session.json, TensorBoard events) and
 * their readers, the training metrics a trainer serves, plain-text status (`recipe status`) and self-contained HTML
 * reports (`recipe report`) of runs, recipes, sweeps and the reward-KL frontier. Reads studies through tune/storage.
 * Knows numbers, files and HTML; nothing of tensors. The runtime's own /metrics server and progress bars stay in
 * runtime/observability/.
 */
export type {
  CheckpointRecord,
  EvalSample,
  MetricsRecord,
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
export { createTrainingMetrics, type TrainingMetrics } from './training-metrics.ts';
export { writeRunReport, runReportBody, type ReportOptions, type ReportResult } from './report/run-report.ts';
export { writeSweepReport, sweepReportBody } from './report/sweep-report.ts';
export { writeFrontierReport, frontierSection } from './report/frontier-report.ts';
export { formatRunStatus, formatSweepStatus, generationRates, lastCheckpoint, plannedSteps, runState, stepsPerSecond, summarizeRun, summarizeSweep } from './status.ts';
export { SESSION_FILE, sessionAlive, writeSessionFile } from './session-file.ts';
export { readPipeline, runDirectoryKind } from './pipeline-reader.ts';
export { formatPipelineStatus, summarizePipeline, summarizeRunsDirectory } from './status-overview.ts';
export { writePipelineReport, pipelineReportBody } from './report/pipeline-report.ts';
