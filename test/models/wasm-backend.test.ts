import { backendConformance } from './backend-conformance.ts';
import { useBackend } from './backends.ts';

backendConformance('wasm', () => useBackend('wasm'));
