/**
 * Checkpoints: stores (`s3://`, `file://`), the asynchronous writer, the verifying reader and retention.
 * The runtime knows nothing of tensors: shards are flat typed arrays, state is JSON.
 */
export type { CheckpointStore, StoredObject } from './store.ts';
export { CheckpointError } from './errors.ts';
export { S3CheckpointStore, MIN_PART_SIZE_BYTES, type S3StoreOptions } from './s3-store.ts';
export { FileCheckpointStore, type FileStoreOptions } from './file-store.ts';
export { openCheckpointStore, type OpenStoreOptions } from './open-store.ts';
export {
  CheckpointManifest,
  checkpointPrefix,
  LATEST_NAME,
  MANIFEST_NAME,
  parseStepDirectory,
  sha256Hex,
  STATE_NAME,
  stepDirectory,
  type ManifestObject,
  type ShardDtype,
} from './layout.ts';
export { takeSnapshot, type CheckpointInput, type CheckpointSnapshot } from './snapshot.ts';
export {
  CheckpointWriter,
  type CheckpointEvent,
  type CheckpointWriterOptions,
  type SaveHandle,
  type SaveOutcome,
} from './checkpoint-writer.ts';
export {
  findLatestVerified,
  listCheckpoints,
  loadCheckpoint,
  loadLatestVerified,
  readLatestPointer,
  type CheckpointProblem,
  type CheckpointSummary,
  type LoadedCheckpoint,
  type ReaderOptions,
  type VerifiedCheckpoint,
} from './checkpoint-reader.ts';
export { applyRetention, discardCheckpointsAfter } from './retention.ts';
