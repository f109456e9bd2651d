/**
 * A decorator around a real store for tests: records the order in which puts completed, and can hold puts at a
 * gate (to keep an upload "in flight" for as long as a test needs). It adds no fake behaviour of its own.
 */
import type { CheckpointStore, StoredObject } from '../../../runtime/checkpoint/store.ts';

export class RecordingStore implements CheckpointStore {
  /** Keys of puts that succeeded, in completion order. */
  readonly completedPuts: string[] = [];
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;

  constructor(private readonly inner: CheckpointStore) {}

  get uri(): string {
    return this.inner.uri;
  }

  /** Holds every put until `release()`. */
  hold(): void {
    this.gate ??= new Promise((resolve) => (this.openGate = resolve));
  }

  release(): void {
    this.openGate?.();
    this.gate = undefined;
  }

  async put(key: string, body: Uint8Array): Promise<void> {
    if (this.gate) await this.gate;
    await this.inner.put(key, body);
    this.completedPuts.push(key);
  }

  get(key: string): Promise<Uint8Array> {
    return this.inner.get(key);
  }

  head(key: string): Promise<{ size: number } | undefined> {
    return this.inner.head(key);
  }

  list(prefix: string): Promise<StoredObject[]> {
    return this.inner.list(prefix);
  }

  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Asserts the write-order invariant on recorded puts: every `latest` follows its manifest, which follows its objects. */
export function assertManifestLastOrder(run: string, puts: readonly string[], objectsPerCheckpoint: number): void {
  puts.forEach((key, index) => {
    if (key === `${run}/latest`) {
      const manifest = puts[index - 1];
      if (!manifest?.endsWith('/manifest.json')) throw new Error(`latest written at ${index} without a manifest just before it`);
      const directory = manifest.slice(0, -'manifest.json'.length);
      const before = puts.slice(0, index - 1).filter((each) => each.startsWith(directory));
      if (new Set(before).size < objectsPerCheckpoint) {
        throw new Error(`${directory}: manifest written after only ${new Set(before).size} of ${objectsPerCheckpoint} objects`);
      }
    }
  });
}
