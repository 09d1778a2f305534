// Builds everything `npm start` runs: TypeScript to dist/, the generated
// protobuf module beside it, and the widget bundle.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync } from 'node:fs';

execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
mkdirSync('dist/proto/gen', { recursive: true });
cpSync('proto/gen/barrage.js', 'dist/proto/gen/barrage.js');
await import('./build-widget.mjs');
await import('./build-dashboard.mjs');
