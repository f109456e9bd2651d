import { describe } from 'vitest';
import { collectiveConformance } from './conformance.ts';
import { forkedPool, inProcessPool } from './members.ts';

describe('shm backend, ranks in one process', () => {
  collectiveConformance(() => inProcessPool('shm'));
});
describe('shm backend, ranks in forked processes', () => {
  collectiveConformance(() => forkedPool('shm'));
});
