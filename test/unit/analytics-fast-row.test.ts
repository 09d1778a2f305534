/**
 * The sink's fast path for danmaku rows must write exactly what the general
 * path (`eventRow`, through protobufjs) writes, and must decline, never
 * guess, on anything else: other kinds, truncated or mutated bytes.
 */
import { describe, expect, it } from 'vitest';
import { NOT_HANDLED, ROW_OVERHEAD, writeDanmakuRow } from '../../core/analytics/analytics-fast-row.js';
import { eventRow } from '../../core/analytics/analytics-rows.js';
import type { v1 } from '../../proto/index.js';
import { encode, everyKind } from '../analytics/events.js';

const tail = '\tbatch-000001\n';
const tailBytes = Buffer.from(tail);
const recvMs = 1_795_248_192_918;

/** The fast path's bytes, in a buffer exactly as large as the sink reserves (plus a guard byte). */
function fast(bytes: Uint8Array): Buffer | typeof NOT_HANDLED {
  const size = 2 * bytes.length + tailBytes.length + ROW_OVERHEAD;
  const out = Buffer.alloc(size + 1, 0xee);
  const end = writeDanmakuRow(bytes, recvMs, tailBytes, out, 0);
  expect(out[size]).toBe(0xee); // never past what the sink reserved
  return end === NOT_HANDLED ? NOT_HANDLED : out.subarray(0, end);
}

/** The general path's bytes for the same event, or undefined when it is malformed. */
function general(bytes: Uint8Array): Buffer | undefined {
  const line = eventRow(bytes, recvMs);
  return line === undefined ? undefined : Buffer.from(line + tail);
}

const t0 = 1_795_248_192_915;
const shapes: v1.IEvent[] = [
  { room: 'r1', seq: 1, tsMs: t0, danmaku: { id: 'd1', user: { id: 'u1', name: 'Ann', role: 1 }, text: '233' } },
  {
    room: 'r1',
    seq: 2,
    tsMs: t0 + 999,
    danmaku: { id: 'd2', user: { id: 'u2', name: '弹幕君 🎉', role: 3 }, text: '哈哈哈哈 前方高能 🎉🎉' },
  },
  {
    room: 'r\tr',
    seq: 3,
    tsMs: t0,
    danmaku: { id: 'd\\3', user: { id: 'u\n3', name: 'a\rb\0c' }, text: 'tab\tnew\nline\rback\\slash\0nul' },
  },
  { room: 'r2', seq: 4, tsMs: t0, danmaku: { id: 'd4', text: 'no user at all' } },
  { room: 'r2', seq: 5, tsMs: t0, danmaku: { user: {}, text: '' } },
  { room: 'r2', seq: 6, danmaku: {} },
  { room: 'r2', seq: 6, tsMs: 999, danmaku: {} },
  { room: 'r2', seq: 6, tsMs: 1_000, danmaku: {} },
  { room: 'r2', seq: 6, tsMs: 12_345, danmaku: {} },
  { room: 'r2', seq: 2 ** 31, tsMs: 2 ** 31 - 1, danmaku: {} },
  { room: 'r2', seq: 7, tsMs: t0, danmaku: { id: 'd7', user: { id: 'u7' }, text: 'merged', merged: 12 } },
  { room: 'r2', seq: 8, tsMs: t0, danmaku: { id: 'd8', user: { name: 'only name', role: 2 }, text: 'x', merged: 1 } },
  // What replay reads back from `extra`: mode, color, size and a video danmaku's time, each alone and together.
  { room: 'r2', seq: 9, tsMs: t0, danmaku: { id: 'e1', text: 'x', color: 0xffffff } },
  { room: 'r2', seq: 10, tsMs: t0, danmaku: { id: 'e2', text: 'x', mode: 2, size: 1 } },
  { room: '_v_vod1', seq: 11, tsMs: t0, danmaku: { id: 'e3', text: 'x', offsetMs: 1 } },
  { room: '_v_vod1', seq: 12, tsMs: t0, danmaku: { id: 'e4', text: 'x', mode: 1, color: 0xff0000, size: 2, offsetMs: 2 ** 50 } },
  { room: '_v_vod1', seq: 13, tsMs: t0, danmaku: { id: 'e5', text: 'x', size: 2, offsetMs: 10_800_000 } },
  {
    room: 'r3',
    seq: 2 ** 40,
    tsMs: 2 ** 45,
    danmaku: {
      id: 'd9',
      user: { id: 'u9', name: 'N' },
      text: 'all fields',
      mode: 2,
      color: 0xffcc00,
      size: 36,
      clientMsgId: 'c-1',
      merged: 3,
    },
  },
  { room: 'r3', seq: 10, tsMs: t0, danmaku: { id: 'd10', text: 'x'.repeat(5_000) + '𝄞'.repeat(100) } },
];

