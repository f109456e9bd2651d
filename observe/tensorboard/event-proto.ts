import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

/**
 * The Event and Summary message types, loaded once from `event.proto` beside this file with protobufjs (its
 * reflection API encodes and decodes; no generated code to keep in sync).
 */
let root: protobuf.Root | undefined;

function loadRoot(): protobuf.Root {
  root ??= protobuf.loadSync(fileURLToPath(new URL('./event.proto', import.meta.url)));
  return root;
}

/** `tensorflow.Event`. */
export function eventType(): protobuf.Type {
  return loadRoot().lookupType('tensorflow.Event');
}

/** `tensorflow.SessionLog.SessionStatus` values by name. */
export function sessionStatus(): Record<string, number> {
  return loadRoot().lookupEnum('tensorflow.SessionLog.SessionStatus').values;
}
