#!/usr/bin/env node
// The simpleir command: runs the built CLI (npm run build first when working from a clone).
import('../dist/cli.js').then((m) => m.main()).catch((e) => {
  process.stderr.write(`simpleir: ${e && e.code === 'ERR_MODULE_NOT_FOUND' ? 'the package is not built; run `npm run build`' : e?.message ?? e}\n`);
  process.exitCode = 1;
});
