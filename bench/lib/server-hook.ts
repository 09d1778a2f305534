/**
 * Preloaded (`--import`) into every server the harness starts, Barrage and
 * peers alike: answers "gc" over IPC with a full collection (when node runs
 * with --expose-gc), so idle RSS is measured after garbage, not before, and
 * reports the process's memory split (JS heap, external) so a cost per
 * connection can be attributed.
 */
const gc = (globalThis as { gc?: () => void }).gc;

process.on('message', (message) => {
  if (message !== 'gc') return;
  gc?.();
  process.send?.({ gc: true, memory: process.memoryUsage() });
});
