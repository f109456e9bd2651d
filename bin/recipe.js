#!/usr/bin/env node
// The `recipe` command. posttrain ships TypeScript sources; tsx compiles them on load so that recipes
// (`recipes/*.ts`, or a .ts file anywhere, ESM or CommonJS) and the framework need no build step.
import { register as registerCommonJs } from 'tsx/cjs/api';
import { register } from 'tsx/esm/api';

registerCommonJs();
register();
await import('./recipe.ts');
