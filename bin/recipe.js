#!/usr/bin/env node
// The `recipe` command. posttrain ships TypeScript sources; tsx compiles them on load so that recipes
// (`recipes/*.ts`) and the framework need no build step.
import { register } from 'tsx/esm/api';

register();
await import('./recipe.ts');
