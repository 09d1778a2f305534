// Drops what the image's Node cannot load from a production node_modules:
// uWebSockets.js ships a binary per platform, architecture and Node ABI
// (24 files, ~130 MB), and the image runs exactly one of them, the one this
// Node (the build stage's, the same image as the runtime's) would load.
//   node scripts/prune-image.mjs [node_modules]
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const modules = process.argv[2] ?? 'node_modules';
const bin = join(modules, 'uWebSockets.js/dist/bin');
const keep = `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
if (!existsSync(join(bin, keep))) {
  console.error(`prune-image: ${join(bin, keep)} is missing; this Node cannot load uWebSockets.js`);
  process.exit(1);
}
let removed = 0;
for (const file of readdirSync(bin)) {
  if (file.endsWith('.node') && file !== keep) {
    rmSync(join(bin, file));
    removed++;
  }
}
console.log(`prune-image: kept ${keep}, removed ${removed} other uWebSockets.js binaries`);
