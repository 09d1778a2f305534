// Compiles the benchmark (bench/lib, bench/fanout, bench/peers) to dist/bench
// as plain ES modules beside the built server, so every process the harness
// measures runs compiled JavaScript with no TypeScript loader in its memory.
// Run after `npm run build` (the harness imports dist/core).
import { build } from 'esbuild';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const dirs = ['bench/lib', 'bench/fanout', 'bench/peers'];
const entryPoints = dirs.flatMap((d) =>
  readdirSync(d)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(d, f)),
);
await build({
  entryPoints,
  outdir: 'dist/bench',
  outbase: 'bench',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
});
