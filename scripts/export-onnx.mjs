#!/usr/bin/env node
/**
 * `npm run export-onnx [-- tiny base]`: writes weights/<preset>.onnx from weights/<preset>.json + .bin
 * through the PyTorch mirror (scripts/export-onnx.py). Needs a Python with torch (1.13 or later):
 * $SIMPLEIR_PYTHON, else /usr/bin/python3, else python3 on the PATH. Run it after the weights change;
 * test/onnx-export.test.ts fails until then (the .onnx records the SHA-256 of the weights it holds).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const presets = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['tiny', 'base'];

function pythonWithTorch() {
  const candidates = [process.env.SIMPLEIR_PYTHON, '/usr/bin/python3', 'python3'].filter(Boolean);
  for (const python of candidates) {
    const r = spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' });
    if (r.status === 0) return python;
  }
  throw new Error(`no Python with torch found (tried ${candidates.join(', ')}): install torch, or set SIMPLEIR_PYTHON`);
}

const python = pythonWithTorch();
for (const preset of presets) {
  execFileSync(python, [join(root, 'scripts/export-onnx.py'), join(root, 'weights', `${preset}.json`), join(root, 'weights', `${preset}.onnx`)], { stdio: 'inherit' });
}
