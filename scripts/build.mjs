// Builds everything `npm start` runs: TypeScript to dist/, the generated
// protobuf module beside it, and the widget bundle.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync } from 'node:fs';

// Files moved or deleted in the source must not live on in dist/ from an older build.
for (const dir of ['bin', 'core', 'domain', 'edge', 'proto', 'sdk']) rmSync(`dist/${dir}`, { recursive: true, force: true });
execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
mkdirSync('dist/proto/gen', { recursive: true });
cpSync('proto/gen/barrage.js', 'dist/proto/gen/barrage.js');
// The SDK's types (`barrage/server`) import the generated module's declarations.
cpSync('proto/gen/barrage.d.ts', 'dist/proto/gen/barrage.d.ts');
await import('./build-widget.mjs');
await import('./build-dashboard.mjs');
