/**
 * The parts of the k6 kit that can be checked without a server: the sequence
 * bookkeeping the scripts judge loss by, the TextDecoder k6 gets from us, the
 * bundle being up to date with proto/gen, and every script loading in k6.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SeqTracker, maxSeqOfBatch } from '../../bench/k6/lib/seq.js';
import { v1 } from '../../proto/index.js';
import { k6Binary } from './k6.js';

const run = promisify(execFile);

describe('k6 lib - SeqTracker', () => {
  it('k6 lib - contiguous live events after the welcome lose nothing', () => {
    const t = new SeqTracker();
    t.base(10);
    for (const s of [11, 12, 13]) expect(t.see(s)).toBe(true);
    expect(t.settle(13)).toBe(0);
    expect(t.last).toBe(13);
  });

  it('k6 lib - a hole below a later live batch counts as lost, once', () => {
    const t = new SeqTracker();
    t.base(0);
    t.see(1);
    t.see(4);
    expect(t.settle(4)).toBe(2);
    expect(t.lost).toBe(2);
    t.see(5);
    expect(t.settle(5)).toBe(0);
    expect(t.last).toBe(5);
  });

  it('k6 lib - live events before the welcome and history filling in are not gaps; replays are duplicates', () => {
    const t = new SeqTracker();
    expect(t.see(7)).toBe(true); // live, before the welcome
    t.base(5); // welcome: the room was at 5 when history was read
    expect(t.see(6)).toBe(true); // history or live
    expect(t.last).toBe(7);
    expect(t.see(7)).toBe(false);
    expect(t.settle(8)).toBe(0);
  });

  it('k6 lib - a resume replays what was missed; base jumps over what the server could not recover', () => {
    const t = new SeqTracker();
    t.base(3);
    t.see(4);
    // reconnect with since=4: history 5..7 then live 8
    for (const s of [5, 6, 7, 8]) t.see(s);
    expect(t.settle(8)).toBe(0);
    t.base(20); // recovered: false, room at 20
    expect(t.see(21)).toBe(true);
    expect(t.settle(21)).toBe(0);
    expect(t.lost).toBe(0);
  });
});

describe('k6 lib - TextDecoder for k6', () => {
  it('k6 lib - decodes like the platform TextDecoder, fatal or not', async () => {
    const native = globalThis.TextDecoder;
    // Load the polyfill as k6 would: with no TextDecoder defined.
    (globalThis as { TextDecoder?: unknown }).TextDecoder = undefined;
    try {
      // A plain script (no imports or exports), run as k6 runs it.
      new Function(readFileSync('bench/k6/src/text-decoder.js', 'utf8'))();
      const Poly = globalThis.TextDecoder;
      expect(Poly).not.toBe(native);
      const samples = ['', 'hello', '弹幕 233 前方高能', 'emoji 😀🎉 mixed ñ é', 'x'.repeat(10_000) + '中'];
      for (const s of samples) {
        const bytes = new TextEncoder().encode(s);
        expect(new Poly('utf-8', { fatal: true }).decode(bytes)).toBe(s);
      }
      const bad = [
        [0xff],
        [0xc0, 0x80], // overlong
        [0xe2, 0x82], // truncated
        [0xed, 0xa0, 0x80], // surrogate
        [0x61, 0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
        [0x80, 0x61],
        [0xf0, 0x9f, 0x98], // truncated emoji
        [0xe0, 0x80, 0x80, 0x62], // overlong three-byte
      ];
      for (const b of bad) {
        const bytes = new Uint8Array(b);
        expect(new Poly('utf-8', { ignoreBOM: true }).decode(bytes)).toBe(new native('utf-8', { ignoreBOM: true }).decode(bytes));
        expect(() => new Poly('utf-8', { fatal: true }).decode(bytes)).toThrow(TypeError);
      }
    } finally {
      globalThis.TextDecoder = native;
    }
  });
});

describe('k6 lib - the bundle and the scripts', () => {
  it('k6 lib - bench/k6/lib/barrage-proto.js is what bench/k6/build.mjs makes from proto/gen', async () => {
    const { stdout } = await run(process.execPath, ['bench/k6/build.mjs', '--check']);
    expect(stdout).toContain('up to date');
  });

  it('k6 lib - every script loads in k6 with its defaults (gifts.js included)', async () => {
    for (const script of ['viewers.js', 'chat-storm.js', 'reconnect-storm.js', 'gifts.js', 'red-packets.js']) {
      const { stdout } = await run(k6Binary(), ['inspect', `bench/k6/${script}`]);
      const options = JSON.parse(stdout) as { scenarios: object; thresholds: object };
      expect(Object.keys(options.scenarios).length, script).toBeGreaterThan(0);
      expect(Object.keys(options.thresholds).length, script).toBeGreaterThan(0);
    }
  });
});

describe('k6 lib - maxSeqOfBatch', () => {
  it('k6 lib - finds the highest seq of a batch the way the generated decoder would', () => {
    const danmaku = (seq: number) => ({
      seq,
      room: 'r',
      tsMs: 1_795_000_000_000 + seq,
      danmaku: { id: 'x', text: '弹幕 ' + seq, user: { id: 'u', name: 'n' } },
    });
    const cases = [[danmaku(1)], [danmaku(7), danmaku(8), { seq: 8, room: 'r', online: { count: 3 } }], [danmaku(2 ** 40), danmaku(300)]];
    for (const events of cases) {
      const bytes = v1.ServerFrame.encode({ batch: { room: 'r', events, skipped: 2, history: true } }).finish();
      expect(maxSeqOfBatch(bytes)).toBe(Math.max(...events.map((e) => e.seq)));
    }
    expect(maxSeqOfBatch(v1.ServerFrame.encode({ batch: { room: 'r', events: [] } }).finish())).toBe(0);
  });
});
