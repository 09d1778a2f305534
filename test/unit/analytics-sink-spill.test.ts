/**
 * The sink's spill directory on its own: files are written off the event
 * loop, in order, whole or not at all, within the byte limit, and read back
 * oldest first by the next run.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SpillDir } from '../../core/analytics/sink-spill.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'barrage-spill-unit-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const rows = (n: number, tag: string): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => `${tag}\t${i}\n`).join(''));

describe('analytics sink spill directory', () => {
  it('spill - a write returns before the file exists, and the file is complete once written', async () => {
    const base = tempDir();
    const dir = join(base, 'not-yet-made');
    const spill = new SpillDir(dir, 1 << 20);
    const payload = rows(100, 'a');
    const w = spill.write('b-000001', false, payload);
    // Counted at once, on disk only later: the caller's event loop never waited for the disk.
    expect(spill.bytes).toBe(payload.length);
    expect(spill.spilled).toBe(1);
    expect(readdirSync(base)).toEqual([]);
    await expect(w?.written).resolves.toBe(true);
    expect(readdirSync(dir)).toEqual(['b-000001.tsv']);
    expect(readFileSync(w?.file as string)).toEqual(payload);
  });

  it('spill - past the byte limit a write is refused and nothing is counted, unless told to go beyond it', async () => {
    const spill = new SpillDir(tempDir(), 1_000);
    expect(spill.write('b-1', false, Buffer.alloc(600, 0x61))).toBeDefined();
    expect(spill.write('b-2', false, Buffer.alloc(600, 0x61))).toBeUndefined();
    expect(spill.bytes).toBe(600);
    const forced = spill.write('b-3', false, Buffer.alloc(600, 0x61), true);
    await expect(forced?.written).resolves.toBe(true);
    expect(spill.bytes).toBe(1_200);
    expect(readdirSync(spill.dir).sort()).toEqual(['b-1.tsv', 'b-3.tsv']);
  });

  it('spill - a batch stored while its file is being written leaves no file behind', async () => {
    const spill = new SpillDir(tempDir(), 1 << 20);
    const w = spill.write('b-1', false, rows(1_000, 'x'));
    spill.remove(w?.file as string);
    expect(spill.bytes).toBe(0);
    await spill.idle();
    expect(readdirSync(spill.dir)).toEqual([]);
  });

  it('spill - a failed write resolves false, is logged and gives its bytes back', async () => {
    const base = tempDir();
    writeFileSync(join(base, 'a-file'), 'x');
    const errors: unknown[] = [];
    const logger = { error: (o: unknown) => errors.push(o) } as unknown as ConstructorParameters<typeof SpillDir>[2];
    const spill = new SpillDir(join(base, 'a-file', 'spill'), 1 << 20, logger);
    const w = spill.write('b-1', false, rows(10, 'x'));
    await expect(w?.written).resolves.toBe(false);
    expect(spill.bytes).toBe(0);
    expect(errors).toHaveLength(1);
  });

  it('recovery - batches come back oldest first with their rows counted; partial writes of a crash are removed', async () => {
    const dir = tempDir();
    const first = new SpillDir(dir, 1 << 20);
    // Written out of order on purpose: the names (batch ids) give the order.
    for (const [id, n] of [
      ['m0-aaa-000002', 3],
      ['m0-aaa-000000', 5],
      ['m0-aaa-000001', 4],
    ] as const)
      first.write(id, id.endsWith('1'), rows(n, id));
    await first.idle();
    writeFileSync(join(dir, 'm0-aaa-000003.tsv.tmp'), 'half a ro'); // a crash in the middle of a write

    const second = new SpillDir(dir, 1 << 20);
    const found = await second.recover();
    expect(found.map((f) => [f.id, f.rows, f.suspect])).toEqual([
      ['m0-aaa-000000', 5, false],
      ['m0-aaa-000001', 4, true],
      ['m0-aaa-000002', 3, false],
    ]);
    expect(second.bytes).toBe(found.reduce((n, f) => n + f.bytes, 0));
    await second.idle();
    expect(readdirSync(dir).some((n) => n.endsWith('.tmp'))).toBe(false);
  });

  it('recovery - a missing directory is an empty one, and files this run writes are not recovered twice', async () => {
    const dir = join(tempDir(), 'absent');
    const spill = new SpillDir(dir, 1 << 20);
    const recovering = spill.recover();
    spill.write('b-1', false, rows(3, 'new'));
    expect(await recovering).toEqual([]);
    expect(spill.bytes).toBe(rows(3, 'new').length);
  });

  it('settle - a suspect file is rewritten with the rows kept and renamed, its bytes recounted', async () => {
    const spill = new SpillDir(tempDir(), 1 << 20);
    const w = spill.write('b-1', true, rows(10, 'r'));
    const kept = rows(4, 'r');
    const settled = await spill.settle(w?.file as string, 'b-1', kept);
    expect(readdirSync(spill.dir)).toEqual(['b-1.tsv']);
    expect(await spill.read(settled)).toEqual(kept);
    expect(spill.bytes).toBe(kept.length);
    spill.remove(settled);
    await spill.idle();
    expect(await spill.read(settled)).toBeUndefined();
    expect(spill.bytes).toBe(0);
  });
});
