/**
 * The sink's open batch on its own: when it is sealed, what a sealed batch
 * holds, and ids that sort in the order batches were sealed (the spill
 * directory relies on it to read batches back oldest first).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CounterPolicy } from '../../core/analytics/analytics-counters.js';
import { Appended, OpenBatch } from '../../core/analytics/sink-batches.js';
import type { BatchLimits } from '../../core/analytics/sink-batches.js';
import { encode } from '../analytics/events.js';

const t0 = Date.UTC(2026, 10, 21, 12);
const danmaku = (i: number): Uint8Array =>
  encode({ room: 'r', seq: i + 1, tsMs: t0 + i, danmaku: { id: `d${i}`, user: { id: 'u', name: 'Ann' }, text: `msg ${i}` } });

function batchOf(limits: Partial<BatchLimits> = {}, onDue = (): void => {}): OpenBatch {
  return new OpenBatch({ maxEvents: 1_000, maxBytes: 1 << 20, flushMs: 1_000, ...limits }, new CounterPolicy(), onDue);
}

afterEach(() => {
  vi.useRealTimers();
});

describe('analytics sink batches', () => {
  it('batches - full at the row limit or the byte limit, whichever comes first', () => {
    const byRows = batchOf({ maxEvents: 3 });
    for (let i = 0; i < 2; i++) byRows.append(danmaku(i), t0, true);
    expect(byRows.full()).toBe(false);
    byRows.append(danmaku(2), t0, true);
    expect(byRows.full()).toBe(true);

    const byBytes = batchOf({ maxBytes: 300 });
    let n = 0;
    while (!byBytes.full()) byBytes.append(danmaku(n++), t0, true);
    expect(byBytes.bytes).toBeGreaterThanOrEqual(300);
    expect(n).toBeGreaterThan(1);
  });

  it('batches - a partial batch is due once flushMs after it was armed, and sealing disarms it', async () => {
    vi.useFakeTimers();
    let due = 0;
    const open = batchOf({ flushMs: 50 }, () => due++);
    open.arm(); // empty: nothing to wait for
    await vi.advanceTimersByTimeAsync(100);
    expect(due).toBe(0);
    open.append(danmaku(0), t0, true);
    open.arm();
    open.arm(); // armed once, not pushed back
    await vi.advanceTimersByTimeAsync(49);
    expect(due).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(due).toBe(1);
    open.append(danmaku(1), t0, true);
    open.arm();
    open.seal();
    await vi.advanceTimersByTimeAsync(100);
    expect(due).toBe(1);
  });

  it('batches - a sealed batch holds its rows, handles and delivery ids, each row ending in its id; the next one starts empty', () => {
    const open = batchOf();
    expect(open.seal()).toBeUndefined();
    for (let i = 0; i < 3; i++) {
      expect(open.append(danmaku(i), t0, true)).toBe(Appended.Row);
      open.handles.push(`h${i}`);
      open.ids.push(i + 1);
    }
    expect(open.append(new Uint8Array([0xff, 0xff]), t0, true)).toBe(Appended.Malformed);
    open.suspect = true;
    const sealed = open.seal();
    const lines = sealed?.payload?.toString('utf8').trimEnd().split('\n') ?? [];
    expect(lines).toHaveLength(3);
    expect(lines.every((l) => l.endsWith(`\t${sealed?.id}`))).toBe(true);
    expect(sealed).toMatchObject({ rows: 3, bytes: sealed?.payload?.length, handles: ['h0', 'h1', 'h2'], ids: [1, 2, 3], suspect: true });
    expect(open).toMatchObject({ rows: 0, bytes: 0, handles: [], ids: [] });
  });

  it('batches - ids sort in the order batches were sealed', () => {
    const open = batchOf();
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      open.append(danmaku(i), t0, true);
      ids.push(open.seal()?.id as string);
    }
    expect(new Set(ids).size).toBe(40);
    expect([...ids].sort()).toEqual(ids);
  });
});
