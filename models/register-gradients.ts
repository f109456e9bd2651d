/**
 * Registers tfjs's gradient functions (a side-effect import).
 *
 * `@tensorflow/tfjs-core` alone registers no gradients in Node: its CommonJS bundle leaves them out and its
 * `dist/register_all_gradients.js` is browser-style ESM that Node cannot load. The union package
 * `@tensorflow/tfjs` carries them in its Node bundle (this is also how tfjs-node gets them), so importing it
 * registers every gradient against the one shared tfjs-core engine.
 */
import '@tensorflow/tfjs';
