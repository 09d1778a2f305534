// Bundles the widget into dist/widget/: widget.js, one ES module with Lit and
// the widget's protobuf codec inside, plus chunks/*.js for what the widget
// loads lazily with `import()` (play cards, replay mode, the moderator
// console, extra languages). Prints the initial size (widget.js and every chunk
// it imports statically: what a page downloads before anything draws) and each
// lazy chunk, and fails the build when the initial size is above the 30 KB
// gzipped budget (docs/widget.md says why the budget holds).
import { build } from 'esbuild';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist/widget');
const chunkDir = join(outdir, 'chunks');
const budget = 30 * 1024;

mkdirSync(chunkDir, { recursive: true });
const result = await build({
  entryPoints: { widget: join(root, 'widget/index.ts') },
  absWorkingDir: root,
  bundle: true,
  splitting: true,
  format: 'esm',
  minify: true,
  target: 'es2022',
  write: false,
  outdir,
  // Content-hashed, so a page that cached widget.js never pairs it with another build's chunk.
  chunkNames: 'chunks/[name]-[hash]',
  metafile: true,
  legalComments: 'none',
  tsconfig: join(root, 'tsconfig.json'),
  logLevel: 'warning',
});

// Write each file beside and rename, so a server or a test reading it never sees half of it.
// Concurrent builds of the same sources write the same names with the same bytes.
const written = new Set();
for (const file of result.outputFiles) {
  const tmp = `${file.path}.${process.pid}.tmp`;
  writeFileSync(tmp, file.contents);
  renameSync(tmp, file.path);
  written.add(file.path);
}
for (const name of readdirSync(chunkDir)) {
  const path = join(chunkDir, name);
  if (name.endsWith('.js') && !written.has(path)) rmSync(path, { force: true });
}

const gzipped = (path) => gzipSync(readFileSync(path), { level: 9 }).length;
const outputs = result.metafile.outputs;
const key = (path) => relative(root, path).split('\\').join('/');
const entry = key(join(outdir, 'widget.js'));
const initial = new Set();
const visit = (name) => {
  if (initial.has(name)) return;
  initial.add(name);
  for (const dep of outputs[name].imports) if (dep.kind === 'import-statement') visit(dep.path);
};
visit(entry);
const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
const initialGz = [...initial].reduce((sum, name) => sum + gzipped(join(root, name)), 0);
const initialRaw = [...initial].reduce((sum, name) => sum + outputs[name].bytes, 0);
console.log(`widget: dist/widget/widget.js ${kb(initialRaw)}, ${kb(initialGz)} gzipped with its static chunks (budget 30 KB)`);
for (const name of Object.keys(outputs)
  .filter((n) => n.endsWith('.js') && !initial.has(n))
  .sort()) {
  console.log(`widget: lazy ${name.replace('dist/widget/', '')} ${kb(gzipped(join(root, name)))} gzipped`);
}
if (initialGz > budget) {
  console.error('widget bundle is over its 30 KB gzipped budget');
  process.exitCode = 1;
}
