// Writes docs/openapi.json from the route table (bin/openapi.ts); `--check` exits 1 when the file differs.
// Run: node --import tsx scripts/gen-openapi.ts [--check]
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeProblems } from '../domain/openapi.js';
import { packageRoot } from '../domain/paths.js';
import { everyRoute, openApiFileText } from '../bin/openapi.js';

const file = join(packageRoot(), 'docs/openapi.json');
const problems = describeProblems(await everyRoute());
for (const p of problems) console.error(p);
const text = await openApiFileText();
if (process.argv.includes('--check')) {
  const current = readFileSync(file, 'utf8');
  if (current !== text || problems.length) {
    console.error('docs/openapi.json is not what the routes describe: run node --import tsx scripts/gen-openapi.ts');
    process.exit(1);
  }
} else {
  writeFileSync(file, text);
  console.log(`wrote ${file}${problems.length ? ` (${problems.length} routes lack descriptions, above)` : ''}`);
}
process.exit(problems.length ? 1 : 0);
