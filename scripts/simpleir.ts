/** Runs the simpleir CLI from the TypeScript sources (development; the package's bin runs the built one). */
import { main } from '../src/cli/index.js';

await main();
