import type { ReduceOp } from './communicator.ts';
import { CollectiveError } from './errors.ts';

/** What a rank called at one position of the operation sequence; peers compare these to catch mismatches. */
export interface OperationSignature {
  kind: 'allreduce' | 'broadcast' | 'allgather' | 'reduceScatter' | 'barrier';
  /** Elements in the buffer (allgather: in each rank's input). */
  length: number;
  op?: ReduceOp;
  root?: number;
}

/** `allreduce(sum, 1000 floats)`: how an operation is named in error messages. */
export function describeSignature(signature: OperationSignature): string {
  const details = [
    signature.op,
    signature.root === undefined ? undefined : `root ${signature.root}`,
    signature.kind === 'barrier' ? undefined : `${signature.length} floats`,
  ].filter((part) => part !== undefined);
  return `${signature.kind}(${details.join(', ')})`;
}

function sameSignature(left: OperationSignature, right: OperationSignature): boolean {
  return left.kind === right.kind && left.length === right.length && left.op === right.op && left.root === right.root;
}

/**
 * Throw `COLLECTIVE_MISMATCH` if any peer called something other than `own` at operation number `sequence`.
 * The message lists what every disagreeing rank called, so the bug (a rank skipping a step, a different batch
 * size) is visible at once.
 */
export function checkSignatures(
  own: { rank: number; signature: OperationSignature },
  peers: Map<number, OperationSignature>,
  operation: string,
): void {
  const disagreeing = [...peers].filter(([, signature]) => !sameSignature(signature, own.signature));
  if (disagreeing.length === 0) return;
  const calls = [[own.rank, own.signature] as const, ...disagreeing]
    .map(([rank, signature]) => `rank ${rank} called ${describeSignature(signature)}`)
    .join(', ');
  throw new CollectiveError(
    'COLLECTIVE_MISMATCH',
    `${operation} does not match across ranks: ${calls}. Every rank must call the same collectives in the same order ` +
      'with the same reduce op, root and sizes.',
    { ranks: disagreeing.map(([rank]) => rank).sort((a, b) => a - b), operation },
  );
}
