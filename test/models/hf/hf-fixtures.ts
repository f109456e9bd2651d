/** Where the Hugging Face reference fixtures live (../shared/fixtures/hf, beside the repository root). */
import { join } from 'node:path';

export const FIXTURES = join(import.meta.dirname, '../../../../shared/fixtures/hf');
