// Bundles the widget into dist/widget/widget.js (one ES module).
import { build } from 'esbuild';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
const entry = 'widget/index.ts';
mkdirSync('dist/widget', { recursive: true });
if (!existsSync(entry)) {
  writeFileSync('dist/widget/widget.js', '// widget not built yet\n');
} else {
  await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    minify: true,
    target: 'es2022',
    outfile: 'dist/widget/widget.js',
    legalComments: 'none',
  });
}
