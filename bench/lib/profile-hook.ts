/**
 * Preloaded (`--import`) into the servers the e2e benchmark starts with
 * `--profile`: the first SIGUSR2 starts V8's sampling CPU profiler, the
 * second stops it and writes `<BENCH_PROFILE_DIR>/<BENCH_PROFILE_NAME>.cpuprofile`,
 * so the profile covers the measured window only (not startup or the
 * viewers' ramp). Nothing runs until the signal.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Session } from 'node:inspector/promises';

const dir = process.env['BENCH_PROFILE_DIR'] ?? '.';
const name = process.env['BENCH_PROFILE_NAME'] ?? `node-${process.pid}`;
let session: Session | undefined;

async function toggle(): Promise<void> {
  if (!session) {
    session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    // 1 ms between samples: fine enough for a 10-20 s window.
    await session.post('Profiler.setSamplingInterval', { interval: 1000 });
    await session.post('Profiler.start');
    return;
  }
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
  session.disconnect();
  session = undefined;
}

process.on('SIGUSR2', () => {
  toggle().catch((err: unknown) => console.error('profile hook:', err));
});
