import { describe } from 'vitest';
import { collectiveConformance } from './conformance.ts';
import { forkedPool, inProcessPool } from './members.ts';

describe('tcp backend, ranks in one process', () => {
  collectiveConformance(() => inProcessPool('tcp'));
});
describe('tcp backend, ranks in forked processes on loopback', () => {
  collectiveConformance(() => forkedPool('tcp'));
});
