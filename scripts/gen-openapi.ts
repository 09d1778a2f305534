// Writes docs/openapi.json and sdk/operations.ts from the route table (bin/openapi.ts); `--check` exits 1 when either differs.
// Run: node --import tsx scripts/gen-openapi.ts [--check]
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeProblems, openApiText, sdkOperationsText } from '../domain/openapi.js';
import { packageRoot, packageVersion } from '../domain/paths.js';
import { everyRoute } from '../bin/openapi.js';

const routes = await everyRoute();
const problems = describeProblems(routes);
for (const p of problems) console.error(p);
const files: Array<[string, string]> = [
  ['docs/openapi.json', openApiText(routes, { version: packageVersion() })],
  ['sdk/operations.ts', sdkOperationsText(routes)],
];
let stale = false;
for (const [name, text] of files) {
  const file = join(packageRoot(), name);
  if (process.argv.includes('--check')) {
    if (readFileSync(file, 'utf8') !== text) {
      console.error(`${name} is not what the routes describe: run node --import tsx scripts/gen-openapi.ts`);
      stale = true;
    }
  } else {
    writeFileSync(file, text);
    console.log(`wrote ${name}`);
  }
}
if (problems.length) console.error(`${problems.length} routes lack descriptions (above)`);
process.exit(problems.length || stale ? 1 : 0);
