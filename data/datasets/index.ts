/** Datasets in TRL's formats from JSONL and Parquet files: validation before training, seeded order, exact resume. */
export { DataConfigSchema, type DataConfig, type DataConfigInput } from './data-config.ts';
export { DatasetStream, type DatasetCursorState } from './dataset-cursor.ts';
export { DatasetError, type DatasetErrorCode } from './dataset-error.ts';
export { DATASET_KINDS, STAGE_KINDS, columnsOf, detectKind, requireStageKind, type DatasetFormat, type DatasetKind, type DatasetStage, type DatasetStyle, type FormatColumn } from './dataset-format.ts';
export { DatasetSplit } from './dataset-split.ts';
export { JsonlSource } from './jsonl-source.ts';
export { loadDataset, openRowSource, type LoadedDataset } from './load-dataset.ts';
export { ParquetSource } from './parquet-source.ts';
export { extractPrompt, renderSample, type ChatTemplate, type RenderedSample } from './render-sample.ts';
export type { RowSource } from './row-source.ts';
export { MESSAGE_ROLES, type DatasetSample, type Message, type MessageRole, type Turns } from './sample.ts';
export { validateDataset, type ValidatedDataset } from './validate-dataset.ts';
export { validateRow, type ColumnMapping } from './validate-row.ts';
