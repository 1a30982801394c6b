import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crdFiles } from './crd.js';

/** `npm run crds`: writes crds/ and the chart's copy from the zod schemas. */
for (const dir of ['crds', join('charts', 'switchyard', 'crds')]) {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of crdFiles()) {
    writeFileSync(join(dir, name), text);
    process.stdout.write(`wrote ${join(dir, name)}\n`);
  }
}
