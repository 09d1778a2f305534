// Bundles the analytics dashboard (uPlot and its page script) into
// dist/dashboard/dashboard.js and dashboard.css, served at /dashboard.
import { build } from 'esbuild';

await build({
  entryPoints: { dashboard: 'widget/dashboard/main.ts' },
  bundle: true,
  format: 'esm',
  minify: true,
  target: 'es2022',
  outdir: 'dist/dashboard',
  legalComments: 'none',
  logLevel: 'warning',
});
