// Bundles the widget into dist/widget/widget.js: one ES module with Lit and
// the widget's protobuf codec inside. Prints the gzipped size and fails the
// build above the 30 KB budget (docs/widget.md says why the budget holds).
import { build } from 'esbuild';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist/widget/widget.js');
const budget = 30 * 1024;

mkdirSync(dirname(out), { recursive: true });
const result = await build({
  entryPoints: [join(root, 'widget/index.ts')],
  bundle: true,
  format: 'esm',
  minify: true,
  target: 'es2022',
  write: false,
  outfile: out,
  legalComments: 'none',
  tsconfig: join(root, 'tsconfig.json'),
  logLevel: 'warning',
});
const code = result.outputFiles[0].contents;
// Write beside and rename, so a server or a test reading the file never sees half of it.
const tmp = `${out}.${process.pid}.tmp`;
writeFileSync(tmp, code);
renameSync(tmp, out);
const gz = gzipSync(readFileSync(out), { level: 9 }).length;
console.log(`widget: dist/widget/widget.js ${(code.length / 1024).toFixed(1)} KB, ${(gz / 1024).toFixed(1)} KB gzipped (budget 30 KB)`);
if (gz > budget) {
  console.error('widget bundle is over its 30 KB gzipped budget');
  process.exitCode = 1;
}