describe('analytics fast row', () => {
  it('danmaku - every shape is written byte for byte as the general path writes it', () => {
    for (const e of shapes) {
      const bytes = encode(e);
      const got = fast(bytes);
      expect(got, JSON.stringify(e).slice(0, 80)).not.toBe(NOT_HANDLED);
      expect((got as Buffer).toString('utf8')).toBe(general(bytes)?.toString('utf8'));
    }
  });

  it('other kinds - declined, so the general path formats them', () => {
    const events = everyKind('room', t0).filter((e) => !e.danmaku);
    expect(events.length).toBeGreaterThan(10);
    for (const e of events) expect(fast(encode(e))).toBe(NOT_HANDLED);
    // A danmaku that carries a moderator's fields is not the common shape either.
    expect(fast(encode({ room: 'r', seq: 1, danmaku: { text: 'x' }, actor: { id: 'mod' } }))).toBe(NOT_HANDLED);
    expect(fast(encode({ room: 'r', seq: 1, danmaku: { text: 'x' }, reason: 'spam' }))).toBe(NOT_HANDLED);
    // No room: the general path calls it malformed.
    expect(fast(encode({ seq: 1, danmaku: { text: 'x' } }))).toBe(NOT_HANDLED);
  });

  it('bad input - invalid UTF-8 anywhere the general path reads is declined', () => {
    const bytes = Buffer.from(
      encode({ room: 'r', seq: 1, danmaku: { id: 'd', user: { id: 'u', name: 'ÿÿ' }, text: 'éé', clientMsgId: 'éé' } }),
    );
    for (const bad of [
      [0xc3, 0x28], // bad continuation
      [0xc0, 0xa9], // overlong
      [0xed, 0xa0], // surrogate half (with the next byte below)
    ]) {
      for (let at = 0; at < bytes.length - 1; at++) {
        if (bytes[at] !== 0xc3 || bytes[at + 1] === undefined) continue;
        const mutated = Buffer.from(bytes);
        mutated[at] = bad[0] as number;
        mutated[at + 1] = bad[1] as number;
        expect(general(mutated)).toBeUndefined();
        expect(fast(mutated)).toBe(NOT_HANDLED);
      }
    }
  });

  it('bad input - every truncation and 20,000 random mutations: declined or identical, never thrown', () => {
    let seed = 42;
    const random = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
      return seed % n;
    };
    let handled = 0;
    let declined = 0;
    const check = (bytes: Uint8Array): void => {
      const got = fast(bytes);
      if (got === NOT_HANDLED) {
        declined++;
        return;
      }
      handled++;
      expect(got.toString('latin1')).toBe(general(bytes)?.toString('latin1'));
    };
    for (const e of shapes) {
      const bytes = encode(e);
      for (let cut = 0; cut < Math.min(bytes.length, 200); cut++) check(bytes.subarray(0, cut));
    }
    for (let i = 0; i < 20_000; i++) {
      const bytes = Buffer.from(encode(shapes[random(shapes.length)] as v1.IEvent));
      for (let k = 1 + random(3); k > 0; k--) bytes[random(bytes.length)] = random(256);
      check(bytes);
    }
    // Both outcomes happen: the comparison above is not vacuous.
    expect(handled).toBeGreaterThan(1_000);
    expect(declined).toBeGreaterThan(1_000);
  });
});
